"""Asking a judge for a verdict until its answer parses: the one loop that runs and `assay rubric test` share.

Tries are numbered, each with its own seed. Tries answered before (this run or an earlier one) come from the
cache in order, good or bad, so a verdict mended by a later try is found again without a call; after them, up to
1 + `judge_retries` new calls are made, even when the judge repeats a bad answer word for word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from assay.config.models import ModelSpec
from assay.errors import ProviderError
from assay.judge import NoLogprobsError, VerdictError
from assay.providers.base import Completion, CompletionRequest


class Caller(Protocol):
    """What asks a model: a run's `ModelCaller` (cache, store) or a command's `OneShot`."""

    async def complete(self, request: CompletionRequest, *, purpose: str, extra: Any = None,
                       usable: Callable[[Completion], bool] | None = None) -> tuple[Completion, str | None, bool]: ...


def verdict_seed(judge: ModelSpec, repeat: int, attempt: int) -> int | None:
    """The first try of repeat 0 is the judge's ordinary request. Later repeats, and retries after an unusable
    answer, ask with distinct seeds, so a sampling judge gives an independent draw rather than the same answer."""
    if repeat == 0 and attempt == 0:
        return None
    return (judge.seed or 0) + repeat + 1000 * attempt


@dataclass
class Tries:
    """What the tries at one verdict cost and last said, whatever the outcome."""
    raw: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency: float = 0.0
    count: int = 0

    def add(self, completion: Completion) -> None:
        self.tokens_in += completion.input_tokens or 0
        self.tokens_out += completion.output_tokens or 0
        self.latency += completion.latency_ms
        self.raw = completion.text
        self.count += 1


def _parses(parse: Callable[[Completion], Any], answer: Completion) -> bool:
    try:
        parse(answer)
    except VerdictError:
        return False
    return True


async def ask_verdict(caller: Caller, judge: ModelSpec, messages: list[dict[str, Any]], schema: dict[str, Any],
                      repeat: int, parse: Callable[[Completion], Any], tries: Tries, retries: int, *,
                      top_logprobs: int | None = None) -> tuple[Any, str | None, bool, str | None]:
    """(verdict, request hash, cached, None) once an answer parses, or (None, None, False, error). `parse` reads
    the whole answer (its text, and its token log-probabilities when `top_logprobs` asks for them)."""
    problems: list[str] = []
    calls_left = 1 + retries
    attempt = 0
    while calls_left > 0:
        request = CompletionRequest(messages=messages, json_schema=schema, seed=verdict_seed(judge, repeat, attempt),
                                    top_logprobs=top_logprobs)
        try:
            completion, key, cached = await caller.complete(
                request, purpose="judge", extra={"repeat": repeat, "attempt": attempt},
                usable=lambda answer: _parses(parse, answer))
        except ProviderError as e:
            return None, None, False, f"judge call failed: {e}"
        if not cached:
            calls_left -= 1
        tries.add(completion)
        try:
            return parse(completion), key, cached, None
        except NoLogprobsError as e:
            if not cached:  # the endpoint gave none just now: asking again can't bring them
                return None, None, False, f"unusable verdict: {e}"
            problems.append(f"try {attempt + 1}: {e}")
        except VerdictError as e:
            problems.append(f"try {attempt + 1}: {e}")
        attempt += 1
    return None, None, False, "unusable verdict: " + "; ".join(problems)
