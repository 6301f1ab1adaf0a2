"""The store shared with other processes: a run waits out another process's write lock and loses nothing; a
failed write never shows its SQL parameters and never leaves a run marked done; the writer's queue makes the
event loop wait without blocking it; SIGTERM stops a run as Ctrl-C does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

import assay
from assay.store import Store, StoreWriter
from conftest import Project, chat_rows, write_jsonl

SRC = str(Path(assay.__file__).resolve().parents[1])


def _assay(project: Project, *args: str, **env: str) -> subprocess.Popen[str]:
    """`assay --db DB ARGS` as a separate process, in the project folder."""
    return subprocess.Popen([sys.executable, "-m", "assay", "--db", str(project.db), *args], cwd=project.root,
                            env={**os.environ, "PYTHONPATH": SRC, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _wait_for(db: Path, sql: str, at_least: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _count(db, sql) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"timed out waiting for {sql}"
        time.sleep(0.05)


_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def test_a_run_waits_out_another_process_holding_the_write_lock(project: Project) -> None:
    project.server.configure(latency_ms=40)
    spec = project.spec(candidates=["strong", "weak"])
    # A busy timeout far shorter than the lock is held: the run must wait beyond it, and lose nothing.
    run = _assay(project, "run", str(spec), "--json", ASSAY_DB_BUSY_TIMEOUT="0.3")
    _wait_for(project.db, "select count(*) from outputs", 2, run)
    locker = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(project.db), "3"], stdout=subprocess.PIPE,
                              text=True)
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    out, err = run.communicate(timeout=120)
    assert locker.wait(timeout=30) == 0
    assert run.returncode == 0, err
    assert "parameters" not in err.lower() and "locked" not in out
    data = json.loads(out)
    assert data["run"]["status"] == "done"
    assert data["counts"] == {"outputs": {"done": 24}, "judgments": {"done": 24}}
    with sqlite3.connect(project.db) as conn:
        (status,) = conn.execute("select status from runs").fetchone()
        (calls,) = conn.execute("select count(*) from calls").fetchone()
    assert status == "done" and calls == 48


def test_a_failed_write_hides_its_parameters_and_the_run_is_not_done(project: Project) -> None:
    spec = project.spec(candidates=["strong", "weak"])
    Store(project.db).close()
    with sqlite3.connect(project.db) as conn:  # a write the database refuses, as a full disk would
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON judgments WHEN NEW.sample_id = 'q3' "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END")
    result = project.cli("run", str(spec), "--json", ok=False)
    assert result.exit_code == 2 and "refused by the database" in result.stderr
    assert "Fake judge" not in result.output and "[parameters" not in result.output  # no judge's answer shown
    with sqlite3.connect(project.db) as conn:
        (status,) = conn.execute("select status from runs").fetchone()
    assert status == "failed"


def test_a_run_missing_items_is_not_marked_done(project: Project) -> None:
    spec = project.spec(candidates=["strong"])
    Store(project.db).close()
    with sqlite3.connect(project.db) as conn:  # a row that silently never arrives
        conn.execute("CREATE TRIGGER lose BEFORE INSERT ON judgments WHEN NEW.sample_id = 'q3' "
                     "BEGIN SELECT RAISE(IGNORE); END")
    result = project.cli("run", str(spec), "--json", ok=False)
    assert result.exit_code == 1 and "assay run --resume" in result.stderr
    with sqlite3.connect(project.db) as conn:
        (run_id, status) = conn.execute("select id, status from runs").fetchone()
        conn.execute("DROP TRIGGER lose")
    assert status == "interrupted"
    assert project.cli("run", "--resume", run_id, "--json").exit_code == 0
    with sqlite3.connect(project.db) as conn:
        assert conn.execute("select status from runs").fetchone() == ("done",)
        assert conn.execute("select count(*) from judgments").fetchone() == (12,)


def test_a_full_write_queue_makes_the_loop_wait_without_blocking_it(tmp_path: Path) -> None:
    db = tmp_path / "db"
    store = Store(db, busy_timeout=0.1)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the writer thread can't commit until this ends
    threading.Timer(1.5, lambda: holder.execute("COMMIT")).start()
    writer = StoreWriter(store, max_pending=10)
    row = {"request_hash": "h", "model_identity": "m", "model_label": "m", "run_id": "r", "purpose": "generate",
           "ok": True, "created_at": "now"}

    async def main() -> tuple[int, int, float]:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(heartbeat())
        start = time.monotonic()
        for i in range(30):
            await writer.put("calls", {**row, "request_hash": f"h{i}"})
        waited = time.monotonic() - start
        beat.cancel()
        return ticks, writer._q.qsize(), waited

    ticks, pending, waited = asyncio.run(main())
    writer.close()
    holder.close()
    assert waited > 1.0  # the puts waited for the writer (backpressure) ...
    assert ticks > 20    # ... while the loop kept running
    assert pending <= 10
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from calls").fetchone() == (30,)
    store.close()


def test_sigterm_marks_the_run_interrupted_and_prints_the_resume_hint(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(60))
    project.server.configure(latency_ms=100)
    spec = project.spec(candidates=["strong"])
    run = _assay(project, "run", str(spec), "--quiet")
    _wait_for(project.db, "select count(*) from outputs", 2, run)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err  # as for Ctrl-C
    with sqlite3.connect(project.db) as conn:
        (run_id, status) = conn.execute("select id, status from runs").fetchone()
    assert status == "interrupted"
    assert f"assay run --resume {run_id}" in err and "Traceback" not in err
    project.server.configure(latency_ms=0)
    assert project.cli("run", "--resume", run_id, "--json").exit_code == 0
    with sqlite3.connect(project.db) as conn:
        assert conn.execute("select status from runs").fetchone() == ("done",)


def test_an_error_writing_never_shows_the_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    # status is required: the database refuses the row, whose text must not appear in the error.
    row = {"run_id": "r", "sample_id": "s", "candidate": "c", "status": None, "text": "A PRIVATE MODEL RESPONSE",
           "error": None, "cached": False, "created_at": "now"}
    with pytest.raises(IntegrityError) as e:
        store.write_batch({"outputs": [row]})
    assert "NOT NULL" in str(e.value) and "PRIVATE" not in str(e.value)
    store.close()
