"""Kinds of pairwise judging, through real HTTP: the stored outcome, a baseline, graded (five-point) answers and
weighted (log-probability) verdicts."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import pytest

import assay
from conftest import Project

PAIRWISE: dict[str, Any] = {"name": "preference", "kind": "pairwise", "description": "Which response answers better?"}


def _rows(project: Project) -> list[dict[str, Any]]:
    with sqlite3.connect(project.db) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select * from pairwise_judgments")]


def test_every_done_verdict_stores_model_as_outcome(project: Project) -> None:
    project.model("twin", "twin-q8")
    project.run_json(project.spec(candidates=["strong", "weak", "twin"], rubrics=[PAIRWISE]))
    rows = _rows(project)
    assert rows and all(r["status"] == "done" for r in rows)
    expected = {("strong", "weak"): 1.0, ("strong", "twin"): 0.5, ("weak", "twin"): 0.0}
    for r in rows:
        assert r["outcome"] == expected[(r["model_a"], r["model_b"])]
        assert r["winner"] == {1.0: r["model_a"], 0.5: "tie", 0.0: r["model_b"]}[r["outcome"]]


def test_a_baseline_judges_each_candidate_against_it_only(project: Project) -> None:
    project.model("mid", "mid-q6")
    rubric = {**PAIRWISE, "pairwise": {"baseline": "weak"}}
    outcome = assay.run(project.spec(candidates=["strong", "mid", "weak"], rubrics=[rubric]), db=project.db)
    # 12 samples, 2 pairs (not 3), both orders.
    assert project.server.stats()["by_call"]["judge"] == 12 * 2 * 2
    assert outcome.progress.pairs_total == outcome.progress.pairs_done == 12 * 2 * 2
    assert {(r["model_a"], r["model_b"]) for r in _rows(project)} == {("strong", "weak"), ("mid", "weak")}
    (section,) = assay.results(outcome.run_id, db=project.db)["pairwise"]
    rates = {(p["model_a"], p["model_b"]): p["rate"] for p in section["pairs"]}
    assert rates == {("strong", "weak"): 1.0, ("mid", "weak"): 1.0}  # each candidate's win rate over the baseline


def test_a_baseline_in_the_settings_applies_to_every_pairwise_rubric(project: Project) -> None:
    project.model("mid", "mid-q6")
    other = {**PAIRWISE, "name": "clarity"}
    spec = project.spec(candidates=["strong", "mid", "weak"], rubrics=[PAIRWISE, other],
                        settings={"pairwise": {"baseline": "mid"}})
    outcome = assay.run(spec, db=project.db)
    assert outcome.progress.pairs_total == outcome.progress.pairs_done == 2 * 12 * 2 * 2
    assert {(r["model_a"], r["model_b"]) for r in _rows(project)} == {("strong", "mid"), ("weak", "mid")}


@pytest.mark.parametrize("where", ["rubric", "settings"])
def test_a_baseline_that_is_not_a_candidate_is_refused_before_the_run(project: Project, where: str) -> None:
    rubric = {**PAIRWISE, "pairwise": {"baseline": "gpt-base"}} if where == "rubric" else PAIRWISE
    settings = {"pairwise": {"baseline": "gpt-base"}} if where == "settings" else None
    spec = project.spec(candidates=["strong", "weak"], rubrics=[rubric], settings=settings)
    result = project.cli("run", str(spec), ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    field = "rubric 'preference': pairwise.baseline" if where == "rubric" else "settings.pairwise.baseline"
    assert str(spec) in result.output and field in result.output
    assert "'gpt-base' is not one of the candidates (strong, weak)" in result.output
    assert project.server.stats()["calls"] == 0


def test_five_point_answers_are_graded_outcomes(project: Project) -> None:
    project.model("close", "close-q7")
    rubric = {**PAIRWISE, "pairwise": {"scale": "five-point"}}
    project.run_json(project.spec(candidates=["strong", "close", "weak"], rubrics=[rubric]))
    rows = _rows(project)
    assert len(rows) == 12 * 3 * 2 and all(r["status"] == "done" for r in rows)
    # strong (8) vs close (7): better; strong vs weak (4): much better; close vs weak: much better.
    expected = {("strong", "close"): 0.75, ("strong", "weak"): 1.0, ("close", "weak"): 1.0}
    for r in rows:
        assert r["outcome"] == expected[(r["model_a"], r["model_b"])] and r["winner"] == r["model_a"]
        assert r["position"] == ("A" if r["order"] == "ab" else "B")


def test_the_five_point_scale_is_part_of_the_rubric_version() -> None:
    three = assay.Rubric.model_validate(PAIRWISE)
    five = assay.Rubric.model_validate({**PAIRWISE, "pairwise": {"scale": "five-point"}})
    assert three.version != five.version
    # A pairwise rubric without options keeps the version it had before options existed.
    assert three.version == "ce3dc8dbbf6d"


def _weighted_outcome(diff: int) -> float:
    """model_a's outcome for a quality difference, as the test server's probabilities give it (both orders)."""
    a = 1 / (1 + math.exp(-diff))
    return 0.9 * a + 0.05  # P(A) + P(tie)/2, normalized over the three answers


@pytest.mark.parametrize("split", ["separate", "quoted", "closing"])
def test_weighted_verdicts_are_the_judges_probability(project: Project, split: str) -> None:
    project.server.configure(logprobs_split=split)
    rubric = {**PAIRWISE, "pairwise": {"weighted": True}}
    project.run_json(project.spec(candidates=["strong", "weak"], rubrics=[rubric]))
    rows = _rows(project)
    assert len(rows) == 24 and all(r["status"] == "done" for r in rows)
    for r in rows:
        assert r["outcome"] == pytest.approx(_weighted_outcome(8 - 4), abs=1e-9)
        assert r["winner"] == "strong"


def test_weighted_verdicts_from_the_settings_are_served_again_from_the_cache(project: Project) -> None:
    spec = project.spec(candidates=["strong", "weak"], rubrics=[PAIRWISE], settings={"pairwise": {"weighted": True}})
    project.run_json(spec)
    first = sorted(r["outcome"] for r in _rows(project))
    calls = project.server.stats()["calls"]
    project.run_json(spec)
    assert project.server.stats()["calls"] == calls  # the rerun made no call
    second = sorted(r["outcome"] for r in _rows(project))
    assert second == sorted(first + first) and 0.5 < first[0] < 1


def test_a_weighted_verdict_without_log_probabilities_fails_clearly(project: Project) -> None:
    project.server.configure(logprobs="off")
    rubric = {**PAIRWISE, "pairwise": {"weighted": True}}
    outcome = assay.run(project.spec(candidates=["strong", "weak"], rubrics=[rubric]), db=project.db)
    assert outcome.progress.pairs_failed == 24
    rows = _rows(project)
    assert len(rows) == 24 and all(r["status"] == "failed" and r["outcome"] is None for r in rows)
    assert all("returned no token log-probabilities" in r["error"] for r in rows)
    assert project.server.stats()["by_call"]["judge"] == 24  # asked once each: retrying can't bring them


def test_weighted_verdicts_with_a_judge_that_cant_return_logprobs_are_refused_before_the_run(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_TEST_ANTHROPIC_KEY", "k")
    project.models["claude"] = {"provider": "anthropic", "base_url": "http://127.0.0.1:9", "model": "claude-x",
                                "api_key_env": "ASSAY_TEST_ANTHROPIC_KEY"}
    spec = project.spec(candidates=["strong", "weak"], judge="claude", rubrics=[PAIRWISE],
                        settings={"pairwise": {"weighted": True}})
    result = project.cli("run", str(spec), ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "judge 'claude' (provider: anthropic) can't return" in result.output
    assert project.server.stats()["calls"] == 0
