"""One model call outside a run (rubric quick tests, rubric generation, model smoke tests).

Same retry policy as a run (backoff with jitter, Retry-After as a floor, fatal errors fail fast), no cache and
no store: the caller shows the answer to the user.
"""

from __future__ import annotations

import asyncio
import random

from assay.config.models import ModelSpec
from assay.engine.calls import retry_delay
from assay.errors import ProviderError
from assay.providers import Completion, CompletionRequest, create_provider


async def call_once(spec: ModelSpec, request: CompletionRequest) -> Completion:
    """Ask one model once (retrying retryable failures); raises ProviderError when every try fails."""
    provider = create_provider(spec)
    rng = random.Random()
    try:
        attempt = 0
        while True:
            try:
                return await provider.complete(request)
            except ProviderError as e:
                await asyncio.sleep(retry_delay(e, attempt, spec, rng))
            attempt += 1
    finally:
        await provider.aclose()
