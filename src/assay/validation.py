"""Pydantic validation errors as messages a person can act on: one `field: problem` line each, and the likely
spelling when a field name is mistyped. Shared by the spec, project config and rubric loaders."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError


def describe_validation_error(err: ValidationError, where: str, model: type[BaseModel] | None = None) -> str:
    """A pydantic error as lines of `field: problem` under `where`. Given the record validated (`model`), an
    unknown field gets a suggestion from the fields of the record it was found in."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
            typo = str(e["loc"][-1])
            close = [f for f in difflib.get_close_matches(typo, _field_names(model, e["loc"][:-1])) if f != typo]
            if close:
                msg += f"; did you mean {close[0]!r}?"
        parts.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return f"{where}:\n" + "\n".join(parts)


def _field_names(model: type[BaseModel] | None, parent: tuple[Any, ...]) -> list[str]:
    """The fields of the record at `parent` inside `model` (walking into nested records: scale.min,
    price.input_per_mtok, candidates.0.temperature, ...)."""
    for name in parent:
        if model is None:
            return []
        if isinstance(name, int):
            continue  # an index into a list or tuple of records: stay with the item's record
        fields = {f.alias or n: f for n, f in model.model_fields.items()}  # by the name written in YAML
        field = fields.get(str(name))
        model = _record_in(field.annotation) if field is not None else None
    return [f.alias or n for n, f in model.model_fields.items()] if model is not None else []


def _record_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic record an annotation holds: `Scale`, `Price | None`, `tuple[ModelSpec, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _record_in(arg)
        if found is not None:
            return found
    return None
