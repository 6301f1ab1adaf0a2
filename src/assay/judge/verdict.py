"""The judge's verdict: the JSON schema it is asked for, and strict parsing of its own answer.

Only the judge's answer is parsed, and only as a whole JSON object: nothing is scraped from free text, so a
candidate output that contains `{"score": 10}` can never become a verdict. A parsed verdict is a frozen
pydantic model; anything the model refuses is a `VerdictError` (an unusable verdict, retried then failed).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assay.rubric import Rubric

_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


class VerdictError(ValueError):
    """The judge's answer is not a valid verdict; the message says why."""


class Verdict(BaseModel):
    """A score on the rubric's integer scale, with the judge's reasoning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float
    reasoning: str = ""


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


# A pairwise scale: the JSON field the judge answers in, and each allowed answer with response A's outcome
# (1 = A better, 0.5 = tie, 0 = B better).
PAIR_SCALES: dict[str, tuple[str, dict[str, float]]] = {
    "three-point": ("winner", {"A": 1.0, "B": 0.0, "tie": 0.5}),  # this order is in every cached request key
    "five-point": ("verdict", {"A>>B": 1.0, "A>B": 0.75, "A=B": 0.5, "B>A": 0.25, "B>>A": 0.0}),
}
WINNERS = tuple(PAIR_SCALES["three-point"][1])


class PairVerdict(BaseModel):
    """A pairwise verdict, by position as shown to the judge (response A, response B)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: str                                 # the judge's answer in its scale's words: "A", "tie", "A>B", ...
    preference: float = Field(ge=0.0, le=1.0)   # response A's outcome; a probability for a weighted verdict
    reasoning: str = ""
    weighted: bool = False                      # preference is the judge's probability, not its answer's value

    @property
    def position(self) -> str:
        """The side the judge's answer favours: "A", "B" or "tie"."""
        value = _scale_of(self.answer)[1][self.answer]
        return "A" if value > 0.5 else "B" if value < 0.5 else "tie"

    @property
    def winner(self) -> str:
        """The better response by preference: "A", "B" or "tie"."""
        return "A" if self.preference > 0.5 else "B" if self.preference < 0.5 else "tie"


def _scale_of(answer: str) -> tuple[str, dict[str, float]]:
    return next(s for s in PAIR_SCALES.values() if answer in s[1])


def pair_scale(rubric: Rubric | None) -> str:
    return rubric.pair_options.scale if rubric is not None else "three-point"


def pairwise_schema(rubric: Rubric | None = None) -> dict[str, Any]:
    field, answers = PAIR_SCALES[pair_scale(rubric)]
    return {
        "type": "object",
        "properties": {"reasoning": {"type": "string"}, field: {"type": "string", "enum": list(answers)}},
        "required": ["reasoning", field],
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


def _normal_answer(value: Any, answers: dict[str, float]) -> str | None:
    """The allowed answer `value` spells, ignoring case and surrounding space ("a" is "A", "TIE" is "tie")."""
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    return next((a for a in answers if a.lower() == key), None)


def parse_pair_verdict(text: str, rubric: Rubric | None = None) -> PairVerdict:
    """The judge's answer on the rubric's pairwise scale (three-point when no rubric is given)."""
    data = _json_object(text)
    field, answers = PAIR_SCALES[pair_scale(rubric)]
    answer = _normal_answer(data.get(field), answers)
    if answer is None:
        allowed = ", ".join(f'"{a}"' for a in answers)
        raise VerdictError(f"the judge's {field} must be one of {allowed}; got {data.get(field)!r}")
    return PairVerdict(answer=answer, preference=answers[answer], reasoning=data.get("reasoning", ""))


def parse_verdict(text: str, rubric: Rubric) -> Verdict:
    data = _json_object(text)
    if "score" not in data:
        raise VerdictError("the judge's answer has no 'score'")
    score = data["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise VerdictError(f"the judge's score is not a number: {score!r}")
    lo, hi = rubric.scale.min, rubric.scale.max
    if not float(score).is_integer():
        # The scale is integers: a half point is not a score the rubric defines, so it is not rounded either way.
        raise VerdictError(f"the judge's score {score:g} is not a whole number on the rubric's scale {lo}-{hi}")
    if not lo <= score <= hi:
        raise VerdictError(f"the judge's score {score:g} is outside the rubric's scale {lo}-{hi}")
    return Verdict(score=float(score), reasoning=data.get("reasoning", ""))
