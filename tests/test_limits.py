"""Rate limits checked at the server: a model's `rpm` holds even while the run-wide cap makes its calls wait."""

from __future__ import annotations

from conftest import Project, chat_rows, write_jsonl


def _most_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + window) for i, t in enumerate(times))


def test_rpm_holds_at_the_server_when_the_run_wide_cap_makes_calls_wait(project: Project) -> None:
    rpm = 300  # one start every 0.2 s: a minute's budget, scaled down to windows of a few intervals
    interval = 60 / rpm
    write_jsonl(project.root / "data.jsonl", chat_rows(15))
    # "slow" holds the shared cap for a second per call, so "paced" calls queue at the cap.
    project.server.set_faults([{"fault": "timeout", "model": "slow-q5", "delay_s": 1.0, "times": None}])
    project.model("slow", "slow-q5", concurrency=4)
    project.model("paced", "paced-q8", concurrency=8, rpm=rpm)
    project.run_json(project.spec(candidates=["slow", "paced"], settings={"max_concurrency": 4}))
    starts = [t for t, model in project.server.arrivals() if model == "paced-q8"]
    assert len(starts) == 15
    for intervals in (1, 5):  # at most one start per interval, one more for where the window falls
        assert _most_in_window(starts, intervals * interval) <= intervals + 1


def test_rubric_test_keeps_the_judges_limits(project: Project) -> None:
    rpm = 300
    project.model("judge", "judge-model", rpm=rpm, concurrency=2)
    project.write_config()
    project.cli("dataset", "import", "data.jsonl", "--name", "qa")
    project.cli("rubric", "test", "quality.yaml", "--dataset", "qa", "--row", "q1", "--judge", "judge",
                "--output", "Two.", "--repeat", "6")
    starts = [t for t, _ in project.server.arrivals()]
    assert len(starts) == 6
    assert _most_in_window(starts, 60 / rpm) <= 2
    assert project.server.stats()["max_in_flight"] <= 2
