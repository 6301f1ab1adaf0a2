"""Migrations: a database written by release 0.1.0 upgrades and reads; the DDL is history (the schema a
migration builds never changes); each upgrade applies wholly or not at all; a newer database is refused;
processes opening a new database at the same moment all succeed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

import assay
from assay.cli.main import cli
from assay.errors import StoreError
from assay.store import Store, migrations
from assay.store.database import open_engine, write_transaction

RELEASE_DB = Path(__file__).parent / "data" / "release-0.1.0.db"
RELEASE_VERSIONS = [1, 2, 3, 4]  # what release 0.1.0 had applied
SRC = str(Path(assay.__file__).resolve().parents[1])


def _release_copy(tmp_path: Path) -> Path:
    db = tmp_path / "release.db"
    shutil.copyfile(RELEASE_DB, db)
    return db


def _schema(db: Path) -> dict[str, Any]:
    """Every table's columns, indexes and CREATE statement, as SQLite reports them."""
    out: dict[str, Any] = {}
    with sqlite3.connect(db) as conn:
        for name, sql in conn.execute("select name, sql from sqlite_master where type = 'table' order by name"):
            indexes = {}
            for _, index, unique, origin, _partial in conn.execute(f"pragma index_list('{name}')"):
                cols = [r[2] for r in conn.execute(f"pragma index_info('{index}')")]
                indexes[index if origin == "c" else f"{origin}:{cols}"] = (unique, cols)
            out[name] = {"columns": conn.execute(f"pragma table_info('{name}')").fetchall(),
                         "indexes": indexes, "sql": sql}
    return out


def _versions(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [v for (v,) in conn.execute("select version from schema_migrations order by version")]


def test_the_release_fixture_is_what_release_0_1_0_wrote() -> None:
    with sqlite3.connect(RELEASE_DB) as conn:
        counts = {name: conn.execute(f"select count(*) from {name}").fetchone()[0]
                  for name in ("datasets", "dataset_rows", "rubrics", "models", "runs", "outputs", "judgments",
                               "pairwise_judgments", "calls")}
    assert _versions(RELEASE_DB) == RELEASE_VERSIONS
    assert all(counts.values()), counts  # every table holds rows to upgrade


def test_a_release_database_upgrades_and_reads_its_results(tmp_path: Path) -> None:
    db = _release_copy(tmp_path)
    with sqlite3.connect(db) as conn:
        (run_id,) = conn.execute("select id from runs").fetchone()
        before = {name: conn.execute(f"select count(*) from {name}").fetchone()[0]
                  for name in ("outputs", "judgments", "pairwise_judgments", "calls")}
    store = Store(db)
    try:
        assert [r.id for r in store.list_runs()] == [run_id]
        assert store.get_run(run_id).status == "done"
        assert [d.name for d in store.list_datasets()] == ["data", "other"]
        counts = store.run_counts(run_id)
    finally:
        store.close()
    assert _versions(db) == [v for v, _, _ in migrations.MIGRATIONS]
    assert sum(counts["outputs"].values()) == before["outputs"] == 8 and counts["outputs"]["failed"] == 1
    assert sum(counts["judgments"].values()) == before["judgments"] == 8
    assert sum(counts["pairwise"].values()) == before["pairwise_judgments"] == 8
    data = assay.results(run_id, db=db)
    assert [r["rubric"] for r in data["rubrics"]] == ["quality"] and data["pairwise"]
    assert {m["model"] for m in data["rubrics"][0]["models"]} == {"strong", "weak"}
    result = CliRunner().invoke(cli, ["--db", str(db), "results", run_id, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"]["id"] == run_id


def test_migrations_build_exactly_the_schema_release_0_1_0_built(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    engine = open_engine(str(db))
    with write_transaction(engine) as conn:
        for version, _, fn in migrations.MIGRATIONS:
            if version in RELEASE_VERSIONS:
                fn(conn)
    engine.dispose()
    built, release = _schema(db), _schema(RELEASE_DB)
    assert set(built) == set(release) - {"schema_migrations"}
    for name, table in built.items():
        assert table["columns"] == release[name]["columns"], name
        assert table["indexes"] == release[name]["indexes"], name
        if name != "datasets":  # release 0.1.0 had its last column in CREATE TABLE; migration 3 adds it
            assert table["sql"] == release[name]["sql"], name


def test_an_upgraded_release_database_has_the_schema_of_a_new_one(tmp_path: Path) -> None:
    old, new = _release_copy(tmp_path), tmp_path / "new.db"
    Store(old).close()
    Store(new).close()
    upgraded, created = _schema(old), _schema(new)
    assert set(upgraded) == set(created)
    for name in created:
        assert upgraded[name]["columns"] == created[name]["columns"], name
        assert upgraded[name]["indexes"] == created[name]["indexes"], name


def _failing(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
    conn.execute(text("ALTER TABLE runs ADD COLUMN half_done INTEGER"))
    conn.execute(text("INSERT INTO half_done (x) VALUES (1)"))
    raise RuntimeError("migration bug")


def test_a_failing_migration_on_a_new_database_leaves_nothing_and_records_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, (99, "failing", _failing)])
    db = tmp_path / "new.db"
    with pytest.raises(RuntimeError, match="migration bug"):
        Store(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select name from sqlite_master").fetchall() == []


def test_a_failing_migration_on_an_old_database_changes_nothing(tmp_path, monkeypatch) -> None:
    db = _release_copy(tmp_path)
    before = _schema(db)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, (99, "failing", _failing)])
    with pytest.raises(RuntimeError, match="migration bug"):
        Store(db)
    assert _schema(db) == before and _versions(db) == RELEASE_VERSIONS


def test_a_database_written_by_a_newer_assay_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    Store(db).close()
    latest = migrations.MIGRATIONS[-1][0]
    with sqlite3.connect(db) as conn:
        conn.execute("insert into schema_migrations values (?, 'from the future', '2099-01-01')", (latest + 1,))
    with pytest.raises(StoreError) as e:
        Store(db)
    message = str(e.value)
    assert str(db) in message and f"schema version {latest + 1}" in message and f"up to {latest}" in message
    result = CliRunner().invoke(cli, ["--db", str(db), "runs"])
    assert result.exit_code == 2 and "newer assay" in result.output and "Traceback" not in result.output
    assert _versions(db)[-1] == latest + 1  # untouched


_OPEN_AT = """
import sys, time
from assay.store import Store
db, start = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
Store(db).close()
"""


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    for round_ in range(4):  # the race is narrow: several rounds, three processes each
        db = tmp_path / f"race{round_}.db"
        start = time.time() + 1.5  # after every process has imported assay
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AT, str(db), repr(start)], env=env,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(errors)
        assert _versions(db) == [v for v, _, _ in migrations.MIGRATIONS]


def test_migration_7_gives_judgments_without_an_output_their_own_status(tmp_path: Path) -> None:
    db = _release_copy(tmp_path)
    no_output = "select count(*) from judgments where error like 'no output to judge%'"
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(no_output + " and status = 'failed'").fetchone()
        (other_failed,) = conn.execute("select count(*) from judgments where status = 'failed'").fetchone()
    assert n >= 1 and other_failed > n  # the release recorded them as failures, beside real ones
    Store(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute(no_output + " and status = 'skipped'").fetchone() == (n,)
        assert conn.execute("select count(*) from judgments where status = 'failed'").fetchone() == (other_failed - n,)
    (run_id,) = sqlite3.connect(db).execute("select id from runs").fetchone()
    data = assay.results(run_id, db=db)
    weak = next(m for m in data["rubrics"][0]["models"] if m["model"] == "weak")
    assert weak["n_failed_no_output"] == n
    assert data["counts"]["judgments"]["skipped"] == n
    assert all("no output" not in f["error"] for f in data["failures"]["judgments"])


def test_migration_7_gives_pairwise_verdicts_without_outputs_their_own_status(tmp_path: Path) -> None:
    db = _release_copy(tmp_path)
    no_outputs = "select count(*) from pairwise_judgments where error like 'no outputs to compare%'"
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(no_outputs + " and status = 'failed'").fetchone()
    assert n >= 1  # the release recorded them as failed verdicts
    Store(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute(no_outputs + " and status = 'skipped'").fetchone() == (n,)
    (run_id,) = sqlite3.connect(db).execute("select id from runs").fetchone()
    data = assay.results(run_id, db=db)
    assert data["counts"]["pairwise"]["skipped"] == n
    assert all("no outputs" not in f["error"] for f in data["failures"]["pairwise"])
