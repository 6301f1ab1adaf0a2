"""A model's limits: its concurrency, the run-wide cap (when set), and its requests per minute.

A call waits for them in that order; the rpm slot comes last, once the call may start: a slot taken before
waiting for the cap would be spent late, and several such calls would then start at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from assay.config.models import ModelSpec


class RatePacer:
    """Spaces request starts at least 60/rpm seconds apart, so a model never exceeds its requests per minute."""

    def __init__(self, rpm: float) -> None:
        self.interval = 60.0 / rpm
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


class ModelLimits:
    def __init__(self, spec: ModelSpec, shared: asyncio.Semaphore | None = None) -> None:
        self.semaphore = asyncio.Semaphore(spec.concurrency)
        self.shared = shared  # the run's cap across all models, if set
        self.pacer = RatePacer(spec.rpm) if spec.rpm else None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Held for the duration of one call."""
        async with self.semaphore, self.shared or contextlib.nullcontext():
            if self.pacer:
                await self.pacer.wait()
            yield
