"""One model call outside a run (rubric quick tests, rubric generation, model smoke tests).

Same retry policy as a run (backoff with jitter, Retry-After as a floor, fatal errors fail fast), no cache and
no store: the caller shows the answer to the user.
"""

from __future__ import annotations

import asyncio
import random

from assay.config.models import ModelSpec
from assay.engine.calls import backoff_delay
from assay.errors import FatalProviderError, ProviderError, RetryableError
from assay.providers import Completion, CompletionRequest, create_provider


async def call_once(spec: ModelSpec, request: CompletionRequest) -> Completion:
    """Ask one model once (retrying retryable failures); raises ProviderError when every try fails."""
    provider = create_provider(spec)
    rng = random.Random()
    try:
        for attempt in range(spec.max_retries + 1):
            try:
                return await provider.complete(request)
            except FatalProviderError:
                raise
            except ProviderError as e:
                if attempt == spec.max_retries:
                    raise
                retry_after = e.retry_after if isinstance(e, RetryableError) else None
                await asyncio.sleep(backoff_delay(attempt, spec.retry_backoff_s, retry_after, rng))
        raise AssertionError("unreachable")
    finally:
        await provider.aclose()
