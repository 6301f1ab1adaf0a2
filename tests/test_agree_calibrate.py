"""`assay agree` and `assay calibrate`: numbers checked by hand and against scipy, missing labels counted and left
out, clean errors for bad input, and judge-human calibration on a real run against the fake server."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from assay.cli.main import cli
from assay.errors import DatasetError
from assay.report.calibration import agree_file
from assay.stats import agreement
from conftest import Project, chat_rows, write_jsonl

# The complete pairs of both fixture files, in file order.
JUDGE = [3, 4, 5, 1, 2]
HUMAN = [3, 5, 5, 2, 2]

JSONL_LINES = [
    {"id": 1, "scores": {"judge": 3, "human": 3}},
    {"id": 2, "scores": {"judge": 4, "human": 5}},
    {"id": 3, "scores": {"judge": 2, "human": None}},       # human null
    {"id": 4, "scores": {"judge": 5, "human": 5}},
    {"id": 5, "scores": {"human": 1}},                      # judge absent
    None,                                                   # a blank line: not a row
    {"id": 6, "scores": {"judge": 1, "human": 2}},
    {"id": 7, "scores": {}},                                # both absent
    {"id": 8, "scores": {"judge": 2, "human": 2}},
    {"id": 9, "scores": None, "note": "no scores at all"},  # both absent (null parent)
]


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join("\n" if r is None else json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _agree(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["agree", *args], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# ------------------------------------------------------------------------------------------------ agree


def test_agree_jsonl_dotted_fields_hand_computed(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "labels.jsonl", JSONL_LINES)
    code, out = _agree(str(path), "--a", "scores.judge", "--b", "scores.human", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["kind"] == "ordinal" and data["kind_reason"].startswith("inferred")
    assert (data["n_rows"], data["n_used"], data["n_excluded"]) == (9, 5, 4)
    # judge missing on ids 5, 7, 9; human missing on ids 3, 7, 9; both on 7 and 9.
    assert (data["n_missing_a"], data["n_missing_b"], data["n_missing_both"]) == (3, 3, 2)
    ag = data["agreement"]
    assert ag["n"] == 5
    # Exact agreement 3/5. Cohen's kappa: A uses 1..5 once each; B has 2 twice, 3 once, 5 twice ->
    # chance agreement (0 + 2 + 1 + 0 + 2) / 25 = 0.2 -> kappa = (0.6 - 0.2) / 0.8 = 0.5.
    assert ag["exact_agreement"] == pytest.approx(0.6)
    assert ag["cohen_kappa"] == pytest.approx(0.5)
    # Quadratic kappa, weights (i - j)^2 / 16: observed 2 disagreements of weight 1/16; expected
    # sum_i sum_j w_ij * 1 * colB_j / 5 = (38 + 19 + 10 + 11 + 22) / 16 / 5 = 1.25 -> 1 - 0.125 / 1.25 = 0.9.
    assert ag["weighted_kappa_quadratic"] == pytest.approx(0.9)
    assert ag["pearson"] == pytest.approx(stats.pearsonr(JUDGE, HUMAN)[0])
    assert ag["spearman"] == pytest.approx(stats.spearmanr(JUDGE, HUMAN)[0])
    assert ag["kendall_tau_b"] == pytest.approx(stats.kendalltau(JUDGE, HUMAN, variant="b")[0])
    assert ag["krippendorff_alpha"] == pytest.approx(agreement(JUDGE, HUMAN, kind="ordinal").krippendorff_alpha)
    assert ag["labels"] == [1, 2, 3, 4, 5]
    assert ag["confusion"][3] == [0, 0, 0, 0, 1]  # the judge's 4 was a human 5
    assert ag["mean_diff"] == pytest.approx(-0.4) and ag["mean_abs_diff"] == pytest.approx(0.4)


def test_agree_csv_missing_cells_and_continuous_inference(tmp_path: Path) -> None:
    path = _csv(tmp_path / "labels.csv", [
        ["id", "judge", "human"],
        ["1", "3", "3"], ["2", "4", "5"], ["3", "2", ""], ["4", "5", "5"], ["5", "", "1"], ["6", "1", "2"],
        ["7", " ", ""], ["8", "2.5", " 2 "],
    ])
    code, out = _agree(str(path), "--a", "judge", "--b", "human", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["format"] == "csv" and data["kind"] == "continuous"  # 2.5 is not an integer
    assert (data["n_rows"], data["n_used"], data["n_excluded"]) == (8, 5, 3)
    assert (data["n_missing_a"], data["n_missing_b"], data["n_missing_both"]) == (2, 2, 1)
    x, y = [3, 4, 5, 1, 2.5], [3, 5, 5, 2, 2]
    ag = data["agreement"]
    assert ag["pearson"] == pytest.approx(stats.pearsonr(x, y)[0])
    assert ag["spearman"] == pytest.approx(stats.spearmanr(x, y)[0])
    assert ag["kendall_tau_b"] == pytest.approx(stats.kendalltau(x, y, variant="b")[0])
    # Krippendorff's interval alpha by its definition: 1 - (n - 1) * sum_units 2 (x - y)^2 / sum over all ordered
    # pairs of pooled values (v_i - v_j)^2, with n = 10 pooled values.
    pooled = np.array(x + y, dtype=float)
    expected_pairs = float(((pooled[:, None] - pooled[None, :]) ** 2).sum())
    observed = 2 * sum((a - b) ** 2 for a, b in zip(x, y))
    assert ag["krippendorff_alpha"] == pytest.approx(1 - 9 * observed / expected_pairs)
    assert ag["cohen_kappa"] is None and ag["labels"] == [] and ag["exact_agreement"] == pytest.approx(0.4)

    # Forced ordinal on the same file: numbers are categories, 2.5 one of them.
    data = json.loads(_agree(str(path), "--a", "judge", "--b", "human", "--kind", "ordinal", "--json")[1])
    assert data["kind"] == "ordinal" and data["kind_reason"] == "given"
    assert data["agreement"]["labels"] == [1, 2, 2.5, 3, 4, 5]


def test_agree_nominal_labels_and_table_output(tmp_path: Path) -> None:
    path = _csv(tmp_path / "verdicts.csv", [
        ["judge", "human"], ["pass", "pass"], ["fail", "pass"], ["fail", "fail"], ["pass", "pass"], ["", "fail"],
    ])
    data = agree_file(path, "judge", "human")
    assert data["kind"] == "nominal" and data["n_used"] == 4 and data["n_missing_a"] == 1
    ag = data["agreement"]
    assert ag["labels"] == ["fail", "pass"] and ag["confusion"] == [[1, 1], [0, 2]]
    # p_o = 3/4; margins A (2, 2), B (1, 3) -> p_e = (2 + 6) / 16 = 0.5 -> kappa = 0.25 / 0.5 = 0.5
    assert ag["cohen_kappa"] == pytest.approx(0.5) and ag["pearson"] is None
    code, out = _agree(str(path), "--a", "judge", "--b", "human")
    assert code == 0
    assert "kind: nominal" in out and "Cohen κ" in out and "0.500" in out and "Pearson" not in out
    assert "4 used, 1 left out" in out


def test_agree_default_table_names_the_kind_and_counts(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "labels.jsonl", JSONL_LINES)
    code, out = _agree(str(path), "--a", "scores.judge", "--b", "scores.human")
    assert code == 0
    assert "kind: ordinal (inferred: every value is an integer)" in out
    assert "rows 9: 5 used, 4 left out" in out
    assert "quadratic-weighted κ" in out and "0.900" in out and "confusion" in out


def test_agree_treats_nan_and_infinity_as_missing(tmp_path: Path) -> None:
    # Python's json writes float NaN and infinities as NaN / Infinity, and reads 1e400 as an infinity: none of
    # them is a label. They are missing values (counted, left out), never a category or a score.
    path = tmp_path / "labels.jsonl"
    path.write_text('{"j": NaN, "h": 2}\n{"j": 1, "h": 2}\n{"j": 3, "h": 3}\n{"j": 2, "h": 2}\n'
                    '{"j": 1e400, "h": 1}\n{"j": 2, "h": -Infinity}\n{"j": Infinity, "h": NaN}\n',
                    encoding="utf-8")
    assert json.loads('{"j": NaN}')["j"] != json.loads('{"j": NaN}')["j"]  # really a float NaN
    data = agree_file(path, "j", "h")
    assert data["kind"] == "ordinal" and data["kind_reason"] == "inferred: every value is an integer"
    assert (data["n_rows"], data["n_used"], data["n_excluded"]) == (7, 3, 4)
    assert (data["n_missing_a"], data["n_missing_b"], data["n_missing_both"]) == (3, 2, 1)
    assert data["agreement"]["n"] == data["n_used"] == 3
    assert data["agreement"]["labels"] == [1, 2, 3] and None not in data["agreement"]["labels"]
    assert data["agreement"]["exact_agreement"] == pytest.approx(2 / 3)
    # A dotted path that ends on a NaN is missing too.
    nested = _jsonl(tmp_path / "nested.jsonl", [{"s": {"j": 1, "h": 1}}, {"s": {"j": 2, "h": 2}}])
    nested.write_text(nested.read_text() + '{"s": {"j": NaN, "h": 1}}\n', encoding="utf-8")
    data = agree_file(nested, "s.j", "s.h")
    assert (data["n_used"], data["n_missing_a"], data["agreement"]["n"]) == (2, 1, 2)

    # CSV: cells that read as non-finite numbers are missing as well, in every spelling.
    csv_path = _csv(tmp_path / "labels.csv", [["j", "h"], ["nan", "2"], ["1", "2"], ["3", "3"], ["inf", "1"],
                                              ["2", " -Infinity "], ["NaN", "NAN"]])
    data = agree_file(csv_path, "j", "h")
    assert data["kind"] == "ordinal" and (data["n_used"], data["n_missing_a"], data["n_missing_b"]) == (2, 3, 2)
    assert data["agreement"]["n"] == 2
    # Forced nominal still never turns a NaN into a category.
    data = agree_file(path, "j", "h", kind="nominal")
    assert data["n_used"] == 3 and data["agreement"]["labels"] == [1, 2, 3]
    code, out = _agree(str(path), "--a", "j", "--b", "h")
    assert code == 0 and "rows 7: 3 used, 4 left out" in out


@pytest.mark.parametrize("content, args, message", [
    (None, ["--a", "j", "--b", "h"], "no such file"),
    ('{"j": 1, "h": 2}\n{"j": 1, "h": \n', ["--a", "j", "--b", "h"], "labels.jsonl:2: not valid JSON"),
    ('{"j": 1, "h": 2}\n[1, 2]\n', ["--a", "j", "--b", "h"], "labels.jsonl:2: expected a JSON object"),
    ('{"j": 1, "h": 2}\n{"j": 1, "h": "7"}\n', ["--a", "j", "--b", "h", "--kind", "ordinal"],
     'labels.jsonl:2: field "h" is "7", not a number'),
    ('{"j": 1, "h": 2}\n{"j": true, "h": 1}\n', ["--a", "j", "--b", "h", "--kind", "continuous"],
     'labels.jsonl:2: field "j" is true, not a number'),
    ('{"j": 1, "h": 2}\n', ["--a", "j", "--b", "human"], 'no field "human" (--b)'),
    ('{"s": 1}\n{"s": {"j": 2}}\n', ["--a", "s.j", "--b", "s.j"], 'labels.jsonl:1: field "s.j": "s" is a number'),
    ("", ["--a", "j", "--b", "h"], "no rows"),
])
def test_agree_bad_jsonl_input_gives_clean_errors(tmp_path: Path, content, args, message) -> None:
    path = tmp_path / "labels.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out = _agree(str(path), *args)
    assert code != 0
    assert message in out, out


@pytest.mark.parametrize("rows, args, message", [
    ([["j", "h"], ["1", "2"], ["3", "abc"]], ["--kind", "continuous"],
     'labels.csv:3: field "h" is "abc", not a number'),
    ([["j", "h"], ["1", "2"], ["3", "4", "5"]], [], "labels.csv:3: 3 cells, but the header has 2 columns"),
    ([["j", "hh"], ["1", "2"]], [], 'no column "h" (--b) (did you mean "hh"?)'),
    ([["j", "h"]], [], "no rows (the file has only a header)"),
])
def test_agree_bad_csv_input_gives_clean_errors(tmp_path: Path, rows, args, message) -> None:
    path = _csv(tmp_path / "labels.csv", rows)
    code, out = _agree(str(path), "--a", "j", "--b", "h", *args)
    assert code != 0
    assert message in out, out


def test_agree_library_raises_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        agree_file(tmp_path / "gone.csv", "a", "b")


# ------------------------------------------------------------------------------------------------ calibrate


def _fails(project: Project, *args: str) -> str:
    result = project.cli(*args, ok=False)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    return result.output


def _human_rows() -> list[list[str]]:
    """Human scores for q0..q5 of both candidates. The judge gives strong 8 and weak 4 everywhere."""
    rows = [["id", "candidate", "score"]]
    strong = {"q0": "8", "q1": "5", "q2": "8", "q3": "8", "q4": "8", "q5": "8"}    # q1: judge +3
    weak = {"q0": "4", "q1": "4", "q2": "9", "q3": "3", "q4": "4", "q5": "4"}      # q2: judge -5, q3: judge +1
    rows += [[sid, "strong", s] for sid, s in strong.items()]
    rows += [[sid, "weak", s] for sid, s in weak.items()]
    rows += [["q7", "weak", ""],            # no score: left out and counted
             ["nope", "strong", "7"],       # not in the run: unmatched
             ["", "strong", "3"]]           # no id: left out and counted
    return rows


def test_calibrate_against_a_real_run(project: Project) -> None:
    run_id = project.run_json(project.spec(candidates=["strong", "weak"]))["run"]["id"]
    human = _csv(project.root / "human.csv", _human_rows())
    data = json.loads(project.cli("calibrate", run_id, "--human", str(human), "--top", "2", "--json").stdout)

    labels = data["labels"]
    assert (labels["n_rows"], labels["n_matched"], labels["n_excluded"], labels["n_unmatched"]) == (15, 12, 2, 1)
    assert labels["n_missing_id"] == 1 and labels["n_missing_score"] == 1
    assert labels["unmatched"] == [{"line": 15, "sample_id": "nope", "rubric": "quality", "candidate": "strong",
                                    "reason": "sample not in the run"}]
    assert data["a"] == "judge" and data["b"] == "human" and data["kind"] == "ordinal"

    (quality,) = data["rubrics"]
    assert quality["rubric"] == "quality" and quality["n_labels"] == 12 and quality["n_used"] == 12
    assert quality["n_failed_judgments"] == 0 and quality["n_no_judge_score"] == 0
    judge = [8] * 6 + [4] * 6
    people = [8, 5, 8, 8, 8, 8, 4, 4, 9, 3, 4, 4]
    overall = quality["overall"]
    assert overall["n"] == 12 and overall["kind"] == "ordinal"
    assert overall["exact_agreement"] == pytest.approx(9 / 12)
    assert overall["pearson"] == pytest.approx(stats.pearsonr(judge, people)[0])
    assert overall["spearman"] == pytest.approx(stats.spearmanr(judge, people)[0])
    assert overall["kendall_tau_b"] == pytest.approx(stats.kendalltau(judge, people, variant="b")[0])
    ref = agreement(judge, people, kind="ordinal")
    assert overall["cohen_kappa"] == pytest.approx(ref.cohen_kappa)
    assert overall["weighted_kappa_quadratic"] == pytest.approx(ref.weighted_kappa_quadratic)
    assert overall["krippendorff_alpha"] == pytest.approx(ref.krippendorff_alpha)
    assert overall["mean_diff"] == pytest.approx((sum(judge) - sum(people)) / 12)

    by_cand = {c["candidate"]: c for c in quality["by_candidate"]}
    assert by_cand["strong"]["n"] == 6 and by_cand["strong"]["exact_agreement"] == pytest.approx(5 / 6)
    assert by_cand["strong"]["pearson"] is None  # the judge gave every strong output 8: no correlation defined
    assert by_cand["weak"]["exact_agreement"] == pytest.approx(4 / 6)
    assert by_cand["weak"]["mean_diff"] == pytest.approx((24 - 28) / 6)

    # Largest absolute differences first: weak q2 (4 vs 9), then strong q1 (8 vs 5); --top 2 drops weak q3.
    dis = quality["disagreements"]
    assert [(d["sample_id"], d["candidate"], d["judge_score"], d["human_score"], d["diff"]) for d in dis] == [
        ("q2", "weak", 4.0, 9, -5.0), ("q1", "strong", 8.0, 5, 3.0)]
    assert "quality 4" in dis[0]["reasoning"] and dis[0]["judgments"][0]["score"] == 4.0

    table = project.cli("calibrate", run_id, "--human", str(human)).output
    assert "largest disagreements" in table and "all candidates" in table and "q3" in table
    assert "unmatched line 15: sample 'nope'" in table


def test_calibrate_with_two_rubrics_needs_and_uses_the_rubric_field(project: Project) -> None:
    project.rubric("tone")
    spec = project.spec(candidates=["strong"], rubrics=["quality.yaml", "tone.yaml"])
    run_id = project.run_json(spec)["run"]["id"]
    no_rubric = write_jsonl(project.root / "h1.jsonl", [{"id": "q0", "score": 8}])
    out = _fails(project, "calibrate", run_id, "--human", str(no_rubric))
    assert "2 scored rubrics (quality, tone)" in out and '"rubric"' in out

    rows = [{"sample": f"q{i}", "labels": {"human": 8 if i % 2 else 6}, "which": "tone"} for i in range(4)]
    rows += [{"sample": "q0", "labels": {"human": 8}, "which": "quality"},
             {"sample": "q1", "labels": {"human": 8}, "which": "styel"}]
    path = write_jsonl(project.root / "h2.jsonl", rows)
    data = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--id-field", "sample",
                                  "--score-field", "labels.human", "--rubric-field", "which", "--json").stdout)
    by_rubric = {r["rubric"]: r for r in data["rubrics"]}
    # One candidate and no candidate field: every label applies to "strong".
    assert by_rubric["quality"]["n_used"] == 1 and by_rubric["quality"]["overall"]["exact_agreement"] == 1.0
    tone = by_rubric["tone"]
    assert tone["n_used"] == 4 and tone["overall"]["exact_agreement"] == pytest.approx(0.5)
    assert [d["sample_id"] for d in tone["disagreements"]] == ["q0", "q2"]  # equal differences: file order
    assert data["labels"]["unmatched"][0]["reason"] == "rubric not in the run"


def test_calibrate_counts_failed_judgments_and_leaves_them_out(project: Project) -> None:
    project.server.set_faults([{"fault": "malformed", "call": "judge", "times": 3}])
    run_id = project.run_json(project.spec(candidates=["weak"], settings={"judge_retries": 0}))["run"]["id"]
    path = write_jsonl(project.root / "h.jsonl", [{"id": f"q{i}", "score": 4} for i in range(12)])
    data = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--json").stdout)
    (quality,) = data["rubrics"]
    assert quality["n_labels"] == 12 and quality["n_used"] == 9
    assert quality["n_failed_judgments"] == 3 and quality["n_no_judge_score"] == 3
    assert quality["overall"]["exact_agreement"] == 1.0 and quality["disagreements"] == []


def test_calibrate_errors_are_clean(project: Project) -> None:
    run_id = project.run_json(project.spec(candidates=["strong", "weak"]))["run"]["id"]
    human = _csv(project.root / "human.csv", _human_rows())

    assert "no run 'nope'" in _fails(project, "calibrate", "nope", "--human", str(human))
    assert "no such file" in _fails(project, "calibrate", run_id, "--human", str(project.root / "gone.jsonl"))

    no_cand = write_jsonl(project.root / "nocand.jsonl", [{"id": "q0", "score": 8}])
    out = _fails(project, "calibrate", run_id, "--human", str(no_cand))
    assert "2 candidates (strong, weak)" in out and '"candidate"' in out

    partly = write_jsonl(project.root / "partly.jsonl", [{"id": "q0", "score": 8, "candidate": "strong"},
                                                          {"id": "q1", "score": 8}])
    assert "partly.jsonl:2: no \"candidate\"" in _fails(project, "calibrate", run_id, "--human", str(partly))

    bad = write_jsonl(project.root / "bad.jsonl", [{"id": "q0", "score": "great", "candidate": "strong"}])
    assert 'bad.jsonl:1: field "score" is "great", not a number' in _fails(
        project, "calibrate", run_id, "--human", str(bad))

    scale = write_jsonl(project.root / "scale.jsonl", [{"id": "q0", "score": 11, "candidate": "strong"}])
    assert "outside rubric \"quality\"'s scale 1–10" in _fails(project, "calibrate", run_id, "--human", str(scale))

    dup = write_jsonl(project.root / "dup.jsonl", [{"id": "q0", "score": 8, "candidate": "weak"},
                                                   {"id": "q0", "score": 7, "candidate": "weak"}])
    assert "already labelled on line 1" in _fails(project, "calibrate", run_id, "--human", str(dup))

    typo = write_jsonl(project.root / "typo.jsonl", [{"sample_id": "q0", "score": 8, "candidate": "weak"}])
    assert 'no field "id" (--id-field)' in _fails(project, "calibrate", run_id, "--human", str(typo))


def test_calibrate_counts_nan_and_infinite_scores_as_missing(project: Project) -> None:
    run_id = project.run_json(project.spec(candidates=["weak"]))["run"]["id"]
    path = project.root / "h.jsonl"
    path.write_text('{"id": "q0", "score": 4}\n{"id": "q1", "score": NaN}\n{"id": "q2", "score": Infinity}\n'
                    '{"id": "q3", "score": 1e400}\n{"id": NaN, "score": 4}\n{"id": "q5", "score": 4}\n',
                    encoding="utf-8")
    data = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--json").stdout)
    labels = data["labels"]
    assert (labels["n_rows"], labels["n_matched"], labels["n_excluded"]) == (6, 2, 4)
    assert labels["n_missing_score"] == 3 and labels["n_missing_id"] == 1 and labels["n_unmatched"] == 0
    (quality,) = data["rubrics"]
    assert quality["n_used"] == quality["overall"]["n"] == 2 and quality["overall"]["exact_agreement"] == 1.0

    csv_path = _csv(project.root / "h.csv", [["id", "score"], ["q0", "4"], ["q1", "nan"], ["q2", "-inf"]])
    data = json.loads(project.cli("calibrate", run_id, "--human", str(csv_path), "--json").stdout)
    assert data["labels"]["n_matched"] == 1 and data["labels"]["n_missing_score"] == 2


def test_calibrate_on_a_run_with_a_limit_treats_later_samples_as_unmatched(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(6))
    run_id = project.run_json(project.spec(candidates=["strong"], settings={"limit": 3}))["run"]["id"]
    path = write_jsonl(project.root / "h.jsonl", [{"id": f"q{i}", "score": 8} for i in range(5)])
    data = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--json").stdout)
    assert data["labels"]["n_matched"] == 3 and data["labels"]["n_unmatched"] == 2
    assert data["rubrics"][0]["overall"]["exact_agreement"] == 1.0


def test_calibrate_a_jury_with_repeats_reports_each_judge(project: Project) -> None:
    project.model("judge2", "judge-two")
    spec = project.spec(candidates=["strong"], settings={"judge_samples": 2})
    data = yaml.safe_load(spec.read_text())
    data.pop("judge")
    data["judges"] = ["judge", "judge2"]
    spec.write_text(yaml.safe_dump(data))
    run_id = project.run_json(spec)["run"]["id"]
    path = write_jsonl(project.root / "h.jsonl", [{"id": f"q{i}", "score": 8 if i else 3} for i in range(4)])
    out = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--json").stdout)
    assert out["run"]["judges"] == ["judge", "judge2"]
    (quality,) = out["rubrics"]
    assert [j["judge"] for j in quality["by_judge"]] == ["judge", "judge2"]
    assert all(j["n"] == 4 and j["exact_agreement"] == 0.75 for j in quality["by_judge"])
    (dis,) = quality["disagreements"]
    assert dis["sample_id"] == "q0" and dis["judge_score"] == 8.0 and dis["diff"] == 5.0
    assert sorted((j["judge"], j["repeat"]) for j in dis["judgments"]) == [
        ("judge", 0), ("judge", 1), ("judge2", 0), ("judge2", 1)]


def test_calibrate_follows_the_runs_aggregate_rule(project: Project) -> None:
    # Three noisy repeats per output, combined by the median in this run: calibrate must use the median too.
    project.server.configure(judge_noise=1)
    project.model("judge", "judge-model", seed=7)
    spec = project.spec(candidates=["strong"], judge={"use": "judge", "samples": 3}, settings={"aggregate": "median"})
    run_id = project.run_json(spec)["run"]["id"]
    path = write_jsonl(project.root / "h.jsonl", [{"id": f"q{i}", "score": 1} for i in range(12)])
    out = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--top", "12", "--json").stdout)
    (quality,) = out["rubrics"]
    assert len(quality["disagreements"]) == 12
    differs = 0
    for d in quality["disagreements"]:
        repeats = [j["score"] for j in d["judgments"]]
        assert len(repeats) == 3 and d["judge_score"] == statistics.median(repeats)
        differs += statistics.median(repeats) != statistics.mean(repeats)
    assert differs  # the mean would have given other scores


def _captured_pairs(project: Project) -> str:
    """A run of x and y on one pairwise rubric whose verdicts are known: x better on s0-s3, a tie on s4-s5, y
    better on s6-s7 (the fake judge prefers the higher `quality=<n>`)."""
    outputs = ([{"x": "answer quality=8", "y": "answer quality=3"}] * 4 + [{"x": "quality=5", "y": "quality=5"}] * 2
               + [{"x": "answer quality=2", "y": "answer quality=6"}] * 2)
    rows = [{"id": f"s{i}", "input": f"Question {i}?", "outputs": out} for i, out in enumerate(outputs)]
    write_jsonl(project.root / "captured.jsonl", rows)
    project.models["x"] = {"provider": "dataset"}
    project.models["y"] = {"provider": "dataset"}
    project.rubric("duel", kind="pairwise")
    spec = project.spec(candidates=["x", "y"], rubrics=["duel.yaml"], dataset="captured.jsonl")
    return project.run_json(spec)["run"]["id"]


def test_calibrate_a_pairwise_rubric_against_human_preferences(project: Project) -> None:
    run_id = _captured_pairs(project)
    human = _csv(project.root / "prefs.csv", [
        ["id", "model_a", "model_b", "winner"],
        ["s0", "x", "y", "model_a"],   # judge: x better; agree
        ["s1", "x", "y", "x"],         # a candidate's label names the winner; agree
        ["s2", "x", "y", "tie"],       # judge: x better; disagree
        ["s3", "y", "x", "model_b"],   # the pair the other way round: x better; agree
        ["s4", "x", "y", "tie"],       # judge: tie; agree
        ["s5", "x", "y", "model_a"],   # judge: tie; disagree
        ["s6", "x", "y", "y"],         # judge: y better; agree
        ["s7", "x", "y", "tie"],       # judge: y better; disagree
        ["s8", "x", "y", "tie"],       # not in the run
        ["s1", "x", "y", ""],          # no label: left out
    ])
    data = json.loads(project.cli("calibrate", run_id, "--human", str(human), "--json").stdout)
    labels = data["labels"]
    assert (labels["n_rows"], labels["n_matched"], labels["n_unmatched"], labels["n_missing_winner"]) == (10, 8, 1, 1)
    (duel,) = data["pairwise"]
    assert duel["rubric"] == "duel" and duel["n_labels"] == 8 and duel["n_used"] == 8
    overall = duel["overall"]
    assert overall["labels"] == ["A better", "tie", "B better"]
    assert overall["n"] == 8 and overall["accuracy"] == pytest.approx(5 / 8)
    assert overall["n_without_ties"] == 4 and overall["accuracy_without_ties"] == 1.0
    # Cohen's kappa by hand: p_o = 5/8; judge A/tie/B = 3/2/3, humans 3/3/2: p_e = (9 + 6 + 6) / 64.
    assert overall["cohen_kappa"] == pytest.approx((5 / 8 - 21 / 64) / (1 - 21 / 64))
    assert overall["confusion"] == [[2, 1, 0], [1, 1, 0], [0, 1, 2]]  # rows: judge; columns: humans
    assert sorted(d["sample_id"] for d in duel["disagreements"]) == ["s2", "s5", "s7"]
    s3 = json.loads(project.cli("calibrate", run_id, "--human", str(human), "--top", "10", "--json").stdout)
    assert all(d["sample_id"] != "s3" for d in s3["pairwise"][0]["disagreements"])
    table = project.cli("calibrate", run_id, "--human", str(human)).output
    assert "accuracy (with ties)" in table and "Cohen κ" in table and "duel" in table


def test_calibrate_pairwise_label_errors_are_clean(project: Project) -> None:
    run_id = _captured_pairs(project)
    bad = write_jsonl(project.root / "bad.jsonl", [{"id": "s0", "model_a": "x", "model_b": "y", "winner": "z"}])
    assert 'bad.jsonl:1: field "winner" is "z"' in _fails(project, "calibrate", run_id, "--human", str(bad))
    dup = write_jsonl(project.root / "dup.jsonl", [{"id": "s0", "model_a": "x", "model_b": "y", "winner": "x"},
                                                   {"id": "s0", "model_a": "y", "model_b": "x", "winner": "x"}])
    assert "already labelled on line 1" in _fails(project, "calibrate", run_id, "--human", str(dup))
    # Two candidates only: the pair may be left unnamed, and then the label names the winner.
    short = write_jsonl(project.root / "short.jsonl", [{"id": "s0", "winner": "x"}, {"id": "s6", "winner": 0}])
    data = json.loads(project.cli("calibrate", run_id, "--human", str(short), "--json").stdout)
    assert data["pairwise"][0]["overall"]["accuracy"] == 1.0


def test_calibrate_matches_scores_and_preferences_in_one_file(project: Project) -> None:
    project.rubric("duel", kind="pairwise")
    run_id = project.run_json(project.spec(candidates=["strong", "weak"], rubrics=["quality.yaml", "duel.yaml"]))[
        "run"]["id"]
    # One scored and one pairwise rubric: a row with a score is about "quality", a row with a winner about "duel".
    path = write_jsonl(project.root / "h.jsonl", [{"id": "q0", "candidate": "weak", "score": 4},
                                                  {"id": "q1", "winner": "strong"}])
    out = json.loads(project.cli("calibrate", run_id, "--human", str(path), "--json").stdout)
    assert out["run"]["rubrics"] == ["quality"] and out["run"]["pairwise_rubrics"] == ["duel"]
    assert out["labels"]["n_matched"] == 2
    assert [r["rubric"] for r in out["rubrics"]] == ["quality"] and out["rubrics"][0]["n_used"] == 1
    assert out["pairwise"][0]["n_used"] == 1 and out["pairwise"][0]["overall"]["accuracy"] == 1.0
