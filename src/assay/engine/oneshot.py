"""A model asked outside a run (`assay rubric test`, rubric generation, `assay models test`).

The same limits (concurrency, rpm) and retry policy as a run; no cache and no store: the caller shows the answer
to the user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assay.config.models import ModelSpec
from assay.engine.limits import ModelLimits
from assay.engine.retry import with_retries
from assay.providers import Completion, CompletionRequest, create_provider


class OneShot:
    """One model's caller for a command. `complete` has the signature of a run's `ModelCaller.complete`, so the
    judge is asked by the same code in both (`asking.ask_verdict`)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.provider = create_provider(spec)
        self.limits = ModelLimits(spec)

    async def complete(self, request: CompletionRequest, *, purpose: str = "", extra: Any = None,
                       usable: Callable[[Completion], bool] | None = None) -> tuple[Completion, None, bool]:
        """(completion, no request hash, not cached); raises ProviderError when every try fails."""
        async def one_try() -> Completion:
            async with self.limits.slot():
                return await self.provider.complete(request)

        return await with_retries(self.spec, one_try), None, False

    async def aclose(self) -> None:
        await self.provider.aclose()


async def call_once(spec: ModelSpec, request: CompletionRequest) -> Completion:
    """Ask one model once (retrying retryable failures); raises ProviderError when every try fails."""
    caller = OneShot(spec)
    try:
        return (await caller.complete(request))[0]
    finally:
        await caller.aclose()
