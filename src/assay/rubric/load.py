"""Load rubrics from YAML files or inline mappings, with errors that name the file and field."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assay.errors import RubricError
from assay.rubric.model import Rubric


def describe_validation_error(err: ValidationError, where: str) -> str:
    """A pydantic error as lines of `field: problem`, with a suggestion for a mistyped field name."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
            model = err.title
            fields = _field_names(model)
            close = difflib.get_close_matches(str(e["loc"][-1]), fields, n=1)
            if close:
                msg += f"; did you mean {close[0]!r}?"
        parts.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return f"{where}:\n" + "\n".join(parts)


def _field_names(title: str) -> list[str]:
    """Field names of the records users write, to suggest the right spelling of a mistyped one."""
    from assay.config.models import ModelSpec, Price
    from assay.config.spec import DatasetRef, EvalSpec, RunSettings
    from assay.rubric.model import Rubric, Scale
    names: list[str] = []
    for model in (ModelSpec, Price, EvalSpec, RunSettings, DatasetRef, Rubric, Scale):
        names.extend(model.model_fields)
    return names


def rubric_from_mapping(data: Any, *, where: str) -> Rubric:
    if not isinstance(data, dict):
        raise RubricError(f"{where}: a rubric must be a mapping with name, kind, description, ...")
    try:
        return Rubric.model_validate(data)
    except ValidationError as e:
        raise RubricError(describe_validation_error(e, f"invalid rubric in {where}")) from None


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
