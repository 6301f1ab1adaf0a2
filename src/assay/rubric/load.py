"""Load rubrics from YAML files or inline mappings, with errors that name the file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assay.errors import RubricError
from assay.rubric.model import Rubric
from assay.validation import describe_validation_error


def rubric_from_mapping(data: Any, *, where: str) -> Rubric:
    if not isinstance(data, dict):
        raise RubricError(f"{where}: a rubric must be a mapping with name, kind, description, ...")
    try:
        return Rubric.model_validate(data)
    except ValidationError as e:
        raise RubricError(describe_validation_error(e, f"invalid rubric in {where}", Rubric)) from None


def load_rubric(path: str | Path) -> Rubric:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RubricError(f"can't read rubric file {path}: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise RubricError(f"{path}:{line} is not valid YAML: {getattr(e, 'problem', e)}") from None
    return rubric_from_mapping(data, where=str(path))
