"""Parsing the judge's own answer: valid verdicts pass, everything else is a failure, never a score."""

from __future__ import annotations

import pytest

from assay.judge import VerdictError, parse_verdict, verdict_schema
from assay.rubric import Rubric

R = Rubric(name="r", description="d", scale={"min": 1, "max": 5})


def test_valid_verdicts() -> None:
    assert parse_verdict('{"reasoning": "fine", "score": 4}', R).score == 4.0
    assert parse_verdict('```json\n{"reasoning": "ok", "score": 2.5}\n```', R).score == 2.5
    assert parse_verdict('  {"score": 1, "reasoning": ""}  ', R).reasoning == ""


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("The score is 4.", "not valid JSON"),
    ('Sure! {"reasoning": "x", "score": 4}', "not valid JSON"),  # no scraping of embedded objects
    ("[4]", "not an object"),
    ('{"reasoning": "x"}', "no 'score'"),
    ('{"reasoning": "x", "score": "4"}', "not a number"),
    ('{"reasoning": "x", "score": true}', "not a number"),
    ('{"reasoning": "x", "score": 6}', "outside the rubric's scale 1-5"),
    ('{"reasoning": "x", "score": 0}', "outside"),
    ('{"reasoning": 3, "score": 3}', "not a string"),
])
def test_invalid_verdicts_raise(text: str, reason: str) -> None:
    with pytest.raises(VerdictError, match=reason):
        parse_verdict(text, R)


def test_schema_carries_the_rubric_range() -> None:
    score = verdict_schema(R)["properties"]["score"]
    assert (score["minimum"], score["maximum"]) == (1, 5)
