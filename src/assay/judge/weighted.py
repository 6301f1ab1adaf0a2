"""Weighted pairwise verdicts: the probability the judge puts on each allowed answer, read from the token
log-probabilities of its JSON answer, rather than the one answer it wrote.

The answer's token is found by position, not by its text: the JSON object is walked to the byte where the
answer's value begins, and the token covering that byte is the one whose alternatives (`top_logprobs`) are
weighed. Tokenizers split `"winner": "A"` in many ways (`"` `A` `"`, ` "A`, `A"}`, ...): an alternative counts
for an answer when it begins like the chosen token up to the answer, then spells the start of exactly one
allowed answer. The probabilities of the answers found are normalized over those answers.
"""

from __future__ import annotations

import json
import math
import re

from assay.judge.verdict import _FENCE, PAIR_SCALES, PairVerdict, VerdictError
from assay.providers.base import TokenLogprob

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class NoLogprobsError(VerdictError):
    """The answer came without the log-probabilities a weighted verdict needs; asking again won't bring them."""


def _skip(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()  # type: ignore[union-attr]


def value_offset(text: str, field: str) -> int | None:
    """Where the string value of the top-level `field` of the JSON object in `text` begins (after its opening
    quote), as a character offset into `text`; the last one when the key repeats, as `json.loads` reads it."""
    start = len(text) - len(text.lstrip())
    fenced = _FENCE.match(text.strip())
    if fenced:
        start += fenced.start(1)
    i = _skip(text, start)
    if not text.startswith("{", i):
        return None
    found, i = None, _skip(text, i + 1)
    try:
        while i < len(text) and text[i] == '"':
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if not text.startswith(":", i):
                return None
            i = _skip(text, i + 1)
            if key == field and text.startswith('"', i):
                found = i + 1
            _, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if not text.startswith(",", i):
                break
            i = _skip(text, i + 1)
    except ValueError:
        return None
    return found


def _answer_of(rest: bytes, answers: dict[str, float]) -> str | None:
    """The answer a token spells after the chosen token's prefix: the whole answer when the token closes the
    string, else the one answer it is the start of (None when it spells none, or the start of several)."""
    text = rest.decode("utf-8", "ignore")
    closed = '"' in text
    fragment = text.split('"', 1)[0].strip().lower()
    if not fragment:
        return None
    if closed:
        return next((a for a in answers if a.lower() == fragment), None)
    matches = [a for a in answers if a.lower().startswith(fragment)]
    return matches[0] if len(matches) == 1 else None


def weigh_pair_verdict(verdict: PairVerdict, text: str, tokens: tuple[TokenLogprob, ...] | None) -> PairVerdict:
    """The verdict with its preference replaced by the judge's probability for response A (a tie counting half),
    normalized over the allowed answers. Raises NoLogprobsError when the log-probabilities are missing or don't
    cover the answer."""
    field, answers = next(s for s in PAIR_SCALES.values() if verdict.answer in s[1])
    if not tokens:
        raise NoLogprobsError("the judge's endpoint returned no token log-probabilities, which a weighted verdict "
                              "needs; use a judge whose endpoint returns logprobs, or set weighted: false")
    joined = b"".join(t.raw for t in tokens)
    if joined != text.encode("utf-8"):
        raise NoLogprobsError("the judge's token log-probabilities don't spell its answer, so the answer's "
                              "probability can't be found")
    offset = value_offset(text, field)
    if offset is None:
        raise VerdictError(f"the judge's answer has no string {field!r} to weigh")
    target = len(text[:offset].encode("utf-8"))
    start = 0
    for token in tokens:
        end = start + len(token.raw)
        if start <= target < end:
            break
        start = end
    else:
        raise NoLogprobsError(f"no token log-probabilities cover the judge's {field!r}")
    prefix = joined[start:target]
    mass = dict.fromkeys(answers, 0.0)
    seen: set[bytes] = set()
    for alternative in (token, *token.top):
        raw = alternative.raw
        if raw in seen or not raw.startswith(prefix):
            continue
        seen.add(raw)
        answer = _answer_of(raw[len(prefix):], answers)
        if answer is not None:
            mass[answer] += math.exp(alternative.logprob)
    total = sum(mass.values())
    if mass[verdict.answer] <= 0 or not math.isfinite(total):
        raise NoLogprobsError(f"the token log-probabilities give no probability to the judge's own answer "
                              f"{verdict.answer!r}")
    preference = sum(mass[a] * value for a, value in answers.items()) / total
    return verdict.model_copy(update={"preference": min(1.0, max(0.0, preference)), "weighted": True})
