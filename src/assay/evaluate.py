"""Running an eval: resolve the spec against the store, create the run, execute it, resume it.

`run()` is the synchronous entry point (the CLI and the Python API); `execute_run()` is the async core.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.config.models import ModelSpec
from assay.config.spec import EvalSpec, load_spec
from assay.dataset.parse import parse_file
from assay.dataset.records import Sample
from assay.engine.calls import CallCache, ModelCaller
from assay.engine.lease import RunLease
from assay.engine.plan import WorkPlan
from assay.engine.progress import RunProgress
from assay.engine.runner import RunEngine
from assay.errors import AssayError, RubricError, SpecError
from assay.providers import create_provider
from assay.rubric.render import check_renders
from assay.store.store import DatasetInfo, RunInfo, Store, StoreWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: str  # done | interrupted | failed
    progress: RunProgress

    @property
    def unscored(self) -> list[str]:
        """What the run measured nothing for because every attempt failed: candidates (no output, or no done
        judgment) and "pairwise rubrics" (no done pairwise verdict). Non-empty means the run is not a success."""
        p = self.progress
        out = [label for label, c in p.candidates.items()
               if (c.outputs_failed and not c.outputs_done) or (c.judgments_failed and not c.judgments_done)]
        if p.pairs_failed and not p.pairs_done:
            out.append("pairwise rubrics")
        return out


def file_sha256(path: str | Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None  # parse_file reports an unreadable file properly
    return digest.hexdigest()


def import_dataset(store: Store, path: str | Path, *, name: str, kind: str = "eval",
                   strict: bool = False) -> tuple[DatasetInfo, bool, Any]:
    """Parse a dataset file and store it. Returns (info, created, parse result with its row errors)."""
    result = parse_file(path, strict=strict)
    info, created = store.save_dataset(name, kind, result.format, result.samples, source=str(path),
                                       file_sha256=file_sha256(path))
    return info, created, result


@dataclass(frozen=True)
class _Dataset:
    """The spec's dataset before anything is written: stored already (`info`), or parsed from its file and not
    stored yet (`parsed`)."""
    name: str
    info: DatasetInfo | None = None
    parsed: Any = None

    def samples(self, store: Store, limit: int | None = None) -> Iterator[Sample]:
        if self.info is not None:
            return store.iter_samples(self.info.id, limit=limit)
        return iter(self.parsed.samples[:limit])


def _find_dataset(store: Store, spec: EvalSpec) -> _Dataset:
    """The spec's dataset, read but not written: it is imported only once every check has passed."""
    ref = spec.dataset
    if ref.path:
        digest = file_sha256(ref.path)
        known = store.dataset_by_file(ref.name, ref.kind, digest) if digest and not ref.strict else None
        if known is not None:
            return _Dataset(ref.name, info=known)  # the same bytes were imported before: no second parse
        return _Dataset(ref.name, parsed=parse_file(ref.path, strict=ref.strict))
    return _Dataset(ref.name, info=store.get_dataset(ref.name, ref.version))


def _store_dataset(store: Store, spec: EvalSpec, dataset: _Dataset, warn: Callable[[str], None]) -> DatasetInfo:
    if dataset.info is not None:
        return dataset.info
    ref, result = spec.dataset, dataset.parsed
    assert ref.path is not None
    info, _ = store.save_dataset(ref.name, ref.kind, result.format, result.samples, source=str(ref.path),
                                 file_sha256=file_sha256(ref.path))
    if result.errors:
        shown = "; ".join(str(e) for e in result.errors[:3])
        more = f" and {len(result.errors) - 3} more" if len(result.errors) > 3 else ""
        warn(f"skipped {len(result.errors)} invalid row(s): {shown}{more} "
             "(set `strict: true` on the spec's dataset to refuse such a file)")
    return info


def _check_dataset(store: Store, spec: EvalSpec, dataset: _Dataset) -> None:
    """Problems that would fail every item of a kind are reported before the run starts."""
    adherence = [r.name for r in spec.rubrics if r.needs_reference]
    from_rows = [c for c in spec.candidates if c.provider == "dataset"]
    for judge in spec.judges:
        if judge.provider == "dataset":
            raise SpecError(f"judge {judge.label!r}: the dataset provider can't judge; use a model")
    first = next(dataset.samples(store, limit=1), None)
    if first is not None:
        for rubric in spec.rubrics:
            check_renders(rubric, first)
    if not adherence and not from_rows:
        return
    missing_ref: list[str] = []
    missing_out: dict[str, list[str]] = {c.label: [] for c in from_rows}
    for sample in dataset.samples(store, limit=spec.settings.limit):
        if adherence and sample.reference is None:
            missing_ref.append(sample.id)
        for c in from_rows:
            if (c.model or c.label) not in sample.outputs:
                missing_out[c.label].append(sample.id)
    if missing_ref:
        raise RubricError(
            f"rubric(s) {', '.join(adherence)} are adherence rubrics and need a reference response, but "
            f"{len(missing_ref)} row(s) of dataset {dataset.name!r} have none (first: "
            f"{', '.join(missing_ref[:3])}); use a direct rubric, or add references to those rows")
    for label, ids in missing_out.items():
        if ids:
            raise SpecError(
                f"candidate {label!r} (provider: dataset) needs a pre-generated output under outputs."
                f"{next(c.model or c.label for c in from_rows if c.label == label)} in every row; "
                f"{len(ids)} row(s) lack it (first: {', '.join(ids[:3])})")


def _check_weighted(spec: EvalSpec, providers: dict[str, Any]) -> None:
    """A weighted pairwise rubric needs judges whose provider can return token log-probabilities."""
    weighted = [r.name for r in spec.rubrics if r.pairwise and spec.pairwise_options(r).weighted]
    for judge in spec.judges if weighted else ():
        if not getattr(providers[judge.label], "supports_logprobs", False):
            raise SpecError(f"rubric(s) {', '.join(weighted)} ask for weighted verdicts, read from token "
                            f"log-probabilities, which judge {judge.label!r} (provider: {judge.provider}) can't "
                            "return; use an OpenAI-compatible judge whose endpoint returns logprobs, or set "
                            "weighted: false")


def _models(spec: EvalSpec) -> dict[str, ModelSpec]:
    models: dict[str, ModelSpec] = {}
    for m in (*spec.candidates, *spec.judges):
        if m.label in models and models[m.label] != m:
            raise SpecError(f"model label {m.label!r} is used for two different model entries")
        models[m.label] = m
    return models


def check_endpoints(spec: EvalSpec) -> None:
    """Ask each model's endpoint once whether it answers (a cheap request such as GET /models, never a paid
    completion), so a wrong port or host stops the run before any call, with one message (EndpointError).
    Skipped when the spec's `settings.check_endpoints` is false."""
    if not spec.settings.check_endpoints:
        return
    seen: set[tuple[str, str | None, str | None]] = set()
    for m in _models(spec).values():
        where = (m.provider, m.base_url, m.api_key_env)
        if where in seen:
            continue
        seen.add(where)
        check = getattr(create_provider(m), "check", None)
        if check is not None:
            check()


def prepare_run(store: Store, spec: EvalSpec, *, warn: Callable[[str], None] | None = None,
                check: bool = True) -> str:
    """Check everything that can be checked up front, then record the run and its spec snapshot. Nothing is
    written, not even the dataset's import, unless every check passes.

    `warn` receives what the user should know but that doesn't stop the run (rows skipped on import). `check`
    False skips the endpoint check (`check_endpoints`)."""
    models = _models(spec)
    providers = {label: create_provider(m) for label, m in models.items()}  # checks settings without calling out
    _check_weighted(spec, providers)
    dataset = _find_dataset(store, spec)
    _check_dataset(store, spec, dataset)
    if check:
        check_endpoints(spec)
    info = _store_dataset(store, spec, dataset, warn or (lambda message: warnings.warn(message, stacklevel=3)))
    store.save_rubrics(spec.rubrics)
    store.save_models(models.values())
    snapshot = spec.model_dump(mode="json")
    snapshot["dataset"] = {"name": info.name, "version": info.version, "kind": info.kind}
    return store.create_run(spec.name, info.id, snapshot)


async def execute_run(store: Store, run_id: str, *, use_cache: bool = True, check: bool = False,
                      on_start: Callable[[RunProgress], None] | None = None) -> RunOutcome:
    """Run every item of the run not yet done. Safe to call again on an interrupted or killed run. `check`
    checks the endpoints first (`prepare_run` does for a new run; a resume should)."""
    info = store.get_run(run_id)
    spec = EvalSpec.model_validate(info.spec)
    if check:
        await asyncio.to_thread(check_endpoints, spec)
    lease = RunLease(store, info.id)
    lease.acquire()  # before reading what is done: another process may be doing it right now
    try:
        return await _execute_leased(store, info, spec, lease, use_cache=use_cache, on_start=on_start)
    finally:
        lease.release()


async def _execute_leased(store: Store, info: RunInfo, spec: EvalSpec, lease: RunLease, *, use_cache: bool,
                          on_start: Callable[[RunProgress], None] | None) -> RunOutcome:
    dataset = store.dataset_by_id(info.dataset_id)
    n = min(dataset.n_rows, spec.settings.limit or dataset.n_rows)
    totals = WorkPlan(spec).totals(n)
    progress = RunProgress(run_id=info.id, outputs_total=totals.outputs, judgments_total=totals.judgments,
                           pairs_total=totals.pairs)
    for c in spec.candidates:
        progress.for_candidate(c.label)
    models = _models(spec)
    done_outputs = store.done_outputs(info.id)
    done_judgments = store.done_judgments(info.id)
    done_pairwise = store.done_pairwise(info.id)
    progress.pairs_done = len(done_pairwise)
    # Items finished before a resume count as progress already made.
    for (_, cand) in done_outputs:
        progress.for_candidate(cand).outputs_done += 1
    for (_, cand, *_rest) in done_judgments:
        progress.for_candidate(cand).judgments_done += 1
    # Without the cache, answers of earlier runs are ignored; identical requests of this run are still asked once.
    cache = CallCache(store, store.cached_hashes(m.identity for m in models.values()) if use_cache else set(),
                      run_id=None if use_cache else info.id)
    writer = StoreWriter(store)
    providers = {label: create_provider(m) for label, m in models.items()}
    cap = spec.settings.max_concurrency
    shared_limit = asyncio.Semaphore(cap) if cap else None
    callers = {label: ModelCaller(m, providers[label], cache=cache, writer=writer, run_id=info.id,
                                  progress=progress, shared_limit=shared_limit)
               for label, m in models.items()}
    engine = RunEngine(writer=writer, run_id=info.id, spec=spec, callers=callers, progress=progress,
                       done_outputs=done_outputs, done_judgments=done_judgments, done_pairwise=done_pairwise)
    if on_start:
        on_start(progress)
    store.set_run_status(info.id, "running")
    log.info("run %s started: %d samples, candidates %s, judges %s", info.id, n,
             ", ".join(c.label for c in spec.candidates), ", ".join(j.label for j in spec.judges))
    started = time.monotonic()
    status = "interrupted"  # Ctrl-C, SIGTERM, or a task cancelled from outside
    try:
        await _while_leased(lease, engine.execute(store.iter_samples(info.dataset_id, limit=spec.settings.limit)))
        status = "finished"
    except Exception:
        status = "failed"  # a bug or an unexpected provider answer: the run stops, resumable once fixed
        raise
    finally:
        for p in providers.values():
            await p.aclose()
        try:
            writer.close()  # every queued record is committed, or this raises
        except BaseException:
            status = "failed"
            raise
        finally:
            if status == "finished":
                # Done means every planned item is in the store, not merely that the engine stopped.
                status = "done" if _all_items_stored(store, progress) else "interrupted"
            if not lease.lost:  # otherwise the run is another process's now
                store.set_run_status(info.id, status)
            log.info("run %s %s after %.1fs: %d calls, %d answered from the cache, %d retries", info.id, status,
                     time.monotonic() - started, progress.calls, progress.cached, progress.retries)
    return RunOutcome(run_id=info.id, status=status, progress=progress)


def _all_items_stored(store: Store, progress: RunProgress) -> bool:
    stored = {kind: sum(by_status.values()) for kind, by_status in store.run_counts(progress.run_id).items()}
    return (stored.get("outputs", 0) >= progress.outputs_total
            and stored.get("judgments", 0) >= progress.judgments_total
            and stored.get("pairwise", 0) >= progress.pairs_total)


async def _while_leased(lease: RunLease, work: Coroutine[Any, Any, None]) -> None:
    """Run `work` while renewing the lease; a lost lease stops the work (another process has the run now)."""
    task = asyncio.ensure_future(work)
    keeper = asyncio.ensure_future(lease.keep())
    try:
        await asyncio.wait({task, keeper}, return_when=asyncio.FIRST_COMPLETED)
        if keeper.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            keeper.result()  # raises StoreError
        await task
    finally:
        for t in (task, keeper):
            t.cancel()
        await asyncio.gather(task, keeper, return_exceptions=True)


def _no_running_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise AssayError(f"assay.{name}() can't be called inside a running event loop (a notebook, an async app); "
                     f"there, use `await assay.evaluate.execute_run(store, run_id)` after `prepare_run`")


def run(spec: EvalSpec | str | Path, *, db: str | Path | None = None, use_cache: bool = True,
        check: bool = True) -> RunOutcome:
    """Run an eval spec (a path or an `EvalSpec`) to the end and return the outcome. Results: `assay.results`.
    `check` False skips the endpoint check."""
    _no_running_loop("run")
    if not isinstance(spec, EvalSpec):
        spec = load_spec(spec)
    store = Store(db)
    try:
        run_id = prepare_run(store, spec, check=check)
        return asyncio.run(execute_run(store, run_id, use_cache=use_cache))
    finally:
        store.close()


def resume(run_id: str, *, db: str | Path | None = None, use_cache: bool = True, check: bool = True) -> RunOutcome:
    _no_running_loop("resume")
    store = Store(db)
    try:
        return asyncio.run(execute_run(store, run_id, use_cache=use_cache, check=check))
    finally:
        store.close()
