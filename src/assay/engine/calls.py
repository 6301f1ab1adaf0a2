"""`ModelCaller`: every model call goes through here: cache lookup, concurrency and rate limits, retries with
backoff, and a record of each attempt (tokens, latency, cost, error) in the store."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from typing import Any

from assay.config.models import ModelSpec
from assay.engine.limits import RatePacer
from assay.engine.progress import RunProgress
from assay.errors import FatalProviderError, ProviderError, RetryableError
from assay.providers.base import Completion, CompletionRequest, Provider
from assay.store.store import Store, StoreWriter, now

MAX_BACKOFF_S = 60.0


def request_hash(identity: str, request: CompletionRequest, extra: Any = None) -> str:
    """Key of a call in the cache: the model's identity and everything sent (plus e.g. a retry number)."""
    blob = json.dumps([identity, request.messages, request.json_schema, request.tools, request.seed, extra],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def backoff_delay(attempt: int, base: float, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is a floor, never shortened."""
    delay = rng.uniform(0, min(MAX_BACKOFF_S, base * (2 ** attempt)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF_S * 5))
    return delay


def retry_delay(error: ProviderError, attempt: int, spec: ModelSpec, rng: random.Random) -> float:
    """The wait before retrying after ``error`` on try ``attempt`` (0-based). Re-raises ``error`` when it is fatal
    or the spec's retries are used up."""
    if isinstance(error, FatalProviderError) or attempt >= spec.max_retries:
        raise error
    retry_after = error.retry_after if isinstance(error, RetryableError) else None
    return backoff_delay(attempt, spec.retry_backoff_s, retry_after, rng)


class ModelCaller:
    def __init__(self, spec: ModelSpec, provider: Provider, *, store: Store, writer: StoreWriter, run_id: str,
                 progress: RunProgress, use_cache: bool, cached: set[str],
                 shared_limit: asyncio.Semaphore | None = None) -> None:
        self.spec = spec
        self.provider = provider
        self.store = store
        self.writer = writer
        self.run_id = run_id
        self.progress = progress
        self.use_cache = use_cache
        self.cached = cached  # request hashes known to have a successful response in the store
        self.semaphore = asyncio.Semaphore(spec.concurrency)
        self.shared_limit = shared_limit  # the run's cap across all models, if set
        self.pacer = RatePacer(spec.rpm) if spec.rpm else None
        self.rng = random.Random()

    async def complete(self, request: CompletionRequest, *, purpose: str, extra: Any = None,
                       fresh: bool = False) -> tuple[Completion, str | None, bool]:
        """Returns (completion, request hash, from_cache). `fresh` skips the cache (to replace a cached answer
        that proved unusable). Raises ProviderError when all tries fail."""
        key = request_hash(self.spec.identity, request, extra)
        if self.use_cache and not fresh and key in self.cached:
            row = self.store.cached_call(key)
            if row is not None:
                self.progress.cached += 1
                return Completion(text=row["response"] or "", input_tokens=row["input_tokens"],
                                  output_tokens=row["output_tokens"]), key, True
        attempt = 0
        while True:
            async with self.semaphore:
                if self.pacer:
                    await self.pacer.wait()
                try:
                    if self.shared_limit is None:
                        completion = await self.provider.complete(request)
                    else:
                        async with self.shared_limit:
                            completion = await self.provider.complete(request)
                except ProviderError as e:
                    self._record(key, purpose, None, e)
                    error = e
                else:
                    if not completion.billable:
                        return completion, None, False
                    self._record(key, purpose, completion, None)
                    self.cached.add(key)
                    return completion, key, False
            delay = retry_delay(error, attempt, self.spec, self.rng)
            self.progress.retries += 1
            await asyncio.sleep(delay)
            attempt += 1

    def _record(self, key: str, purpose: str, completion: Completion | None, error: ProviderError | None) -> None:
        p = self.progress
        p.calls += 1
        row: dict[str, Any] = {"request_hash": key, "model_identity": self.spec.identity,
                               "model_label": self.spec.label, "run_id": self.run_id, "purpose": purpose,
                               "ok": completion is not None, "created_at": now()}
        if completion is not None:
            cost = self.spec.cost(completion.input_tokens, completion.output_tokens)
            p.input_tokens += completion.input_tokens or 0
            p.output_tokens += completion.output_tokens or 0
            if cost is not None:
                p.cost += cost
                p.has_cost = True
            row.update(response=completion.text, input_tokens=completion.input_tokens,
                       output_tokens=completion.output_tokens, latency_ms=completion.latency_ms, cost=cost,
                       error=None, status_code=200)
        else:
            assert error is not None
            row.update(response=None, input_tokens=None, output_tokens=None, latency_ms=None, cost=None,
                       error=str(error), status_code=error.status)
        self.writer.put("calls", row)
