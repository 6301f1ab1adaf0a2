"""The judge's verdict: the JSON schema it is asked for, and strict parsing of its own answer.

Only the judge's answer is parsed, and only as a whole JSON object: nothing is scraped from free text, so a
candidate output that contains `{"score": 10}` can never become a verdict.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from assay.rubric import Rubric

_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Verdict:
    score: float
    reasoning: str


class VerdictError(ValueError):
    """The judge's answer is not a valid verdict; the message says why."""


def verdict_schema(rubric: Rubric) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "score": {"type": "integer", "minimum": rubric.scale.min, "maximum": rubric.scale.max},
        },
        "required": ["reasoning", "score"],
        "additionalProperties": False,
    }


@dataclass(frozen=True, slots=True)
class PairVerdict:
    winner: str  # "A", "B" or "tie": positions as shown to the judge
    reasoning: str


WINNERS = ("A", "B", "tie")


def pairwise_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"reasoning": {"type": "string"}, "winner": {"type": "string", "enum": list(WINNERS)}},
        "required": ["reasoning", "winner"],
        "additionalProperties": False,
    }


def _json_object(text: str) -> dict[str, Any]:
    """The judge's whole answer as one JSON object (a surrounding code fence allowed), or VerdictError."""
    body = text.strip()
    fenced = _FENCE.match(body)  # some servers wrap JSON mode answers in a code fence
    if fenced:
        body = fenced.group(1).strip()
    if not body:
        raise VerdictError("the judge returned an empty answer")
    try:
        data = json.loads(body)
    except ValueError:
        raise VerdictError("the judge's answer is not valid JSON") from None
    if not isinstance(data, dict):
        raise VerdictError("the judge's answer is JSON but not an object")
    reasoning = data.get("reasoning", "")
    if not isinstance(reasoning, str):
        raise VerdictError("the judge's 'reasoning' is not a string")
    return data


def parse_pair_verdict(text: str) -> PairVerdict:
    data = _json_object(text)
    winner = data.get("winner")
    normal = {"a": "A", "b": "B", "tie": "tie"}.get(winner.strip().lower()) if isinstance(winner, str) else None
    if normal is None:
        raise VerdictError(f"the judge's winner must be \"A\", \"B\" or \"tie\"; got {winner!r}")
    return PairVerdict(winner=normal, reasoning=data.get("reasoning", ""))


def parse_verdict(text: str, rubric: Rubric) -> Verdict:
    data = _json_object(text)
    if "score" not in data:
        raise VerdictError("the judge's answer has no 'score'")
    score = data["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise VerdictError(f"the judge's score is not a number: {score!r}")
    lo, hi = rubric.scale.min, rubric.scale.max
    if not lo <= score <= hi:
        raise VerdictError(f"the judge's score {score:g} is outside the rubric's scale {lo}-{hi}")
    return Verdict(score=float(score), reasoning=data.get("reasoning", ""))
