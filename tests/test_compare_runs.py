"""`assay compare BEFORE AFTER`: one model across two runs, refusing apples-to-oranges comparisons."""

from __future__ import annotations

import json
import sqlite3

from conftest import Project, chat_rows, write_jsonl


def _two_runs(project: Project, before: str, after: str, **after_rubric) -> tuple[str, str]:
    project.model("bot", before)
    first = project.run_json(project.spec(candidates=["bot"], name="before"))["run"]["id"]
    project.model("bot", after)
    if after_rubric:
        project.rubric(**after_rubric)
    second = project.run_json(project.spec(candidates=["bot"], name="after"))["run"]["id"]
    return first, second


def test_a_worse_model_fails_the_check(project: Project) -> None:
    before, after = _two_runs(project, "bot-q8", "bot-q5")
    result = project.cli("compare", before, after, "--fail-if-worse", "1", "--json", ok=False)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    (cmp,) = data["comparisons"]
    assert cmp["n_shared"] == 12 and cmp["mean_diff"] == -3.0 and cmp["significant"]
    assert data["worse"] == [{"rubric": "quality", "model": "bot", "mean_diff": -3.0,
                              "reason": "significantly worse by more than 1"}]
    assert "bot is worse after than before: -3.00" in cmp["sentence"] and "8.00 → 5.00" in cmp["sentence"]
    assert (cmp["mean_before"], cmp["mean_after"], cmp["worse_after"]) == (8.0, 5.0, 12)
    assert data["models"] == [{"before": "bot", "after": "bot", "before_model": "bot-q8", "after_model": "bot-q5",
                               "changed": True}]
    # Worse, but not by more than the allowed margin: the check passes.
    assert project.cli("compare", before, after, "--fail-if-worse", "4").exit_code == 0


def test_an_improvement_passes(project: Project) -> None:
    before, after = _two_runs(project, "bot-q5", "bot-q7")
    data = json.loads(project.cli("compare", before, after, "--fail-if-worse", "0", "--json").stdout)
    assert "bot is better after than before: +2.00" in data["comparisons"][0]["sentence"]
    assert data["worse"] == []


def test_runs_with_different_rubric_versions_are_refused_unless_forced(project: Project) -> None:
    before, after = _two_runs(project, "bot-q8", "bot-q8", description="A reworded rubric.")
    result = project.cli("compare", before, after, ok=False)
    assert result.exit_code == 2 and "rubric 'quality' differs" in result.output and "--force" in result.output
    forced = json.loads(project.cli("compare", before, after, "--force", "--json").stdout)
    assert forced["warnings"] and forced["comparisons"][0]["mean_diff"] == 0.0


def test_runs_with_different_judges_are_refused(project: Project) -> None:
    project.model("bot", "bot-q6")
    first = project.run_json(project.spec(candidates=["bot"]))["run"]["id"]
    project.model("judge", "another-judge")
    second = project.run_json(project.spec(candidates=["bot"]))["run"]["id"]
    assert "the judges differ" in project.cli("compare", first, second, ok=False).output


def test_a_renamed_model_is_followed_with_before_after(project: Project) -> None:
    first = project.run_json(project.spec(candidates=["weak"]))["run"]["id"]
    second = project.run_json(project.spec(candidates=["strong"]))["run"]["id"]
    data = json.loads(project.cli("compare", first, second, "--model", "weak:strong", "--json").stdout)
    assert data["comparisons"][0]["mean_diff"] == 4.0
    assert "no candidate 'nope'" in project.cli("compare", first, second, "--model", "nope", ok=False).output


def test_compare_with_one_run_shows_its_models(project: Project) -> None:
    run_id = project.run_json(project.spec(candidates=["strong", "weak"]))["run"]["id"]
    assert "strong is better than weak" in project.cli("compare", run_id).output


def test_python_api_compare(project: Project) -> None:
    import assay

    before, after = _two_runs(project, "bot-q6", "bot-q7")
    data = assay.compare(before, after, db=project.db)
    assert data["comparisons"][0]["mean_diff"] == 1.0 and data["schema_version"] == 2


def test_the_gate_fails_a_run_it_could_not_check(project: Project) -> None:
    before = project.run_json(project.spec(candidates=["strong"]))["run"]["id"]
    project.server.set_faults([{"fault": "404", "model": "strong-q8"}])  # every generation fails
    after = project.run_json(project.spec(candidates=["strong"]), "--no-cache", exit_code=1)["run"]["id"]
    result = project.cli("compare", before, after, "--fail-if-worse", "1", "--json", ok=False)
    assert result.exit_code == 1
    (worse,) = json.loads(result.stdout)["worse"]
    assert worse["reason"] == "too few samples scored in both runs to check" and worse["mean_diff"] is None
    assert json.loads(result.stdout)["comparisons"][0]["failed_after"] == 12


def test_different_dataset_versions_are_flagged(project: Project) -> None:
    before = project.run_json(project.spec(candidates=["strong"]))["run"]["id"]
    write_jsonl(project.root / "data.jsonl", chat_rows(13))
    after = project.run_json(project.spec(candidates=["strong"]))["run"]["id"]
    data = json.loads(project.cli("compare", before, after, "--json").stdout)
    assert any("different versions of the dataset" in w for w in data["warnings"])
    assert data["comparisons"][0]["n_shared"] == 12


def test_compare_uses_the_rubric_versions_stored_with_the_judgments(project: Project) -> None:
    # Two runs with the same snapshot; the second's judgments were made under another judge prompt (as an older
    # assay, or a changed default prompt, would have recorded). The stored versions decide, not today's code.
    before, after = _two_runs(project, "bot-q8", "bot-q8")
    with sqlite3.connect(project.db) as db:
        db.execute("update judgments set rubric_version = 'older-prompt' where run_id = ?", (after,))
    result = project.cli("compare", before, after, ok=False)
    assert result.exit_code == 2 and "rubric 'quality' differs" in result.output and "older-prompt" in result.output
    forced = json.loads(project.cli("compare", before, after, "--force", "--json").stdout)
    assert any("older-prompt" in w for w in forced["warnings"])
