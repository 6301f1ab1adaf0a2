"""Specs, the project config, dataset commands and `assay init`, through the CLI: clean errors, no tracebacks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from assay.config import load_spec
from assay.errors import SpecError
from conftest import Project, chat_rows, write_jsonl


def _fails(project: Project, *args: str) -> str:
    result = project.cli(*args, ok=False)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    return result.output


def test_spec_references_config_labels_and_inline_models(project: Project) -> None:
    path = project.spec(candidates=["strong", {"label": "inline", "provider": "openai", "model": "x-q6",
                                               "base_url": project.server.url},
                                    {"use": "weak", "label": "weak-hot", "temperature": 0.9}], judge="inline")
    spec = load_spec(path)
    assert [c.label for c in spec.candidates] == ["strong", "inline", "weak-hot"]
    assert spec.candidates[2].model == "weak-q4" and spec.candidates[2].temperature == 0.9
    assert spec.judge.label == "inline"
    assert spec.candidates[2].identity != spec.candidates[0].identity


@pytest.mark.parametrize("change, message", [
    ({"candidates": ["nobody"]}, "unknown model label 'nobody'"),
    ({"candidates": []}, "non-empty list"),
    ({"judge": None}, "a model entry must be a mapping"),
    ({"rubrics": ["missing.yaml"]}, "rubric file 'missing.yaml' not found"),
    ({"dataset": "gone.jsonl"}, "dataset file 'gone.jsonl' not found"),
    ({"candidtes": ["strong"]}, "unknown key(s) candidtes"),
    ({"settings": {"judge_retries": -1}}, "judge_retries"),
    ({"candidates": ["strong", "strong"]}, "candidate labels must be unique"),
    ({"settings": [1, 2]}, "'settings' must be a mapping"),
    ({"dataset": {"name": "d", "path": "nope.jsonl"}}, "dataset file 'nope.jsonl' not found"),
])
def test_bad_specs_fail_with_the_field_named(project: Project, change: dict, message: str) -> None:
    path = project.spec(candidates=["strong"])
    data = yaml.safe_load(path.read_text())
    data.update(change)
    path.write_text(yaml.safe_dump(data))
    out = _fails(project, "run", str(path))
    assert message in out and "spec.yaml" in out
    assert not project.db.exists() or json.loads(project.cli("runs", "--json").stdout) == []


def test_bad_model_entries_in_the_project_config(project: Project) -> None:
    project.models["strong"]["temprature"] = 1
    out = _fails(project, "run", str(project.spec(candidates=["strong"])))
    assert "assay.yaml: models[strong]" in out and "did you mean 'temperature'" in out


def test_missing_api_key_env_is_reported_before_any_call(project: Project, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    project.model("strong", "strong-q8", api_key_env="NO_SUCH_KEY_VAR")
    out = _fails(project, "run", str(project.spec(candidates=["strong"])))
    assert "NO_SUCH_KEY_VAR" in out and "not set" in out
    assert project.server.stats()["calls"] == 0


def test_offline_guard_refuses_hosted_apis(project: Project) -> None:
    project.models["strong"] = {"provider": "openai", "model": "gpt-x", "api_key_env": "HOME"}
    out = _fails(project, "run", str(project.spec(candidates=["strong"])))
    assert "ASSAY_OFFLINE=1 forbids calling api.openai.com" in out


def test_adherence_rubric_on_a_dataset_without_references(project: Project) -> None:
    write_jsonl(project.root / "data.jsonl", chat_rows(3, reference=False))
    project.rubric("close", kind="adherence")
    out = _fails(project, "run", str(project.spec(candidates=["strong"], rubrics=["close.yaml"])))
    assert "need a reference" in out and "3 row(s)" in out
    _assert_nothing_written(project)


def _assert_nothing_written(project: Project) -> None:
    """A run refused before it starts leaves the database as it was: no dataset imported, nothing recorded."""
    with sqlite3.connect(project.db) as db:
        counts = {t: db.execute(f"select count(*) from {t}").fetchone()[0]
                  for t in ("datasets", "dataset_rows", "rubrics", "models", "runs", "calls")}
    assert set(counts.values()) == {0}, counts


def test_a_run_refused_for_a_missing_key_imports_nothing(project: Project, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    project.model("strong", "strong-q8", api_key_env="NO_SUCH_KEY_VAR")
    out = _fails(project, "run", str(project.spec(candidates=["strong"])))
    assert "NO_SUCH_KEY_VAR" in out
    _assert_nothing_written(project)
    assert project.server.stats()["calls"] == 0


def test_dataset_provider_rows_missing_outputs(project: Project) -> None:
    write_jsonl(project.root / "rows.jsonl", [{"id": "a", "input": "x", "outputs": {"prod": "y"}},
                                              {"id": "b", "input": "z"}])
    project.models["prod"] = {"provider": "dataset"}
    out = _fails(project, "run", str(project.spec(candidates=["prod"], dataset="rows.jsonl")))
    assert "outputs.prod" in out and "first: b" in out


def test_dataset_import_list_show_export_round_trip(project: Project, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", chat_rows(4))
    first = json.loads(project.cli("dataset", "import", str(src), "--name", "qa", "--json").stdout)
    again = json.loads(project.cli("dataset", "import", str(src), "--name", "qa", "--json").stdout)
    assert first["created"] and not again["created"] and first["version"] == again["version"]
    assert first["format"] == "chat" and first["rows"] == 4
    listed = json.loads(project.cli("dataset", "list", "--json").stdout)
    assert [(d["name"], d["n_rows"]) for d in listed] == [("qa", 4)]
    shown = json.loads(project.cli("dataset", "show", "qa", "--json").stdout)
    assert shown["rows"][0]["reference"] == "0 plus 0 is 0."
    exported = project.cli("dataset", "export", "qa", "--format", "chat").stdout
    assert [json.loads(line) for line in exported.splitlines()] == [json.loads(line) for line in src.read_text().splitlines()]
    # Changed content is a new version under the same name.
    write_jsonl(src, chat_rows(5))
    third = json.loads(project.cli("dataset", "import", str(src), "--name", "qa", "--json").stdout)
    assert third["created"] and third["version"] != first["version"]


def test_dataset_import_reports_invalid_rows_with_line_numbers(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"input": "ok"}\n{"input": "also ok", "refrence": "x"}\nnot json\n')
    out = project.cli("dataset", "import", str(path), "--name", "d").output
    assert "d.jsonl:2" in out and "refrence" in out and "d.jsonl:3" in out and "1 row (" in out
    strict = _fails(project, "dataset", "import", str(path), "--name", "d2", "--strict")
    assert "d.jsonl:2" in strict
    assert [d["name"] for d in json.loads(project.cli("dataset", "list", "--json").stdout)] == ["d"]


def test_a_mixed_file_is_rejected_whole(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"input": "a"}\n{"messages": [{"role": "user", "content": "b"}]}\n')
    assert "mixed formats" in _fails(project, "dataset", "import", str(path))
    assert json.loads(project.cli("dataset", "list", "--json").stdout) == []


def test_unknown_run_and_dataset(project: Project) -> None:
    assert "no run 'nope'" in _fails(project, "results", "nope")
    assert "no dataset named 'nope'" in _fails(project, "dataset", "show", "nope")


def test_init_writes_a_runnable_starter(project: Project, tmp_path: Path) -> None:
    target = tmp_path / "starter"
    project.cli("init", str(target))
    spec = load_spec(target / "eval.yaml")
    assert [c.label for c in spec.candidates] == ["smol-terse", "smol-chatty"]
    assert {r.kind for r in spec.rubrics} == {"direct", "adherence"}
    assert "not overwriting" in _fails(project, "init", str(target))


def test_quickstart_example_is_the_starter() -> None:
    root = Path(__file__).parents[1]
    for name in ("assay.yaml", "eval.yaml", "data.jsonl", "rubrics/helpfulness.yaml"):
        assert (root / "examples/quickstart" / name).read_text() == (root / "src/assay/starter" / name).read_text()


def test_load_spec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="can't read spec"):
        load_spec(tmp_path / "nope.yaml")


def test_a_spec_can_name_a_shipped_template(project: Project) -> None:
    path = project.spec(candidates=["strong"], rubrics=[{"template": "accuracy"},
                                                        {"template": "tone", "name": "polite", "scale": {"min": 1, "max": 3}}])
    spec = load_spec(path)
    assert [r.name for r in spec.rubrics] == ["accuracy", "polite"]
    assert (spec.rubrics[1].scale.min, spec.rubrics[1].scale.max) == (1, 3)
    data = yaml.safe_load(path.read_text())
    data["rubrics"] = [{"template": "no-such-template"}]
    path.write_text(yaml.safe_dump(data))
    assert "no-such-template" in _fails(project, "run", str(path))


def test_a_spec_entry_may_rename_a_configured_model(project: Project) -> None:
    spec = load_spec(project.spec(candidates=["strong", {"use": "strong", "label": "strong-copy"}]))
    assert [c.label for c in spec.candidates] == ["strong", "strong-copy"]
    assert spec.candidates[1].model == "strong-q8"


def test_skipped_rows_of_a_spec_dataset_are_reported(project: Project) -> None:
    with open(project.root / "data.jsonl", "a") as f:
        f.write('{"input": "x", "refrence": "typo"}\n')
    result = project.cli("run", str(project.spec(candidates=["strong"])), "--json")
    assert "skipped 1 invalid row(s)" in result.stderr and "refrence" in result.stderr
    path = project.spec(candidates=["strong"], dataset={"name": "data", "path": "data.jsonl", "strict": True})
    assert "strict" in _fails(project, "run", str(path))


def test_a_template_that_cannot_render_fails_before_the_run(project: Project) -> None:
    project.rubric(template="{% for k, v in score_levels.items() %}{{ k }}{% endfor %}{{ eval_model_response }}")
    out = _fails(project, "run", str(project.spec(candidates=["strong"])))
    assert "fails to render" in out and project.server.stats()["calls"] == 0


def test_an_unknown_version_of_a_known_dataset(project: Project, tmp_path: Path) -> None:
    project.cli("dataset", "import", str(write_jsonl(tmp_path / "d.jsonl", chat_rows(2))), "--name", "qa")
    out = _fails(project, "dataset", "show", "qa@deadbeef")
    assert "dataset 'qa' has no version starting with 'deadbeef'" in out


def test_an_override_of_a_local_model_resolves_its_new_path_beside_the_spec(project: Project) -> None:
    """`{use: LABEL, options: {path: ...}}` re-resolves a relative GGUF path against the spec's folder (it used
    to be joined to the configured model entry itself, and crashed)."""
    (project.root / "tuned.gguf").write_text("not a model")
    project.models["judge"] = {"provider": "local", "options": {"path": "broken.gguf"}}
    spec = project.spec(candidates=["strong"], judge={"use": "judge", "options": {"path": "tuned.gguf"}})
    assert load_spec(spec).judge.options["path"] == str((project.root / "tuned.gguf").resolve())
