"""The judge: what it is asked (rubric prompt, verdict schema) and how its answer becomes a verdict or a failure."""

from typing import Any

from assay.dataset.records import Sample
from assay.judge.verdict import (
    PAIR_SCALES,
    PairVerdict,
    Verdict,
    VerdictError,
    pairwise_schema,
    parse_pair_verdict,
    parse_verdict,
    verdict_schema,
)
from assay.judge.weighted import NoLogprobsError, weigh_pair_verdict
from assay.rubric import (
    FIVE_POINT_SYSTEM_PROMPT,
    JUDGE_SYSTEM_PROMPT,
    PAIRWISE_SYSTEM_PROMPT,
    Rubric,
    render,
    render_pair,
)


def judge_messages(rubric: Rubric, sample: Sample, response: str) -> list[dict[str, Any]]:
    """The judge sees only what the rubric gives it: a fixed system prompt and the rendered template."""
    return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": render(rubric, sample, response)}]


def pairwise_messages(rubric: Rubric, sample: Sample, first: str, second: str) -> list[dict[str, Any]]:
    """A pairwise judge's messages: `first` is shown as response A, `second` as response B."""
    system = FIVE_POINT_SYSTEM_PROMPT if rubric.pair_options.scale == "five-point" else PAIRWISE_SYSTEM_PROMPT
    return [{"role": "system", "content": system},
            {"role": "user", "content": render_pair(rubric, sample, first, second)}]


__all__ = ["PAIR_SCALES", "NoLogprobsError", "PairVerdict", "Verdict", "VerdictError", "judge_messages",
           "pairwise_messages", "pairwise_schema", "parse_pair_verdict", "parse_verdict", "verdict_schema",
           "weigh_pair_verdict"]
