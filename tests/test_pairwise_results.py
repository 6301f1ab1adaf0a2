"""Pairwise results through real runs: partial outcomes, position bias, counts and failures, partial layouts.

The candidates answer with pre-generated outputs (the `dataset` provider), so each test decides exactly what
the fake judge sees: it prefers the response whose last `quality=<n>` marker is higher, reading the last two
markers of the prompt (response A, then response B).
"""

from __future__ import annotations

import json
import sqlite3

import assay
from conftest import Project, write_jsonl

PAIRWISE = {"name": "preference", "kind": "pairwise", "description": "Which response answers better?"}


def _captured(project: Project, outputs: list[dict[str, str]]) -> None:
    rows = [{"id": f"s{i}", "input": f"Question {i}?", "outputs": out} for i, out in enumerate(outputs)]
    write_jsonl(project.root / "captured.jsonl", rows)
    for label in outputs[0]:
        project.models[label] = {"provider": "dataset"}


def test_a_pair_won_in_one_order_and_tied_in_the_other_counts_three_quarters(project: Project) -> None:
    # x's answer ends on the same marker as y's, after a lower one. Shown first, x's last marker meets y's:
    # a tie. Shown second, the judge reads y's 5 and then x's "3 ... 5": x's 5 is last, y's 3 before it,
    # so x wins. Half the samples are like that (0.75 for x), half a clear win in both orders (1.0).
    partial = {"x": "first try quality=3, final quality=5", "y": "answer quality=5"}
    clear = {"x": "answer quality=8", "y": "answer quality=3"}
    _captured(project, [partial, clear] * 4)
    data = project.run_json(project.spec(candidates=["x", "y"], rubrics=[PAIRWISE], dataset="captured.jsonl"))
    (section,) = data["pairwise"]
    (pair,) = section["pairs"]
    assert (pair["model_a"], pair["model_b"]) == ("x", "y")
    assert pair["rate"] == 0.875  # the mean outcome: (4 * 0.75 + 4 * 1) / 8
    assert (pair["wins"], pair["ties"], pair["losses"], pair["n"]) == (8, 0, 0, 8)
    assert pair["ci_low"] < 0.875 < pair["ci_high"] <= 1.0
    assert section["position_consistency"]["judge"]["inconsistent_share"] == 0.5
    assert pair["length"]["length_controlled_win_rate"] is not None
    run_id = data["run"]["id"]
    assert "x beats y" in project.cli("results", run_id).output
    assert "x beats y" in project.cli("compare", run_id).output
    assert json.loads(project.cli("results", run_id, "--json").stdout)["pairwise"][0]["pairs"][0]["rate"] == 0.875


def test_the_direction_of_position_bias_is_reported_per_judge(project: Project) -> None:
    _captured(project, [{"x": "answer quality=8", "y": "answer quality=3"}] * 6)
    spec = project.spec(candidates=["x", "y"], rubrics=[PAIRWISE], dataset="captured.jsonl")
    fair = project.run_json(spec)["pairwise"][0]["position_consistency"]["judge"]
    # x wins in both orders: shown first in one order, second in the other, so the first position wins half.
    assert fair["first_position_win_rate"] == 0.5 and fair["first_position_wins"] == 0.5
    assert fair["second_position_wins"] == 0.5 and fair["n_verdicts"] == 12
    project.server.configure(pairwise_bias="first")
    data = project.run_json(spec, "--no-cache")
    biased = data["pairwise"][0]["position_consistency"]["judge"]
    assert biased["inconsistent_share"] == 1.0
    assert biased["first_position_win_rate"] == 1.0 and biased["first_position_wins"] == 1.0
    assert biased["second_position_wins"] == 0.0
    text = project.cli("results", data["run"]["id"]).output
    assert "the first-shown response won 100%" in text


def test_runs_counts_pairwise_verdicts(project: Project) -> None:
    _captured(project, [{"x": "answer quality=8", "y": "answer quality=3"}] * 3)
    run_id = project.run_json(project.spec(candidates=["x", "y"], rubrics=[PAIRWISE],
                                           dataset="captured.jsonl"))["run"]["id"]
    (row,) = json.loads(project.cli("runs", "--json").stdout)
    assert row["id"] == run_id and row["pairwise"] == {"done": 6}
    table = project.cli("runs").output
    assert run_id in table and "6" in table.split(run_id)[1].splitlines()[0]


def test_a_run_whose_every_pairwise_verdict_failed_exits_non_zero(project: Project) -> None:
    _captured(project, [{"x": "answer quality=8", "y": "answer quality=3"}] * 3)
    project.server.set_faults([{"fault": "400", "call": "judge", "times": None}])
    spec = project.spec(candidates=["x", "y"], rubrics=[PAIRWISE], dataset="captured.jsonl")
    result = project.cli("run", str(spec), "--json", ok=False)
    assert result.exit_code == 1, result.output
    assert "nothing was scored for pairwise rubrics" in result.output
    (row,) = json.loads(project.cli("runs", "--json").stdout)
    assert row["pairwise"] == {"failed": 6}
    outcome = assay.run(spec, db=project.db)
    assert outcome.status == "done" and outcome.unscored == ["pairwise rubrics"]


def test_results_are_correct_when_only_some_pairs_were_judged(project: Project) -> None:
    # Each candidate judged against a baseline only: the pair (y, z) has no verdicts.
    _captured(project, [{"base": "answer quality=5", "y": "answer quality=8", "z": "answer quality=3"}] * 6)
    run_id = project.run_json(project.spec(candidates=["base", "y", "z"], rubrics=[PAIRWISE],
                                           dataset="captured.jsonl"))["run"]["id"]
    with sqlite3.connect(project.db) as db:
        db.execute("delete from pairwise_judgments where model_a = 'y' and model_b = 'z'")
    section = json.loads(project.cli("results", run_id, "--json").stdout)["pairwise"][0]
    rates = {(p["model_a"], p["model_b"]): p["rate"] for p in section["pairs"]}
    assert rates == {("base", "y"): 0.0, ("base", "z"): 1.0}
    assert [s["model"] for s in section["bradley_terry"]] == ["y", "base", "z"]
    assert "base" in project.cli("results", run_id).output


def test_results_and_compare_are_typed_records_with_the_json_every_view_shows(project: Project) -> None:
    from assay.report.compare import compare_report, compare_runs
    from assay.report.records import CompareReport, PairwiseResult, RubricResult, RunResults
    from assay.report.results import results_report, run_results
    from assay.store import Store

    spec = project.spec(candidates=["strong", "weak"], rubrics=["quality.yaml", PAIRWISE])
    first = project.run_json(spec)
    second = project.run_json(spec, "--no-cache")
    store = Store(project.db)
    try:
        report = results_report(store, first["run"]["id"])
        assert isinstance(report, RunResults) and isinstance(report.rubrics[0], RubricResult)
        assert isinstance(report.pairwise[0], PairwiseResult) and report.pairwise[0].pairs[0].win.rate == 1.0
        data = report.to_dict()
        assert data == run_results(store, first["run"]["id"]) == json.loads(json.dumps(data, allow_nan=False))
        assert data == first  # what `assay run --json` printed
        cmp = compare_report(store, first["run"]["id"], second["run"]["id"])
        assert isinstance(cmp, CompareReport) and cmp.comparisons[0].stats is not None
        assert cmp.to_dict() == compare_runs(store, first["run"]["id"], second["run"]["id"])
        assert cmp.to_dict()["comparisons"][0]["mean_after"] == 8.0
    finally:
        store.close()


def test_a_stored_outcome_is_read_and_a_missing_one_derived_from_the_winner() -> None:
    from assay.report.verdicts import pair_outcomes, pair_units, verdict_outcome

    base = {"sample_id": "s", "model_a": "x", "model_b": "y", "judge": "j", "repeat": 0, "status": "done"}
    assert verdict_outcome({**base, "winner": "x", "outcome": 0.75}) == 0.75  # graded or weighted: as stored
    assert verdict_outcome({**base, "winner": "x", "outcome": None}) == 1.0  # stored before outcomes existed
    assert verdict_outcome({**base, "winner": "tie"}) == 0.5 and verdict_outcome({**base, "winner": "y"}) == 0.0
    rows = [{**base, "order": "ab", "winner": "x", "outcome": 0.8},  # a probability from log-probabilities
            {**base, "order": "ba", "winner": "tie", "outcome": 0.5},
            {**base, "order": "ab", "repeat": 1, "winner": "x", "outcome": 1.0},  # its other order failed
            {**base, "order": "ba", "repeat": 1, "status": "failed", "winner": None, "outcome": None}]
    (unit,) = pair_units(rows)
    assert (unit.ab, unit.ba, unit.outcome) == (0.8, 0.5, 0.65)
    assert pair_outcomes([unit]) == {("x", "y"): {"s": 0.65}}


def test_pairs_without_both_outputs_are_skipped_not_failed(project: Project) -> None:
    # weak's every generation fails (a 400), so none of its pairs can be judged: skipped, like a pointwise
    # judgment without an output, and kept out of the judge's failures.
    project.server.set_faults([{"fault": "400", "model": "weak-q4"}])
    spec = project.spec(candidates=["strong", "weak"], rubrics=[PAIRWISE])
    data = json.loads(project.cli("run", str(spec), "--json", ok=False).stdout)
    n = data["counts"]["outputs"]["failed"]
    assert n >= 1 and data["counts"]["pairwise"] == {"skipped": 2 * n}
    assert data["failures"]["pairwise"] == []
    (row,) = json.loads(project.cli("runs", "--json").stdout)
    assert row["pairwise"] == {"skipped": 2 * n}
    (section,) = data["pairwise"]
    assert section["n_failed"] == section["n_failed_no_output"] == 2 * n
    assert "because a candidate produced no output" in project.cli("results", data["run"]["id"]).output
