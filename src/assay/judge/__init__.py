"""The judge: what it is asked (rubric prompt, verdict schema) and how its answer becomes a verdict or a failure."""

from typing import Any

from assay.dataset.records import Sample
from assay.judge.verdict import (PairVerdict, Verdict, VerdictError, pairwise_schema, parse_pair_verdict,
                                 parse_verdict, verdict_schema)
from assay.rubric import JUDGE_SYSTEM_PROMPT, PAIRWISE_SYSTEM_PROMPT, Rubric, render, render_pair


def judge_messages(rubric: Rubric, sample: Sample, response: str) -> list[dict[str, Any]]:
    """The judge sees only what the rubric gives it: a fixed system prompt and the rendered template."""
    return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": render(rubric, sample, response)}]


def pairwise_messages(rubric: Rubric, sample: Sample, first: str, second: str) -> list[dict[str, Any]]:
    """A pairwise judge's messages: `first` is shown as response A, `second` as response B."""
    return [{"role": "system", "content": PAIRWISE_SYSTEM_PROMPT},
            {"role": "user", "content": render_pair(rubric, sample, first, second)}]


__all__ = ["PairVerdict", "Verdict", "VerdictError", "judge_messages", "pairwise_messages", "pairwise_schema",
           "parse_pair_verdict", "parse_verdict", "verdict_schema"]
