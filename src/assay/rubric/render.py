"""Rendering a rubric's judge template for one sample: the user message the judge receives."""

from __future__ import annotations

from typing import Any

import jinja2

from assay.dataset.records import Sample
from assay.errors import RubricError
from assay.rubric.model import Rubric
from assay.rubric.template import PAIR_VARS, RESPONSE_VAR, compile_template, fence, format_context


def _values(rubric: Rubric, sample: Sample) -> dict[str, Any]:
    if rubric.needs_reference and sample.reference is None:
        raise RubricError(f"rubric {rubric.name!r} needs a reference, and sample {sample.id!r} has none")
    return {
        "rubric_name": rubric.name,
        "rubric_description": rubric.description,
        "score_min": rubric.scale.min,
        "score_max": rubric.scale.max,
        "score_levels": "\n".join(f"{k}: {v}" for k, v in sorted(rubric.levels.items())),
        "conversation_context": fence("conversation_context", format_context(sample.context)),
        "conversation_response": fence("conversation_response", sample.reference or ""),
        "has_reference": sample.reference is not None,
    }


def _render(rubric: Rubric, values: dict[str, Any]) -> str:
    try:
        return compile_template(rubric.effective_template).render(values)
    except jinja2.TemplateError as e:  # e.g. a filter or method the values don't support
        raise RubricError(f"rubric {rubric.name!r}: its template fails to render: {e}") from None


def render(rubric: Rubric, sample: Sample, response: str) -> str:
    """The user message the judge receives for one sample and one candidate response."""
    values = _values(rubric, sample)
    values[RESPONSE_VAR] = fence(RESPONSE_VAR, response)
    return _render(rubric, values)


def render_pair(rubric: Rubric, sample: Sample, response_a: str, response_b: str) -> str:
    """The user message a pairwise judge receives: one sample, two responses in the order given."""
    values = _values(rubric, sample)
    values[PAIR_VARS[0]] = fence(PAIR_VARS[0], response_a)
    values[PAIR_VARS[1]] = fence(PAIR_VARS[1], response_b)
    return _render(rubric, values)


def check_renders(rubric: Rubric, sample: Sample) -> None:
    """Render once with placeholder outputs, so a template that can't render fails before a run starts."""
    if rubric.kind == "pairwise":
        render_pair(rubric, sample, "response A", "response B")
    elif not (rubric.needs_reference and sample.reference is None):
        render(rubric, sample, "a response")
