"""A run killed with SIGKILL loses at most its calls in flight; `--resume` finishes it without repeating any
completed call. Calls are counted at the server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import Project, chat_rows, write_jsonl

N = 40


def _count(db, sql: str) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_then_resume_repeats_no_completed_call(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(N))
    project.server.configure(latency_ms=60)
    project.model("strong", "strong-q8", concurrency=3)
    project.model("judge", "judge-model", concurrency=3)
    spec = project.spec(candidates=["strong"])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "assay", "--db", str(project.db), "run", str(spec), "--quiet"],
                            cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(project.db, "select count(*) from judgments") < 10:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    while project.server.stats()["in_flight"]:  # let the calls the dead client left behind finish
        time.sleep(0.05)
    completed = _count(project.db, "select count(distinct request_hash) from calls where ok = 1")
    assert 10 <= completed < 2 * N  # killed mid-run
    (run_id,) = sqlite3.connect(project.db).execute("select id from runs").fetchone()
    project.server.reset()
    project.server.configure(judge_noise=0)

    data = json.loads(project.cli("run", "--resume", run_id, "--json").stdout)
    stats = project.server.stats()
    assert stats["calls"] == 2 * N - completed  # exactly the calls not completed before the kill
    assert stats["duplicates"] == 0
    assert data["run"]["status"] == "done"
    assert data["counts"] == {"outputs": {"done": N}, "judgments": {"done": N}}
    (model,) = data["rubrics"][0]["models"]
    assert model["n_scored"] == N and model["mean"] == 8.0


def test_resume_of_a_finished_run_calls_nothing(project: Project) -> None:
    spec = project.spec(candidates=["strong"])
    run_id = project.run_json(spec)["run"]["id"]
    calls = project.server.stats()["calls"]
    project.cli("run", "--resume", run_id, "--json")
    assert project.server.stats()["calls"] == calls


def test_resume_retries_items_that_failed(project: Project) -> None:
    project.server.set_faults([{"fault": "401", "call": "generate", "times": 3}])
    write_jsonl(project.root / "data.jsonl", chat_rows(5))
    spec = project.spec(candidates=["strong"])
    first = project.run_json(spec)
    assert first["counts"]["outputs"] == {"done": 2, "failed": 3}
    data = json.loads(project.cli("run", "--resume", first["run"]["id"], "--json").stdout)
    assert data["counts"] == {"outputs": {"done": 5}, "judgments": {"done": 5}}


def test_ctrl_c_stops_cleanly_and_the_run_can_be_resumed(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(N))
    project.server.configure(latency_ms=60)
    project.model("strong", "strong-q8", concurrency=2)
    spec = project.spec(candidates=["strong"])
    proc = subprocess.Popen([sys.executable, "-m", "assay", "--db", str(project.db), "run", str(spec), "--quiet"],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(project.db, "select count(*) from judgments") < 4:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"assay run --resume" in err
    (run_id, status) = sqlite3.connect(project.db).execute("select id, status from runs").fetchone()
    assert status == "interrupted"
    data = json.loads(project.cli("run", "--resume", run_id, "--json").stdout)
    assert data["run"]["status"] == "done" and data["counts"]["judgments"] == {"done": N}


def test_resume_mends_a_verdict_that_failed_to_parse(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(3))
    project.model("judge", "judge-model", concurrency=1)
    project.server.set_faults([{"fault": "malformed", "call": "judge", "times": 2}])
    first = project.run_json(project.spec(candidates=["strong"], settings={"judge_retries": 1}))
    assert first["counts"]["judgments"] == {"done": 2, "failed": 1}
    calls = project.server.stats()["calls"]
    data = json.loads(project.cli("run", "--resume", first["run"]["id"], "--json").stdout)
    assert data["counts"]["judgments"] == {"done": 3}
    assert project.server.stats()["calls"] == calls + 1  # only the failed verdict was asked again


def test_retries_and_repeats_ask_with_distinct_seeds() -> None:
    from assay.config import ModelSpec
    from assay.engine.asking import verdict_seed
    from assay.providers import CompletionRequest
    from assay.providers.openai import OpenAIProvider

    judge = ModelSpec(label="j", model="j", base_url="http://127.0.0.1:9/v1", seed=5)
    seeds = {verdict_seed(judge, repeat, attempt) for repeat in range(3) for attempt in range(3)}
    assert len(seeds) == 9 and verdict_seed(judge, 0, 0) is None  # the first try is the ordinary request
    body = OpenAIProvider(judge)._body(CompletionRequest(messages=[], seed=verdict_seed(judge, 0, 1)))
    assert body["seed"] == 1005
