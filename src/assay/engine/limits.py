"""Per-model limits: a requests-per-minute pacer. (Concurrency is a plain semaphore.)"""

from __future__ import annotations

import asyncio
import time


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
