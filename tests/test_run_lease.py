"""One process at a time executes a run: a second `--resume` of a run in progress refuses with a clear message
(real processes, calls counted at the server), and a killed holder's lease expires so the run can be finished."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import Project, chat_rows, write_jsonl

N = 30


def _prepared_run(project: Project) -> str:
    from assay.config import load_spec
    from assay.evaluate import prepare_run
    from assay.store import Store

    store = Store(project.db)
    try:
        return prepare_run(store, load_spec(project.spec(candidates=["strong"])))
    finally:
        store.close()


def _resume(project: Project, run_id: str, lease_s: float | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if lease_s is not None:
        env["ASSAY_RUN_LEASE_S"] = str(lease_s)
    return subprocess.Popen([sys.executable, "-m", "assay", "--db", str(project.db), "run", "--resume", run_id,
                             "--json"], cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _judged(project: Project) -> int:
    try:
        with sqlite3.connect(project.db) as conn:
            return conn.execute("select count(*) from judgments").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_two_resumes_at_once_one_runs_the_other_refuses(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(N))
    project.server.configure(latency_ms=50)
    project.model("strong", "strong-q8", concurrency=2)
    project.model("judge", "judge-model", concurrency=2)
    run_id = _prepared_run(project)
    procs = [_resume(project, run_id), _resume(project, run_id)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    (_, _, refused_err), = [r for r in results if r[0] == 2]
    message = refused_err.decode()
    assert message.startswith("error:") and run_id in message and "another" in message and "Traceback" not in message
    (_, done_out, _), = [r for r in results if r[0] == 0]
    assert json.loads(done_out)["counts"] == {"outputs": {"done": N}, "judgments": {"done": N}}
    stats = project.server.stats()
    assert stats["calls"] == 2 * N and stats["duplicates"] == 0


def test_a_killed_holder_does_not_block_a_resume(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(N))
    project.server.configure(latency_ms=50)
    project.model("strong", "strong-q8", concurrency=1)
    run_id = _prepared_run(project)
    holder = _resume(project, run_id, lease_s=600)
    deadline = time.monotonic() + 60
    while _judged(project) < 3:
        assert holder.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    after = _resume(project, run_id, lease_s=600)  # the lease runs for ten minutes, but its holder is gone
    out, err = after.communicate(timeout=120)
    assert after.returncode == 0, err.decode()
    assert json.loads(out)["counts"]["judgments"] == {"done": N}


def test_a_stalled_holders_lease_expires_and_the_run_is_taken_over(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(N))
    project.server.configure(latency_ms=50)
    project.model("strong", "strong-q8", concurrency=1)
    project.model("judge", "judge-model", concurrency=1)
    run_id = _prepared_run(project)
    lease_s = 8.0
    holder = _resume(project, run_id, lease_s)
    deadline = time.monotonic() + 60
    while _judged(project) < 3:
        assert holder.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    holder.send_signal(signal.SIGSTOP)  # alive but stalled: it renews nothing
    stalled_at = time.monotonic()
    try:
        early = _resume(project, run_id, lease_s)
        _, err = early.communicate(timeout=60)
        assert time.monotonic() - stalled_at < lease_s, "the refusal came too late to test the lease"
        assert early.returncode == 2 and "another" in err.decode() and run_id in err.decode()

        time.sleep(max(0.0, stalled_at + lease_s + 0.5 - time.monotonic()))
        late = _resume(project, run_id, lease_s)
        out, err = late.communicate(timeout=120)
        assert late.returncode == 0, err.decode()
        assert json.loads(out)["counts"] == {"outputs": {"done": N}, "judgments": {"done": N}}
    finally:
        holder.send_signal(signal.SIGCONT)
    _, err = holder.communicate(timeout=60)
    assert holder.returncode == 2 and "lost its lease" in err.decode()
    with sqlite3.connect(project.db) as conn:
        assert conn.execute("select status from runs").fetchone()[0] == "done"  # the stalled one changed nothing
