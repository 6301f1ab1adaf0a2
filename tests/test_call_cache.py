"""The call cache and identical requests: a rerun of a finished spec makes no call, whatever went wrong the first
time, and identical requests within a run reach the server once. Calls are counted at the server."""

from __future__ import annotations

from conftest import Project, chat_rows, write_jsonl


def _means(data: dict) -> dict[str, float]:
    return {m["model"]: m["mean"] for r in data["rubrics"] for m in r["models"]}


def test_a_rerun_after_a_mended_verdict_makes_zero_calls(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(3))
    project.model("judge", "judge-model", concurrency=1)
    project.server.set_faults([{"fault": "malformed", "call": "judge", "times": 1}])
    spec = project.spec(candidates=["strong"], settings={"judge_retries": 1})
    first = project.run_json(spec)
    assert first["counts"]["judgments"] == {"done": 3}  # the bad verdict was asked again and answered well
    calls = project.server.stats()["calls"]
    assert calls == 3 + 4
    for _ in range(2):
        again = project.run_json(spec)
        assert again["counts"]["judgments"] == {"done": 3}
        assert project.server.stats()["calls"] == calls


def test_a_rerun_after_a_resume_mended_a_verdict_makes_zero_calls(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(3))
    project.model("judge", "judge-model", concurrency=1)
    project.server.set_faults([{"fault": "malformed", "call": "judge", "times": 2}])
    spec = project.spec(candidates=["strong"], settings={"judge_retries": 1})
    first = project.run_json(spec)
    assert first["counts"]["judgments"] == {"done": 2, "failed": 1}
    project.cli("run", "--resume", first["run"]["id"], "--json")
    calls = project.server.stats()["calls"]
    again = project.run_json(spec)
    assert again["counts"]["judgments"] == {"done": 3}
    assert project.server.stats()["calls"] == calls


def test_the_cache_serves_the_newest_usable_answer(project: Project) -> None:
    spec = project.spec(candidates=["strong", "weak"])
    project.run_json(spec)
    project.server.configure(judge_noise=2)  # the same requests now get other scores
    newer = project.run_json(spec, "--no-cache")
    project.server.set_faults([{"fault": "out_of_range", "call": "judge", "times": None}])
    project.run_json(spec, "--no-cache", exit_code=1)  # newest of all: unusable verdicts
    calls = project.server.stats()["calls"]
    cached = project.run_json(spec)
    assert project.server.stats()["calls"] == calls
    assert _means(cached) == _means(newer)


def test_identical_outputs_of_two_candidates_are_judged_once(project: Project) -> None:
    rows = [{"id": f"r{i}", "input": f"Question {i}?",
             "outputs": {"prod": f"Answer {i}. quality=6", "canary": f"Answer {i}. quality=6"}} for i in range(20)]
    write_jsonl(project.root / "captured.jsonl", rows)
    project.models["prod"] = {"provider": "dataset"}
    project.models["canary"] = {"provider": "dataset"}
    spec = project.spec(candidates=["prod", "canary"], dataset="captured.jsonl")
    data = project.run_json(spec)
    assert data["counts"] == {"outputs": {"done": 40}, "judgments": {"done": 40}}
    stats = project.server.stats()
    assert stats["duplicates"] == 0
    assert stats["calls"] == 20  # one verdict per distinct request, shared by both candidates


def test_repeated_inputs_in_a_dataset_are_asked_once(project: Project) -> None:
    distinct = chat_rows(5)
    rows = [{**distinct[i % 5], "id": f"row{i}"} for i in range(30)]
    write_jsonl(project.root / "data.jsonl", rows)
    project.server.configure(latency_ms=20)
    data = project.run_json(project.spec(candidates=["strong", "weak"]))
    assert data["counts"] == {"outputs": {"done": 60}, "judgments": {"done": 60}}
    stats = project.server.stats()
    assert stats["duplicates"] == 0
    assert stats["by_call"] == {"generate": 10, "judge": 10}


def test_two_judge_retries_are_two_more_tries_even_when_the_judge_repeats_itself(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(1))
    project.server.set_faults([{"fault": "malformed", "call": "judge", "times": 2}])
    data = project.run_json(project.spec(candidates=["strong"], settings={"judge_retries": 2}))
    assert data["counts"]["judgments"] == {"done": 1}
    assert project.server.stats()["by_call"]["judge"] == 3  # each try with its own seed
