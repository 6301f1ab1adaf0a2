"""`assay models list|test` against the local OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
from conftest import Project


def _list(project: Project, *args: str) -> dict[str, dict]:
    return {m["label"]: m for m in json.loads(project.cli("models", "list", "--json", *args).stdout)}


def test_list_shows_entries_and_whether_their_key_is_set_never_the_key(project: Project,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_TEST_SET_KEY", "sk-very-secret-value")
    monkeypatch.delenv("ASSAY_TEST_UNSET_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    project.model("strong", "strong-q8", api_key_env="ASSAY_TEST_SET_KEY", concurrency=4, rpm=120,
                  price={"input_per_mtok": 2.5, "output_per_mtok": 10})
    project.model("weak", "weak-q4", api_key_env="ASSAY_TEST_UNSET_KEY")
    project.models["claude"] = {"provider": "anthropic", "model": "claude-x"}
    project.write_config()
    rows = _list(project)
    assert sorted(rows) == ["claude", "judge", "strong", "weak"]
    assert rows["strong"] == {
        "label": "strong", "provider": "openai", "model": "strong-q8", "base_url": project.server.url,
        "concurrency": 4, "rpm": 120.0, "price": {"input_per_mtok": 2.5, "output_per_mtok": 10.0},
        "api_key_env": "ASSAY_TEST_SET_KEY", "api_key_set": True}
    assert (rows["weak"]["api_key_env"], rows["weak"]["api_key_set"]) == ("ASSAY_TEST_UNSET_KEY", False)
    assert (rows["judge"]["api_key_env"], rows["judge"]["api_key_set"]) == (None, None)  # a local server, no key
    assert (rows["claude"]["api_key_env"], rows["claude"]["api_key_set"]) == ("ANTHROPIC_API_KEY", False)
    table = project.cli("models", "list").output
    assert "strong" in table and "ASSAY_TEST_SET_KEY" in table and "not set" in table
    for output in (table, project.cli("models", "list", "--json").output):
        assert "sk-very-secret-value" not in output


def test_list_reads_the_config_given_with_config(project: Project, tmp_path, monkeypatch) -> None:
    path = project.write_config()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = project.cli("models", "list", ok=False)
    assert result.exit_code == 2 and "no project config" in result.output
    assert set(_list(project, "--config", str(path))) == {"strong", "weak", "judge"}


def test_test_reports_a_working_model(project: Project) -> None:
    project.write_config()
    result = json.loads(project.cli("models", "test", "strong", "--json").stdout)
    assert result["label"] == "strong" and result["model"] == "strong-q8"
    assert result["plain"]["ok"] and result["plain"]["answer"].startswith("[strong-q8] quality=8.")
    assert "Reply with the word ok." in result["plain"]["answer"]  # the fake echoes the prompt
    assert result["plain"]["latency_ms"] >= 0
    assert result["structured"]["ok"] and 1 <= result["structured"]["score"] <= 5
    assert project.server.stats()["by_call"] == {"generate": 1, "judge": 1}
    text = project.cli("models", "test", "strong").output
    assert "plain call:        ok" in text and "structured output: ok" in text


def test_test_shows_a_model_whose_structured_output_fails(project: Project) -> None:
    project.model("sloppy", "sloppy-judge")
    project.write_config()
    project.server.set_faults([{"fault": "malformed", "call": "judge", "model": "sloppy-judge"}])
    result = project.cli("models", "test", "sloppy")  # the plain call works: exit 0
    assert "plain call:        ok" in result.output
    assert "structured output: failed" in result.output and "not valid JSON" in result.output
    assert "The score is probably high" in result.output  # what it answered instead
    data = json.loads(project.cli("models", "test", "sloppy", "--json").stdout)
    assert data["plain"]["ok"] and not data["structured"]["ok"]


def test_test_fails_with_exit_1_when_the_plain_call_fails(project: Project) -> None:
    project.model("broken", "broken-model")
    project.write_config()
    project.server.set_faults([{"fault": "401", "model": "broken-model"}])
    result = project.cli("models", "test", "broken", ok=False)
    assert result.exit_code == 1
    assert "plain call:        failed" in result.output and "HTTP 401" in result.output
    assert "structured output: skipped" in result.output
    assert project.server.stats()["calls"] == 1  # 401 is not retried, and the structured call is skipped
    data = json.loads(project.cli("models", "test", "broken", "--json", ok=False).stdout)
    assert data["plain"]["ok"] is False and "HTTP 401" in data["plain"]["error"]


def test_test_retries_a_rate_limited_model(project: Project) -> None:
    project.write_config()
    project.server.set_faults([{"fault": "429", "times": 1, "retry_after": 0, "call": "generate"}])
    result = json.loads(project.cli("models", "test", "weak", "--json").stdout)
    assert result["plain"]["ok"] and project.server.stats()["calls"] == 3


def test_test_names_the_entries_when_the_name_is_unknown(project: Project) -> None:
    project.write_config()
    result = project.cli("models", "test", "nope", ok=False)
    assert result.exit_code == 2
    assert "no model entry 'nope'" in result.output and "judge, strong, weak" in result.output


def test_test_reports_a_missing_key_cleanly(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_TEST_UNSET_KEY", raising=False)
    project.model("keyed", "keyed-model", api_key_env="ASSAY_TEST_UNSET_KEY")
    project.write_config()
    result = project.cli("models", "test", "keyed", ok=False)
    assert result.exit_code == 2 and "ASSAY_TEST_UNSET_KEY" in result.output and "Traceback" not in result.output
    assert project.server.stats()["calls"] == 0


def test_a_dataset_entry_has_nothing_to_test(project) -> None:
    project.models["captured"] = {"provider": "dataset"}
    project.write_config()
    result = project.cli("models", "test", "captured", ok=False)
    assert result.exit_code == 2 and "calls no model" in result.output
