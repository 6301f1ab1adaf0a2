"""Parsing the judge's own answer: valid verdicts pass, everything else is a failure, never a score."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from assay.dataset.records import Message, Sample
from assay.judge import (
    PairVerdict,
    VerdictError,
    pairwise_messages,
    pairwise_schema,
    parse_pair_verdict,
    parse_verdict,
    verdict_schema,
)
from assay.rubric import Rubric

R = Rubric(name="r", description="d", scale={"min": 1, "max": 5})
SAMPLE = Sample(id="s", context=(Message(role="user", content="hi"),))


def test_valid_verdicts() -> None:
    assert parse_verdict('{"reasoning": "fine", "score": 4}', R).score == 4.0
    assert parse_verdict('```json\n{"reasoning": "ok", "score": 2}\n```', R).score == 2.0
    assert parse_verdict('{"reasoning": "ok", "score": 3.0}', R).score == 3.0  # a whole number, written as a float
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
    ('{"reasoning": "x", "score": 3.5}', "not a whole number on the rubric's scale 1-5"),
    ('{"reasoning": "x", "score": 4.25}', "not a whole number"),
    ('{"reasoning": "x", "score": NaN}', "not a number"),
])
def test_invalid_verdicts_raise(text: str, reason: str) -> None:
    with pytest.raises(VerdictError, match=reason):
        parse_verdict(text, R)


def test_schema_carries_the_rubric_range() -> None:
    score = verdict_schema(R)["properties"]["score"]
    assert (score["minimum"], score["maximum"]) == (1, 5)


def test_verdicts_are_frozen_pydantic_models() -> None:
    verdict = parse_verdict('{"reasoning": "fine", "score": 4}', R)
    assert isinstance(verdict, BaseModel) and verdict.model_dump() == {"score": 4.0, "reasoning": "fine"}
    with pytest.raises(ValidationError):
        verdict.score = 5  # type: ignore[misc]
    pair = parse_pair_verdict('{"reasoning": "r", "winner": "b"}')
    assert isinstance(pair, PairVerdict) and (pair.answer, pair.preference, pair.winner) == ("B", 0.0, "B")
    with pytest.raises(ValidationError):
        PairVerdict(answer="A", preference=1.5)


FIVE = Rubric(name="p", kind="pairwise", description="d", pairwise={"scale": "five-point"})


@pytest.mark.parametrize("answer, preference, position", [
    ("A>>B", 1.0, "A"), ("A>B", 0.75, "A"), ("A=B", 0.5, "tie"), ("B>A", 0.25, "B"), ("b>>a", 0.0, "B")])
def test_five_point_answers(answer: str, preference: float, position: str) -> None:
    verdict = parse_pair_verdict(f'{{"reasoning": "r", "verdict": "{answer}"}}', FIVE)
    assert (verdict.preference, verdict.position, verdict.winner) == (preference, position, position)


@pytest.mark.parametrize("text", ['{"reasoning": "r", "verdict": "A>>>B"}', '{"reasoning": "r", "winner": "A"}',
                                  '{"reasoning": "r", "verdict": "A much better"}'])
def test_five_point_answers_are_strict(text: str) -> None:
    with pytest.raises(VerdictError, match="verdict must be one of"):
        parse_pair_verdict(text, FIVE)


def test_each_pairwise_scale_has_its_schema_and_wording() -> None:
    three = Rubric(name="p", kind="pairwise", description="d")
    assert pairwise_schema(three)["properties"]["winner"]["enum"] == ["A", "B", "tie"]
    assert pairwise_schema(FIVE)["properties"]["verdict"]["enum"] == ["A>>B", "A>B", "A=B", "B>A", "B>>A"]
    system = pairwise_messages(FIVE, SAMPLE, "x", "y")[0]["content"]
    assert "A>>B when response A is much better" in system
    assert "by how much" in pairwise_messages(FIVE, SAMPLE, "x", "y")[1]["content"]
    assert '"winner"' in pairwise_messages(three, SAMPLE, "x", "y")[0]["content"]


def test_weighted_verdicts_need_the_three_point_scale() -> None:
    with pytest.raises(ValidationError, match="weighted verdicts need the three-point scale"):
        Rubric(name="p", kind="pairwise", description="d", pairwise={"scale": "five-point", "weighted": True})
    with pytest.raises(ValidationError, match="belong to rubrics of kind: pairwise"):
        Rubric(name="p", description="d", pairwise={"baseline": "x"})
