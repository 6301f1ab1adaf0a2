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
            typo = str(e["loc"][-1])
            close = [f for f in difflib.get_close_matches(typo, _field_names(err.title, e["loc"][:-1])) if f != typo]
            if close:
                msg += f"; did you mean {close[0]!r}?"
        parts.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return f"{where}:\n" + "\n".join(parts)


def _field_names(title: str, parent: tuple[Any, ...]) -> list[str]:
    """The fields of the record where an unknown field was found, to suggest the intended spelling."""
    from assay.config.models import ModelSpec, Price
    from assay.config.spec import DatasetRef, EvalSpec, RunSettings
    from assay.rubric.model import Rubric, Scale

    records: dict[str, Any] = {m.__name__: m for m in (ModelSpec, Price, EvalSpec, RunSettings, DatasetRef, Rubric,
                                                       Scale)}
    model = records.get(title)
    for name in parent:  # walk into nested records: price.input_per_mtok, scale.min, ...
        field = model.model_fields.get(str(name)) if model is not None else None
        annotation = str(field.annotation) if field is not None else ""
        model = next((r for n, r in records.items() if n in annotation), None)
    return list(model.model_fields) if model is not None else []


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
