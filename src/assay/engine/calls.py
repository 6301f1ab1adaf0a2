"""`ModelCaller`: every model call of a run goes through here: cache lookup, identical requests merged, concurrency
and rate limits, retries (the policy of `retry`), and a record of each attempt (tokens, latency, cost, error) in
the store."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from assay.config.models import ModelSpec
from assay.engine.limits import ModelLimits
from assay.engine.progress import RunProgress
from assay.engine.retry import with_retries
from assay.errors import EndpointError, ProviderError, UnreachableError
from assay.providers.base import Completion, CompletionRequest, Provider, logprobs_from_json, logprobs_to_json
from assay.store.store import Store, StoreWriter, now

# A model whose first calls all fail to connect stops the run: its endpoint is down or misconfigured, and retrying
# every item with full backoff would look like a hang (and let the other models spend money meanwhile).
UNREACHABLE_STOP = 3


def request_hash(identity: str, request: CompletionRequest, extra: Any = None) -> str:
    """Key of a call in the cache: the model's identity and everything sent (plus e.g. a retry number)."""
    key: list[Any] = [identity, request.messages, request.json_schema, request.tools, request.seed, extra]
    if request.top_logprobs is not None:  # only then, so the keys of every other request stay as they were
        key.append({"top_logprobs": request.top_logprobs})
    blob = json.dumps(key, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class CallCache:
    """What a run knows of earlier answers, shared by every model's caller.

    `known` holds the request hashes with a committed successful row in the store. A request being asked (or
    answered but not yet committed) sits in `pending`, so an identical request made meanwhile waits for that
    answer instead of calling again; it moves to `known` once its row is committed, never before, so a lookup
    never misses a row that isn't written yet. `run_id` set: only this run's rows count (a run without cache).
    """

    def __init__(self, store: Store, known: set[str], run_id: str | None = None) -> None:
        self.store = store
        self.known = known
        self.run_id = run_id
        self.pending: dict[str, asyncio.Future[Completion]] = {}

    def lookup(self, key: str, usable: Callable[[Completion], bool] | None) -> Completion | None:
        """The newest stored answer that is `usable` (else the newest answer, for the caller to reject)."""
        if key not in self.known:
            return None
        answers = [Completion(text=r["response"] or "", input_tokens=r["input_tokens"],
                              output_tokens=r["output_tokens"], logprobs=logprobs_from_json(r.get("logprobs")))
                   for r in self.store.cached_calls(key, self.run_id)]
        if not answers:
            return None
        return next((a for a in answers if usable is None or usable(a)), answers[0])

    def committed(self, key: str) -> None:
        self.known.add(key)
        self.pending.pop(key, None)


class ModelCaller:
    def __init__(self, spec: ModelSpec, provider: Provider, *, cache: CallCache, writer: StoreWriter, run_id: str,
                 progress: RunProgress, shared_limit: asyncio.Semaphore | None = None) -> None:
        self.spec = spec
        self.provider = provider
        self.cache = cache
        self.writer = writer
        self.run_id = run_id
        self.progress = progress
        # A provider that answers from the dataset row (pre-generated outputs) calls no model: nothing to cache
        # or share, and the same messages in two rows may hold two different answers.
        self.calls_a_model = getattr(provider, "calls_a_model", True)
        self.limits = ModelLimits(spec, shared_limit)
        self.reached = False  # has the endpoint ever answered (anything, even an error status)?
        self.unreachable = 0

    async def complete(self, request: CompletionRequest, *, purpose: str, extra: Any = None,
                       usable: Callable[[Completion], bool] | None = None) -> tuple[Completion, str | None, bool]:
        """Returns (completion, request hash, from_cache). A stored answer is the newest one `usable` accepts
        (the newest of all when none is: the caller then asks differently). Identical requests in flight are
        asked once. Raises ProviderError when all tries fail."""
        if not self.calls_a_model:
            return await self.provider.complete(request), None, False
        key = request_hash(self.spec.identity, request, extra)
        pending = self.cache.pending.get(key)
        if pending is None:
            stored = self.cache.lookup(key, usable)
            if stored is not None:
                self.progress.cached += 1
                return stored, key, True
        if pending is not None:
            completion = await asyncio.shield(pending)
            self.progress.cached += 1
            return completion, key, True
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self.cache.pending[key] = future
        try:
            completion = await self._call(key, request, purpose)
        except ProviderError as e:
            self.cache.pending.pop(key, None)
            future.set_exception(e)
            future.exception()  # waiters get the error; none waiting is fine too
            raise
        except BaseException:
            self.cache.pending.pop(key, None)
            future.cancel()
            raise
        future.set_result(completion)
        if not completion.billable:
            self.cache.pending.pop(key, None)
            return completion, None, False
        return completion, key, False

    async def _call(self, key: str, request: CompletionRequest, purpose: str) -> Completion:
        return await with_retries(self.spec, lambda: self._attempt(key, request, purpose), on_retry=self._count_retry)

    def _count_retry(self) -> None:
        self.progress.retries += 1

    async def _attempt(self, key: str, request: CompletionRequest, purpose: str) -> Completion:
        """One try, within the model's limits."""
        async with self.limits.slot():
            try:
                completion = await self.provider.complete(request)
            except ProviderError as e:
                await self._record(key, purpose, None, e)
                self._stop_if_unreachable(e)
                raise
            self.reached = True
            if completion.billable:
                await self._record(key, purpose, completion, None)
            return completion

    def _stop_if_unreachable(self, error: ProviderError) -> None:
        if not isinstance(error, UnreachableError):
            self.reached = True
            return
        self.unreachable += 1
        if not self.reached and self.unreachable >= UNREACHABLE_STOP:
            raise EndpointError(
                f"model {self.spec.label!r}: its first {self.unreachable} calls all failed to connect ({error}); "
                f"check its base_url in the project config. The run stopped; finish it with "
                f"`assay run --resume {self.run_id}` once the endpoint answers")

    async def _record(self, key: str, purpose: str, completion: Completion | None, error: ProviderError | None) -> None:
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
                       error=None, status_code=200, logprobs=logprobs_to_json(completion.logprobs))
        else:
            assert error is not None
            row.update(response=None, input_tokens=None, output_tokens=None, latency_ms=None, cost=None,
                       error=str(error), status_code=error.status, logprobs=None)
        # A successful answer counts as cached only once its row is committed.
        on_commit = None if completion is None else partial(self.cache.committed, key)
        await self.writer.put("calls", row, on_commit=on_commit)
