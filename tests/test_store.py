"""The store: migrations from an empty database, dataset versions, and the Python API over a run."""

from __future__ import annotations

import sqlite3

import assay
from assay.dataset import Message, Sample
from assay.store import Store
from assay.store.migrations import MIGRATIONS
from conftest import Project


def test_migrations_apply_in_order_from_empty_and_only_once(tmp_path) -> None:
    db = tmp_path / "a" / "b.db"
    Store(db).close()
    Store(db).close()
    with sqlite3.connect(db) as conn:
        applied = [r[0] for r in conn.execute("select version from schema_migrations order by version")]
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        (mode,) = conn.execute("pragma journal_mode").fetchone()
    assert applied == [v for v, _, _ in MIGRATIONS]
    assert {"datasets", "dataset_rows", "rubrics", "models", "runs", "outputs", "judgments", "calls",
            "pairwise_judgments"} <= tables
    assert mode == "wal"


def test_same_content_same_version(tmp_path) -> None:
    store = Store(tmp_path / "db")
    samples = [Sample(id=f"s{i}", context=(Message(role="user", content=str(i)),)) for i in range(3)]
    a, created_a = store.save_dataset("d", "eval", "simple", samples)
    b, created_b = store.save_dataset("d", "eval", "simple", list(samples))
    assert created_a and not created_b and a.version == b.version and a.id == b.id
    assert list(store.iter_samples(a.id, chunk=2)) == samples  # read back in chunks, in order
    assert list(store.iter_samples(a.id, limit=2)) == samples[:2]


def test_python_api_runs_a_spec_and_reads_results(project: Project) -> None:
    spec = assay.load_spec(project.spec(candidates=["strong", "weak"]))
    outcome = assay.run(spec, db=project.db)
    assert outcome.status == "done" and outcome.progress.calls == 48
    data = assay.results(outcome.run_id, db=project.db)
    assert data["comparisons"][0]["mean_diff"] == 4.0
    traced = data["run"]
    assert traced["dataset"]["version"] and traced["judge_identities"] == {"judge": spec.judge.identity}
    assert data["rubrics"][0]["versions"] == [spec.rubrics[0].version]


def test_m003_adds_the_file_hash_to_an_older_database(tmp_path) -> None:
    db = tmp_path / "old.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:  # make it look like a database from before migration 3
        conn.execute("alter table datasets drop column file_sha256")
        conn.execute("delete from schema_migrations where version = 3")
    Store(db).close()
    with sqlite3.connect(db) as conn:
        columns = {r[1] for r in conn.execute("pragma table_info(datasets)")}
        applied = [r[0] for r in conn.execute("select version from schema_migrations order by version")]
    from assay.store.migrations import MIGRATIONS

    assert "file_sha256" in columns and applied == sorted(version for version, _, _ in MIGRATIONS)



def test_m005_adds_the_pairwise_outcome_and_call_logprobs_to_an_older_database(tmp_path) -> None:
    db = tmp_path / "old.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:  # make it look like a database from before migration 5
        conn.execute("alter table pairwise_judgments drop column outcome")
        conn.execute("alter table calls drop column logprobs")
        conn.execute("delete from schema_migrations where version = 5")
    Store(db).close()
    with sqlite3.connect(db) as conn:
        pairwise = {r[1]: r[2] for r in conn.execute("pragma table_info(pairwise_judgments)")}
        calls = {r[1]: r[2] for r in conn.execute("pragma table_info(calls)")}
        applied = [r[0] for r in conn.execute("select version from schema_migrations order by version")]
    assert pairwise["outcome"] == "FLOAT" and calls["logprobs"] == "TEXT" and 5 in applied


def test_an_unchanged_spec_dataset_file_is_not_parsed_again(project: Project, monkeypatch) -> None:
    import assay.evaluate

    spec = project.spec(candidates=["strong"])
    project.run_json(spec)
    calls = []
    monkeypatch.setattr(assay.evaluate, "parse_file", lambda *a, **k: calls.append(a))
    project.run_json(spec)
    assert calls == []


def test_every_model_entry_of_a_run_is_recorded_by_identity(project: Project) -> None:
    spec = assay.load_spec(project.spec(candidates=["strong", "weak"]))
    assay.run(spec, db=project.db)
    with sqlite3.connect(project.db) as db:
        rows = dict(db.execute("select label, identity from models").fetchall())
        identities = {i for (i,) in db.execute("select distinct model_identity from calls")}
    assert rows == {"strong": spec.candidates[0].identity, "weak": spec.candidates[1].identity,
                    "judge": spec.judge.identity}
    assert identities <= set(rows.values())
