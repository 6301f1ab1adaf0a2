"""Comparing models within a run: ranking with ties, trade-offs, repeated judging, juries, pairwise judging."""

from __future__ import annotations

import sqlite3

from conftest import Project, chat_rows, write_jsonl

PAIRWISE = {"name": "preference", "kind": "pairwise", "description": "Which response answers better?"}


def _rubric(data: dict, name: str = "quality") -> dict:
    return next(r for r in data["rubrics"] if r["rubric"] == name)


def test_ranking_ties_models_the_data_cannot_tell_apart(project: Project) -> None:
    project.model("twin", "twin-q8")
    data = project.run_json(project.spec(candidates=["weak", "strong", "twin"]))
    ranks = {r["model"]: r for r in _rubric(data)["ranking"]}
    assert ranks["strong"]["rank"] == ranks["twin"]["rank"] == 1
    assert ranks["strong"]["tied_with"] == ["twin"] and ranks["weak"]["rank"] == 3
    assert sum(c["significant"] for c in data["comparisons"]) == 2
    assert all("Holm over 3" in c["adjustment"] for c in data["comparisons"])


def test_tradeoffs_across_rubrics_mark_the_best(project: Project) -> None:
    project.rubric("tone", scale={"min": 1, "max": 5})
    data = project.run_json(project.spec(candidates=["strong", "weak"], rubrics=["quality.yaml", "tone.yaml"]))
    table = data["tradeoffs"]
    assert table["rubrics"] == ["quality", "tone"]
    assert table["models"]["strong"]["quality"]["best"] and not table["models"]["weak"]["quality"]["best"]
    assert table["models"]["strong"]["tone"]["mean"] == 5.0  # quality 8 clamped to the 1-5 scale
    text = project.cli("results", data["run"]["id"]).output
    assert "Trade-offs" in text and "★" in text


def test_a_difference_too_small_to_detect_reports_power(project: Project) -> None:
    project.server.configure(judge_noise=2)
    project.model("close", "close-q7")
    write_jsonl(project.root / "data.jsonl", chat_rows(8))
    data = project.run_json(project.spec(candidates=["strong", "close"]))
    (cmp,) = data["comparisons"]
    assert not cmp["significant"] and "can't tell" in cmp["sentence"]
    assert cmp["mde"] > 0 and cmp["wins"] + cmp["ties"] + cmp["losses"] == 8
    assert "can detect differences of about" in project.cli("results", data["run"]["id"]).output


def test_repeated_judging_reports_spread_and_uses_the_mean(project: Project) -> None:
    project.server.configure(judge_noise=1)
    project.model("judge", "judge-model", seed=100)
    spec = project.spec(candidates=["strong", "weak"], judge={"use": "judge", "samples": 3})
    data = project.run_json(spec)
    assert project.server.stats()["by_call"]["judge"] == 12 * 2 * 3
    rep = _rubric(data)["reliability"]["repeats"]["judge"]
    assert rep["n_outputs"] == 24 and 0 < rep["share_disagreeing"] <= 1 and rep["mean_sd"] > 0
    strong = next(m for m in _rubric(data)["models"] if m["model"] == "strong")
    with sqlite3.connect(project.db) as db:
        per_sample = db.execute("select avg(score) from judgments where candidate = 'strong' group by sample_id")
        expected = sum(x for (x,) in per_sample) / 12
    assert strong["n_scored"] == 12 and abs(strong["mean"] - expected) < 1e-9
    assert data["run"]["judge_samples"] == 3


def test_a_jury_keeps_every_judges_scores_and_reports_agreement(project: Project) -> None:
    project.server.configure(judge_noise=1)
    project.model("judge-a", "judge-a", seed=1)
    project.model("judge-b", "judge-b", seed=2)
    spec = project.spec(candidates=["strong", "weak"], judges=["judge-a", "judge-b"],
                        settings={"aggregate": "median"})
    results = project.run_json(spec)
    assert results["run"]["judges"] == ["judge-a", "judge-b"] and results["run"]["aggregate"] == "median"
    assert project.server.stats()["by_model"]["judge-a"] == project.server.stats()["by_model"]["judge-b"] == 24
    (pair,) = _rubric(results)["reliability"]["jury"]
    assert pair["n"] == 24 and pair["krippendorff_alpha"] > 0.5
    assert results["counts"]["judgments"] == {"done": 48}
    assert "median" in results["methods"]["aggregate"]


def test_pairwise_judging_in_both_orders(project: Project) -> None:
    data = project.run_json(project.spec(candidates=["strong", "weak"], rubrics=[PAIRWISE]))
    assert project.server.stats()["by_call"]["judge"] == 12 * 2  # every pair in both orders
    (section,) = data["pairwise"]
    (pair,) = section["pairs"]
    assert (pair["model_a"], pair["model_b"], pair["rate"], pair["wins"]) == ("strong", "weak", 1.0, 12)
    assert section["position_consistency"]["judge"]["inconsistent_share"] == 0.0
    assert "strong beats weak" in pair["sentence"]
    assert data["counts"]["pairwise"] == {"done": 24}


def test_a_judge_that_always_prefers_the_first_position_yields_only_ties(project: Project) -> None:
    project.server.configure(pairwise_bias="first")
    data = project.run_json(project.spec(candidates=["strong", "weak"], rubrics=[PAIRWISE]))
    (section,) = data["pairwise"]
    (pair,) = section["pairs"]
    assert (pair["ties"], pair["wins"], pair["losses"], pair["rate"]) == (12, 0, 0, 0.5)
    bias = section["position_consistency"]["judge"]
    assert (bias["n_pairs"], bias["inconsistent_share"], bias["first_position_wins"]) == (12, 1.0, 1.0)
    assert "can't tell" in pair["sentence"]
    assert "changed with the order of the outputs in 100%" in project.cli("results", data["run"]["id"]).output


def test_bradley_terry_ranks_three_models(project: Project) -> None:
    project.model("mid", "mid-q6")
    data = project.run_json(project.spec(candidates=["weak", "mid", "strong"], rubrics=[PAIRWISE, "quality.yaml"]))
    (section,) = data["pairwise"]
    assert [s["model"] for s in section["bradley_terry"]] == ["strong", "mid", "weak"]
    assert len(section["pairs"]) == 3
    assert _rubric(data)["ranking"][0]["model"] == "strong"


def test_a_pairwise_rubric_needs_two_candidates(project: Project) -> None:
    result = project.cli("run", str(project.spec(candidates=["strong"], rubrics=[PAIRWISE])), ok=False)
    assert result.exit_code != 0 and "at least two candidates" in result.output


def test_a_jury_with_a_failing_judge_pairs_only_on_judges_common_to_both(project: Project) -> None:
    # judge-b can't answer about `weak` (every verdict malformed); judge-a scores both models equally.
    project.server.configure(judge_noise=0)
    project.model("same", "same-q6")
    project.model("judge-a", "judge-a")
    project.model("judge-b", "judge-b")
    spec = project.spec(candidates=["strong", "same"], judges=["judge-a", "judge-b"],
                        settings={"judge_retries": 0})
    # Without common-judge pairing, strong (both judges, 8) vs same (6) would still differ by 2; the point is
    # that a missing judge on one side must not enter the comparison: check n_paired counts only full pairs.
    project.server.set_faults([{"fault": "malformed", "model": "judge-b", "times": 6}])
    data = project.run_json(spec)
    (cmp,) = data["comparisons"]
    assert cmp["mean_diff"] == 2.0 and cmp["n_paired"] == 12
    assert sum(m["n_failed"] for m in _rubric(data)["models"]) == 6


def test_repeated_pairwise_verdicts_are_decided_by_majority(project: Project) -> None:
    project.model("judge", "judge-model", seed=3)
    spec = project.spec(candidates=["strong", "weak"], rubrics=[PAIRWISE], judge={"use": "judge", "samples": 3})
    data = project.run_json(spec)
    (section,) = data["pairwise"]
    assert project.server.stats()["by_call"]["judge"] == 12 * 2 * 3
    assert section["repeat_disagreement"]["judge"] == {"n_pairs": 12, "share_disagreeing": 0.0}
    assert section["pairs"][0]["wins"] == 12
