"""The retry policy, one for every model call (runs, `assay rubric test`, rubric generation, smoke tests).

Retryable failures (429, 5xx, timeouts, dropped or refused connections) are tried again up to the entry's
`max_retries`; fatal ones (400, 401, 404, ...) fail at once. The wait is exponential backoff with full jitter,
starting at `retry_backoff_s` and capped at 60 s; a server's `Retry-After` is a floor, never shortened.
Built on tenacity.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from assay.config.models import ModelSpec
from assay.errors import RetryableError

MAX_BACKOFF_S = 60.0
MAX_RETRY_AFTER_S = 300.0  # a longer hint is taken as this: a run should not sleep for hours on one header

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Backoff(wait_random_exponential):
    """Full jitter, with the failed call's Retry-After as a floor."""

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = super().__call__(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = error.retry_after if isinstance(error, RetryableError) else None
        return max(delay, min(retry_after, MAX_RETRY_AFTER_S)) if retry_after is not None else delay


def retrying(spec: ModelSpec, on_retry: Callable[[], None] | None = None) -> AsyncRetrying:
    """The policy for one request to `spec`'s model (see `with_retries`).
    The last error is raised when every try failed; `on_retry` is called before each wait."""

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None:
            on_retry()
        log.info("%s: retrying in %.1fs (retry %d of %d) after: %s", spec.label,
                 state.next_action.sleep if state.next_action else 0.0, state.attempt_number, spec.max_retries,
                 state.outcome.exception() if state.outcome else "")

    return AsyncRetrying(retry=retry_if_exception_type(RetryableError), stop=stop_after_attempt(spec.max_retries + 1),
                         wait=_Backoff(multiplier=spec.retry_backoff_s, max=MAX_BACKOFF_S), reraise=True,
                         before_sleep=before_sleep)



async def with_retries(spec: ModelSpec, attempt: Callable[[], Awaitable[T]],
                       on_retry: Callable[[], None] | None = None) -> T:
    """Run `attempt` (one try at a request to `spec`'s model) under the policy: its result, or the last error
    once every try failed. Runs and commands outside a run both call their model through this."""
    async for state in retrying(spec, on_retry):
        with state:
            return await attempt()
    raise AssertionError("unreachable: the policy returns or raises")  # pragma: no cover
