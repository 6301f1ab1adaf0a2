"""Every YAML file assay reads goes through one loader, which refuses a key given twice in one mapping (YAML
itself would let the last one win silently) and names the file and both lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.config import load_project_models, load_spec
from assay.errors import RubricError, SpecError
from assay.rubric import load_rubric
from assay.yamlfile import load_yaml
from conftest import Project


def test_a_repeated_top_level_key_in_a_spec_is_refused(project: Project) -> None:
    path = project.spec(candidates=["strong"])
    text = path.read_text()
    path.write_text(text + "candidates: [weak]\n")
    line = len(text.splitlines()) + 1
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert f"{path}: line {line}: duplicate key 'candidates'" in message
    first = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("candidates:"))
    assert f"first given on line {first}" in message
    result = project.cli("run", str(path), ok=False)
    assert result.exit_code == 2 and "duplicate key 'candidates'" in result.output
    assert "Traceback" not in result.output


def test_a_model_label_given_twice_in_the_project_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "assay.yaml"
    path.write_text("models:\n  judge:\n    provider: openai\n    model: a\n"
                    "  judge:\n    provider: openai\n    model: b\n")
    with pytest.raises(SpecError, match=r"assay.yaml: line 5: duplicate key 'judge' \(first given on line 2\)"):
        load_project_models(path)


def test_a_repeated_key_inside_a_list_item_is_refused(project: Project) -> None:
    path = project.spec(candidates=["strong"])
    path.write_text(path.read_text().replace("- strong", "- {use: strong, temperature: 0.1, temperature: 0.9}"))
    with pytest.raises(SpecError, match="duplicate key 'temperature'"):
        load_spec(path)


def test_a_level_given_twice_in_a_rubric_file_is_refused(project: Project) -> None:
    path = project.root / "twice.yaml"
    path.write_text("name: twice\ndescription: Are the facts right?\nscale: {min: 1, max: 3}\n"
                    "levels:\n  1: wrong\n  3: right\n  1: mostly wrong\n")
    with pytest.raises(RubricError, match=r"twice.yaml: line 7: duplicate key 1 \(first given on line 5\)"):
        load_rubric(path)
    result = project.cli("rubric", "lint", str(path), ok=False)
    assert result.exit_code == 1 and "duplicate key 1" in result.output


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    """`<<: *base` then a key of the base is an override YAML defines, not a repeat."""
    path = tmp_path / "a.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  x: 3\n")
    assert load_yaml(path, "file", SpecError) == {"base": {"x": 1, "y": 2}, "item": {"x": 3, "y": 2}}


def test_invalid_yaml_and_unreadable_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: r\ndescription: [unclosed\n")
    with pytest.raises(RubricError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_yaml(path, "rubric file", RubricError)
    with pytest.raises(SpecError, match="can't read spec .*missing.yaml"):
        load_yaml(tmp_path / "missing.yaml", "spec", SpecError)
