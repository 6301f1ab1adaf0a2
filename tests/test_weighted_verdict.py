"""Reading a weighted pairwise verdict from token log-probabilities, however the tokenizer cut the answer."""

from __future__ import annotations

import json
import math

import pytest

from assay.judge import NoLogprobsError, VerdictError, parse_pair_verdict, weigh_pair_verdict
from assay.judge.weighted import value_offset
from assay.providers.base import TokenLogprob, logprobs_from_json, logprobs_to_json

P = {"A": 0.6, "B": 0.3, "tie": 0.1}


def tok(text: str, top: dict[str, float] | None = None, raw: bytes | None = None) -> TokenLogprob:
    alts = tuple(TokenLogprob(t, math.log(p)) for t, p in (top or {}).items())
    return TokenLogprob(text, math.log((top or {}).get(text, 0.99)), raw, alts)


def alternatives(lead: str, trail: str, probs: dict[str, float] = P) -> dict[str, float]:
    return {lead + a + trail: p for a, p in probs.items()}


def weigh(tokens: list[TokenLogprob]) -> float:
    text = "".join(t.token for t in tokens) if all(t.utf8 is None for t in tokens) else \
        b"".join(t.raw for t in tokens).decode()
    return weigh_pair_verdict(parse_pair_verdict(text), text, tuple(tokens)).preference


EXPECTED = 0.6 + 0.1 / 2


def test_the_answer_as_its_own_token() -> None:
    tokens = [tok('{"'), tok("reasoning"), tok('":'), tok(' "'), tok("Fine"), tok('",'), tok(' "'), tok("winner"),
              tok('":'), tok(' "'), tok("A", alternatives("", "")), tok('"}')]
    assert weigh(tokens) == pytest.approx(EXPECTED)


def test_the_answer_joined_with_its_opening_quote() -> None:
    tokens = [tok('{"winner": '), tok('"A', alternatives('"', "")), tok('", "reasoning": "x"}')]
    assert weigh(tokens) == pytest.approx(EXPECTED)


def test_the_answer_joined_with_what_follows_it() -> None:
    tokens = [tok('{"reasoning": "x", "winner": "'), tok('A"}', alternatives("", '"}'))]
    assert weigh(tokens) == pytest.approx(EXPECTED)


def test_a_tie_cut_into_pieces_counts_for_tie_by_its_first_piece() -> None:
    # The judge answered "tie" as `t` `ie`; the alternatives at `t` are `A`, `B` and `t`.
    probs = {"t": 0.5, "A": 0.3, "B": 0.2}
    tokens = [tok('{"reasoning": "x", "winner": "'), tok("t", probs), tok("ie"), tok('"}')]
    text = "".join(t.token for t in tokens)
    verdict = weigh_pair_verdict(parse_pair_verdict(text), text, tuple(tokens))
    assert verdict.answer == "tie" and verdict.preference == pytest.approx(0.3 + 0.5 / 2) and verdict.weighted


def test_alternatives_that_spell_no_answer_or_another_layout_are_left_out() -> None:
    probs = {"A": 0.5, "B": 0.25, "The": 0.2, "a": 0.05}  # "a" is the answer A too (answers ignore case)
    tokens = [tok('{"reasoning": "x", "winner": "'), tok("A", probs), tok('"}')]
    assert weigh(tokens) == pytest.approx((0.5 + 0.05) / 0.8)
    # With the opening quote in the token, an alternative without it is some other layout, not an answer.
    tokens = [tok('{"reasoning": "x", "winner": '), tok('"B', {'"B': 0.5, "A": 0.4, '"A': 0.1}), tok('"}')]
    assert weigh(tokens) == pytest.approx(0.1 / 0.6)


def test_a_verdict_quoted_inside_the_reasoning_is_not_the_answer() -> None:
    reasoning = 'I would say "winner": "B" at first glance'
    head = json.dumps({"reasoning": reasoning, "winner": ""})[:-2]
    # The reasoning's own "B" is cut out as a token too, with alternatives that would give B the win.
    at = head.index('B\\"')
    tokens = [tok(head[:at]), tok("B", {"B": 0.9, "A": 0.1}), tok(head[at + 1:]), tok("A", alternatives("", "")),
              tok('"}')]
    assert weigh(tokens) == pytest.approx(EXPECTED)


def test_characters_split_across_tokens_are_followed_by_their_bytes() -> None:
    snow = "☃".encode()  # three bytes, cut into two tokens as byte-level tokenizers do
    tokens = [tok('{"reasoning": "'), TokenLogprob("\\xe2\\x98", -0.1, snow[:2]), TokenLogprob("\\x83", -0.1, snow[2:]),
              tok('", "winner": "'), tok("B", alternatives("", "")), tok('"}')]
    text = b"".join(t.raw for t in tokens).decode()
    verdict = weigh_pair_verdict(parse_pair_verdict(text), text, tuple(tokens))
    assert "☃" in verdict.reasoning and verdict.answer == "B" and verdict.preference == pytest.approx(EXPECTED)


def test_a_fenced_answer_and_a_repeated_key_are_read_as_json_reads_them() -> None:
    text = '```json\n{"winner": "B", "reasoning": "x", "winner": "A"}\n```'
    assert text[value_offset(text, "winner"):].startswith('A"}')  # the last one, as json.loads keeps it
    assert value_offset('{"reasoning": "x"}', "winner") is None
    assert value_offset("not json", "winner") is None


def test_without_log_probabilities_the_verdict_fails_clearly() -> None:
    text = '{"reasoning": "x", "winner": "A"}'
    with pytest.raises(NoLogprobsError, match="returned no token log-probabilities"):
        weigh_pair_verdict(parse_pair_verdict(text), text, None)
    with pytest.raises(NoLogprobsError, match="don't spell its answer"):
        weigh_pair_verdict(parse_pair_verdict(text), text, (tok('{"reasoning": "x"}'),))
    # The answer's token without any alternative for the answer itself: no probability to read.
    tokens = (tok('{"reasoning": "x", "winner": "'), TokenLogprob("A", -9999.0), tok('"}'))
    with pytest.raises(NoLogprobsError, match="no probability to the judge's own answer"):
        weigh_pair_verdict(parse_pair_verdict(text), text, tokens)
    assert issubclass(NoLogprobsError, VerdictError)


def test_log_probabilities_survive_the_cache_form() -> None:
    tokens = (TokenLogprob("A", -0.5, b"A", (TokenLogprob("B", -1.0, None),)), TokenLogprob("\\x83", -0.1, b"\\x83"))
    assert logprobs_from_json(logprobs_to_json(tokens)) == tokens
    assert logprobs_to_json(None) is None and logprobs_from_json(None) is None
