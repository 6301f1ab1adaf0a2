"""The exit codes every command keeps, as the README and `assay --help` say:

    0  ok
    1  the eval says no: nothing was scored (or generated), or a gate failed
    2  bad input or usage

Each failure also says why in one `error:` line on stderr (or in the output it printed), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import Project


def _code(project: Project, *args: str) -> int:
    result = project.cli(*args, ok=False)
    assert "Traceback" not in result.output
    return result.exit_code


def test_help_documents_the_exit_codes(project: Project) -> None:
    result = project.cli("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exit codes: 0 ok; 1 the eval says no" in text and "2 bad input or usage" in text


def test_ok_is_0(project: Project) -> None:
    assert _code(project, "run", str(project.spec(candidates=["strong"])), "--json") == 0


# -- 1: the eval says no -------------------------------------------------------------------------------------


def test_a_run_that_scored_nothing_is_1(project: Project) -> None:
    project.server.set_faults([{"fault": "404"}])
    result = project.cli("run", str(project.spec(candidates=["strong"])), "--json", ok=False)
    assert result.exit_code == 1 and "error: nothing was scored for strong" in result.stderr


def test_a_failed_compare_gate_is_1(project: Project) -> None:
    project.model("bot", "bot-q8")
    before = project.run_json(project.spec(candidates=["bot"], name="before"))["run"]["id"]
    project.model("bot", "bot-q5")
    after = project.run_json(project.spec(candidates=["bot"], name="after"))["run"]["id"]
    assert _code(project, "compare", before, after, "--fail-if-worse", "1") == 1
    assert _code(project, "compare", before, after, "--fail-if-worse", "4") == 0


def test_a_rubric_with_lint_errors_is_1(project: Project) -> None:
    project.rubric("holes", levels={1: "bad", 5: " ", 10: "great"})
    assert _code(project, "rubric", "lint", "holes.yaml") == 1


def test_a_rubric_test_without_a_usable_verdict_is_1(project: Project) -> None:
    project.write_config()
    project.server.set_faults([{"fault": "malformed"}])
    assert _code(project, "rubric", "test", "accuracy", "--dataset", "data.jsonl", "--row", "q1", "--judge",
                 "judge", "--output", "four") == 1


def test_a_model_that_fails_its_smoke_test_is_1(project: Project) -> None:
    project.write_config()
    project.server.set_faults([{"fault": "401"}])
    assert _code(project, "models", "test", "judge") == 1


def test_generate_without_usable_proposals_is_1(project: Project) -> None:
    """The fake server's judge answers with a verdict, never with rubric proposals."""
    project.write_config()
    result = project.cli("rubric", "generate", "--dataset", "data.jsonl", "--judge", "judge", "--retries", "0",
                         ok=False)
    assert result.exit_code == 1 and "error: the judge 'judge' gave no usable rubric proposals" in result.stderr


def test_generate_whose_model_call_fails_is_1(project: Project) -> None:
    project.write_config()
    project.server.set_faults([{"fault": "401"}])
    result = project.cli("rubric", "generate", "--dataset", "data.jsonl", "--judge", "judge", ok=False)
    assert result.exit_code == 1 and "error: " in result.stderr and "401" in result.stderr


# -- 2: bad input or usage -----------------------------------------------------------------------------------


def test_an_invalid_spec_is_2(project: Project) -> None:
    path = project.spec(candidates=["strong"])
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "candidate": ["weak"]}))
    result = project.cli("run", str(path), ok=False)
    assert result.exit_code == 2 and "error: " in result.stderr and "unknown key(s) candidate" in result.stderr


def test_a_missing_spec_file_is_2(project: Project, tmp_path: Path) -> None:
    assert _code(project, "run", str(tmp_path / "nope.yaml")) == 2


def test_an_unknown_run_is_2(project: Project) -> None:
    assert _code(project, "results", "no-such-run") == 2
    assert _code(project, "compare", "no-such-run", "nor-this-one") == 2


def test_usage_errors_are_2(project: Project) -> None:
    assert _code(project, "run", "--no-such-option") == 2
    assert _code(project, "run") == 2  # neither SPEC nor --resume
    assert _code(project, "compare", "some-run", "--force") == 2
    assert _code(project, "rubric", "lint", "accuracy", "--scale", "ten") == 2


def test_refusing_to_overwrite_is_2(project: Project, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("keep me\n")
    result = project.cli("rubric", "new", "--template", "accuracy", "-o", str(target), ok=False)
    assert result.exit_code == 2 and "error: not overwriting" in result.stderr
    assert target.read_text() == "keep me\n"
    project.cli("init", str(tmp_path / "starter"))
    assert _code(project, "init", str(tmp_path / "starter")) == 2


def test_json_output_stays_parseable_when_the_eval_says_no(project: Project) -> None:
    project.server.set_faults([{"fault": "404"}])
    result = project.cli("run", str(project.spec(candidates=["strong"])), "--json", ok=False)
    assert result.exit_code == 1 and json.loads(result.stdout)["run"]["id"]


def test_an_unreachable_endpoint_before_the_run_is_2(project: Project) -> None:
    project.model("strong", "strong-q8", base_url="http://127.0.0.1:9/v1")  # the discard port: nothing listens
    result = project.cli("run", str(project.spec(candidates=["strong"])), ok=False)
    assert result.exit_code == 2 and "error: " in result.stderr
