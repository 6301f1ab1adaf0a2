"""The judge: what it is asked (rubric prompt, verdict schema) and how its answer becomes a verdict or a failure."""

from typing import Any

from assay.dataset.records import Sample
from assay.judge.verdict import Verdict, VerdictError, parse_verdict, verdict_schema
from assay.rubric import JUDGE_SYSTEM_PROMPT, Rubric, render


def judge_messages(rubric: Rubric, sample: Sample, response: str) -> list[dict[str, Any]]:
    """The judge sees only what the rubric gives it: a fixed system prompt and the rendered template."""
    return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": render(rubric, sample, response)}]


__all__ = ["Verdict", "VerdictError", "judge_messages", "parse_verdict", "verdict_schema"]
