"""Load rubrics from YAML files or inline mappings, with errors that name the file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assay.errors import RubricError
from assay.rubric.model import Rubric
from assay.validation import describe_validation_error
from assay.yamlfile import load_yaml


def rubric_from_mapping(data: Any, *, where: str) -> Rubric:
    if not isinstance(data, dict):
        raise RubricError(f"{where}: a rubric must be a mapping with name, kind, description, ...")
    try:
        return Rubric.model_validate(data)
    except ValidationError as e:
        raise RubricError(describe_validation_error(e, f"invalid rubric in {where}", Rubric)) from None


def load_rubric(path: str | Path) -> Rubric:
    path = Path(path)
    return rubric_from_mapping(load_yaml(path, "rubric file", RubricError), where=str(path))
