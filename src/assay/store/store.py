"""`Store`: the only code that speaks SQL. Records go in, records come out.

SQLite by default (WAL mode), through SQLAlchemy Core so the same queries run on PostgreSQL. Every write is one
transaction holding the write lock (`database.write_transaction`), which waits out other processes rather than
failing. Writes made during a run go through `StoreWriter`, a thread that commits batches so the event loop never
waits on disk.
"""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from assay.dataset.records import Sample, content_hash
from assay.errors import StoreError
from assay.redact import redact, redact_fields
from assay.store import schema as t
from assay.store.database import open_engine, write_transaction
from assay.store.migrations import migrate

DEFAULT_DB = Path(".assay") / "assay.db"
# The error of a judgment that never happened because the candidate produced no output.
NO_OUTPUT_ERROR = "no output to judge"
# ... and of a pairwise verdict that never happened because a candidate of the pair produced none.
NO_OUTPUTS_ERROR = "no outputs to compare"
# The status of a judgment or pairwise verdict that never happened for want of an output (migration 7).
SKIPPED = "skipped"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class DatasetInfo:
    id: int
    name: str
    version: str
    kind: str
    format: str
    n_rows: int
    source: str | None
    created_at: str
    file_sha256: str | None = None


@dataclass(frozen=True)
class RunInfo:
    id: str
    name: str
    dataset_id: int
    status: str
    spec: dict[str, Any]
    created_at: str
    updated_at: str


def _upsert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> Any:
    """INSERT that replaces the row with the same primary key (a failed item retried, a resumed run)."""
    keys = [c.name for c in table.primary_key.columns]
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    else:  # pragma: no cover - other backends are not supported yet
        raise StoreError(f"unsupported database backend {name!r}")
    stmt = dialect_insert(table)
    cols = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=cols)


class Store:
    def __init__(self, url: str | Path | None = None, *, busy_timeout: float | None = None) -> None:
        """Open (create, upgrade) the database at a path or URL. `busy_timeout`: seconds one attempt at a write
        waits for another process's lock (default: ASSAY_DB_BUSY_TIMEOUT, else two minutes)."""
        self.url = str(url or DEFAULT_DB)
        self.engine = open_engine(self.url, busy_timeout=busy_timeout)
        try:
            migrate(self.engine, where=self.url)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    # -- datasets ----------------------------------------------------------------------------------------

    def save_dataset(self, name: str, kind: str, fmt: str, samples: list[Sample], source: str | None = None,
                     file_sha256: str | None = None) -> tuple[DatasetInfo, bool]:
        """Store a dataset version. Same name and content as before → the existing version, created False."""
        version = content_hash(samples)
        with write_transaction(self.engine) as conn:
            existing = conn.execute(select(t.datasets).where(t.datasets.c.name == name,
                                                             t.datasets.c.version == version)).first()
            if existing:
                if file_sha256 and existing.file_sha256 != file_sha256:
                    conn.execute(update(t.datasets).where(t.datasets.c.id == existing.id)
                                 .values(file_sha256=file_sha256))
                return DatasetInfo(**existing._mapping), False
            ds_id = conn.execute(insert(t.datasets).values(
                name=name, version=version, kind=kind, format=fmt, n_rows=len(samples), source=source,
                created_at=now(), file_sha256=file_sha256)).inserted_primary_key[0]  # type: ignore[index]
            for start in range(0, len(samples), 5000):  # rows made a chunk at a time, not all at once
                conn.execute(insert(t.dataset_rows), [
                    {"dataset_id": ds_id, "idx": start + i, "sample_id": s.id, "data": s.canonical_json()}
                    for i, s in enumerate(samples[start:start + 5000])])
            info = conn.execute(select(t.datasets).where(t.datasets.c.id == ds_id)).one()
        return DatasetInfo(**info._mapping), True

    def dataset_by_file(self, name: str, kind: str, file_sha256: str) -> DatasetInfo | None:
        """The stored dataset imported under this name from a file with exactly these bytes, if any."""
        d = t.datasets
        with self.engine.connect() as conn:
            row = conn.execute(select(d).where(d.c.name == name, d.c.kind == kind, d.c.file_sha256 == file_sha256)
                               .order_by(d.c.id.desc())).first()
        return DatasetInfo(**row._mapping) if row else None

    def get_dataset(self, name: str, version: str | None = None) -> DatasetInfo:
        q = select(t.datasets).where(t.datasets.c.name == name)
        if version:
            q = q.where(t.datasets.c.version.startswith(version))
        with self.engine.connect() as conn:
            row = conn.execute(q.order_by(t.datasets.c.id.desc())).first()
        if row is None:
            stored = self.list_datasets()
            versions = [d.version for d in stored if d.name == name]
            if versions:
                raise StoreError(f"dataset {name!r} has no version starting with {version!r} "
                                 f"(its versions: {', '.join(versions)})")
            known = ", ".join(sorted({d.name for d in stored})) or "none yet"
            raise StoreError(f"no dataset named {name!r} (stored: {known}); import it with "
                             f"`assay dataset import FILE --name {name}`")
        return DatasetInfo(**row._mapping)

    def dataset_by_id(self, dataset_id: int) -> DatasetInfo:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.datasets).where(t.datasets.c.id == dataset_id)).one()
        return DatasetInfo(**row._mapping)

    def list_datasets(self) -> list[DatasetInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.datasets).order_by(t.datasets.c.name, t.datasets.c.id)).all()
        return [DatasetInfo(**r._mapping) for r in rows]

    def iter_samples(self, dataset_id: int, limit: int | None = None, chunk: int = 2000) -> Iterator[Sample]:
        """Samples in order, read in chunks so a large dataset is never held whole in memory."""
        last, seen = -1, 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(t.dataset_rows.c.idx, t.dataset_rows.c.data)
                    .where(t.dataset_rows.c.dataset_id == dataset_id, t.dataset_rows.c.idx > last)
                    .order_by(t.dataset_rows.c.idx).limit(chunk)).all()
            if not rows:
                return
            for _, data in rows:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield Sample.model_validate_json(data)
            last = rows[-1][0]

    # -- rubrics and runs --------------------------------------------------------------------------------

    def save_rubrics(self, rubrics: Iterable[Any]) -> None:
        with write_transaction(self.engine) as conn:
            for r in rubrics:
                if conn.execute(select(t.rubrics.c.version).where(t.rubrics.c.version == r.version)).first():
                    continue
                conn.execute(insert(t.rubrics).values(version=r.version, name=r.name,
                                                      data=r.model_dump_json(), created_at=now()))

    def save_models(self, models: Iterable[Any]) -> None:
        """Record model entries by identity (once each): the settings behind every call and result."""
        with write_transaction(self.engine) as conn:
            for m in models:
                if conn.execute(select(t.models.c.identity).where(t.models.c.identity == m.identity)).first():
                    continue
                conn.execute(insert(t.models).values(identity=m.identity, label=m.label, provider=m.provider,
                                                     model=m.model, data=m.model_dump_json(), created_at=now()))

    def create_run(self, name: str, dataset_id: int, spec: dict[str, Any]) -> str:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        stamp = now()
        with write_transaction(self.engine) as conn:
            conn.execute(insert(t.runs).values(id=run_id, name=name, dataset_id=dataset_id, status="running",
                                               spec=json.dumps(spec), created_at=stamp, updated_at=stamp))
        return run_id

    def set_run_status(self, run_id: str, status: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(status=status, updated_at=now()))

    def get_run(self, run_id: str) -> RunInfo:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).first()
            if row is None and run_id:
                # A unique prefix is enough, as with git hashes.
                rows = conn.execute(select(t.runs).where(t.runs.c.id.startswith(run_id)).limit(2)).all()
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise StoreError(f"no run {run_id!r} in {self.url}; `assay runs` lists the runs")
        data = dict(row._mapping)
        data["spec"] = json.loads(data["spec"])
        return RunInfo(**data)

    def list_runs(self) -> list[RunInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.runs).order_by(t.runs.c.created_at.desc())).all()
        return [RunInfo(**{**r._mapping, "spec": json.loads(r.spec)}) for r in rows]

    def run_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """{"outputs": {status: n}, "judgments": {status: n}} (and "pairwise" when the run has any)."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for name, table in (("outputs", t.outputs), ("judgments", t.judgments),
                                ("pairwise", t.pairwise_judgments)):
                rows = conn.execute(select(table.c.status, func.count()).where(table.c.run_id == run_id)
                                    .group_by(table.c.status)).all()
                out[name] = dict(rows)
        if not out["pairwise"]:
            del out["pairwise"]  # most runs have no pairwise rubric
        return out

    # -- work items --------------------------------------------------------------------------------------

    def done_outputs(self, run_id: str) -> dict[tuple[str, str], str]:
        """(sample_id, candidate) → output text, for outputs already produced in this run."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.outputs.c.sample_id, t.outputs.c.candidate, t.outputs.c.text)
                                .where(t.outputs.c.run_id == run_id, t.outputs.c.status == "done"))
            return {(s, c): text for s, c, text in rows}

    def done_judgments(self, run_id: str) -> set[tuple[str, str, str, str, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.judgments.c.sample_id, t.judgments.c.candidate, t.judgments.c.rubric,
                                       t.judgments.c.judge, t.judgments.c.repeat)
                                .where(t.judgments.c.run_id == run_id, t.judgments.c.status == "done"))
            return {tuple(r) for r in rows}

    def done_pairwise(self, run_id: str) -> set[tuple[str, str, str, str, str, str, int]]:
        p = t.pairwise_judgments
        with self.engine.connect() as conn:
            rows = conn.execute(select(p.c.sample_id, p.c.rubric, p.c.judge, p.c.model_a, p.c.model_b, p.c.order,
                                       p.c.repeat).where(p.c.run_id == run_id, p.c.status == "done"))
            return {tuple(r) for r in rows}

    def pairwise(self, run_id: str) -> list[dict[str, Any]]:
        p = t.pairwise_judgments
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(p).where(p.c.run_id == run_id))]

    def output_lengths(self, run_id: str) -> dict[tuple[str, str], int]:
        """(sample_id, candidate) → length in characters of each output produced."""
        o = t.outputs
        with self.engine.connect() as conn:
            rows = conn.execute(select(o.c.sample_id, o.c.candidate, func.length(o.c.text))
                                .where(o.c.run_id == run_id, o.c.status == "done"))
            return {(s, c): n or 0 for s, c, n in rows}

    def outputs(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.outputs).where(t.outputs.c.run_id == run_id))]

    def judgments(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in
                    conn.execute(select(t.judgments).where(t.judgments.c.run_id == run_id))]

    def judgment_scores(self, run_id: str) -> list[tuple[str, str, str, str, str, float | None, str, int, bool]]:
        """(rubric, candidate, sample_id, status, rubric_version, score, judge, repeat, no_output) per judgment:
        what statistics need, without the text. `no_output` marks judgments skipped for a failed generation."""
        j = t.judgments
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(j.c.rubric, j.c.candidate, j.c.sample_id, j.c.status, j.c.rubric_version, j.c.score,
                       j.c.judge, j.c.repeat, j.c.status == SKIPPED)
                .where(j.c.run_id == run_id))]

    def failures(self, run_id: str, limit: int = 3) -> dict[str, list[dict[str, Any]]]:
        """The most common error messages of failed outputs (per candidate) and failed verdicts (per rubric,
        candidate and judge), with how often each occurred."""
        out: dict[str, list[dict[str, Any]]] = {"outputs": [], "judgments": [], "pairwise": []}
        o, j, p = t.outputs, t.judgments, t.pairwise_judgments
        n = func.count().label("n")
        queries = {
            "outputs": select(o.c.candidate, o.c.error, n).where(o.c.run_id == run_id, o.c.status == "failed")
            .group_by(o.c.candidate, o.c.error),
            "judgments": select(j.c.rubric, j.c.candidate, j.c.judge, j.c.error, n)
            .where(j.c.run_id == run_id, j.c.status == "failed")
            .group_by(j.c.rubric, j.c.candidate, j.c.judge, j.c.error),
            "pairwise": select(p.c.rubric, p.c.judge, p.c.error, n)
            .where(p.c.run_id == run_id, p.c.status == "failed").group_by(p.c.rubric, p.c.judge, p.c.error),
        }
        with self.engine.connect() as conn:
            for name, query in queries.items():
                rows = [{**r._mapping, "error": redact(r.error or "")} for r in conn.execute(query.order_by(n.desc()))]
                seen: dict[tuple[Any, ...], int] = {}
                for row in rows:  # the `limit` most common messages per model (and rubric, judge)
                    key = tuple(v for k, v in row.items() if k not in ("error", "n"))
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] <= limit:
                        out[name].append(row)
        return out

    def usage(self, run_id: str) -> dict[str, dict[str, float]]:
        """Per model label: calls, tokens and cost of the calls made for this run."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.calls.c.model_label, func.count(), func.sum(t.calls.c.input_tokens),
                                       func.sum(t.calls.c.output_tokens), func.sum(t.calls.c.cost))
                                .where(t.calls.c.run_id == run_id).group_by(t.calls.c.model_label)).all()
        return {label: {"calls": n, "input_tokens": i or 0, "output_tokens": o or 0, "cost": c or 0.0}
                for label, n, i, o, c in rows}

    # -- run leases: one process executes a run at a time -------------------------------------------------

    def acquire_lease(self, run_id: str, holder: str, seconds: float,
                      replacing: str | None = None) -> tuple[str, float] | None:
        """Take the run's lease for `seconds` if it is free, expired or already ours (or held by `replacing`, a
        holder known to be gone): None. Otherwise the current (holder, expires_at)."""
        lease = t.run_leases
        now_s = time.time()
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(insert(lease).values(run_id=run_id, holder=holder, expires_at=now_s + seconds))
            return None
        except IntegrityError:  # a lease row exists: take it only if it expired or is ours
            pass
        with write_transaction(self.engine) as conn:
            if conn.execute(update(lease).where(
                    lease.c.run_id == run_id,
                    or_(lease.c.expires_at < now_s, lease.c.holder == holder, lease.c.holder == replacing))
                    .values(holder=holder, expires_at=now_s + seconds)).rowcount:
                return None
            row = conn.execute(select(lease.c.holder, lease.c.expires_at).where(lease.c.run_id == run_id)).first()
        if row is None:  # released meanwhile: try again
            return self.acquire_lease(run_id, holder, seconds, replacing)
        return row[0], row[1]

    def renew_lease(self, run_id: str, holder: str, seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours (it expired and another process took it)."""
        lease = t.run_leases
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(update(lease).where(lease.c.run_id == run_id, lease.c.holder == holder)
                                     .values(expires_at=time.time() + seconds)).rowcount)

    def release_lease(self, run_id: str, holder: str) -> None:
        lease = t.run_leases
        with write_transaction(self.engine) as conn:
            conn.execute(delete(lease).where(lease.c.run_id == run_id, lease.c.holder == holder))

    # -- the call cache ----------------------------------------------------------------------------------

    def cached_hashes(self, identities: Iterable[str]) -> set[str]:
        """Request hashes with a successful cached response, for these model identities."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.calls.c.request_hash).where(
                t.calls.c.ok.is_(True), t.calls.c.model_identity.in_(list(identities))))
            return {r for (r,) in rows}

    def cached_calls(self, request_hash: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """The successful answers to a request, newest first (only those of `run_id` when given)."""
        c = t.calls
        q = select(c.c.response, c.c.input_tokens, c.c.output_tokens, c.c.logprobs).where(
            c.c.request_hash == request_hash, c.c.ok.is_(True))
        if run_id is not None:
            q = q.where(c.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(c.c.id.desc()))]

    def write_batch(self, batch: dict[str, list[dict[str, Any]]]) -> None:
        """Write calls, outputs and judgments in one transaction. Error texts are stored without secrets."""
        batch = {kind: [redact_fields(row) for row in rows] for kind, rows in batch.items()}
        with write_transaction(self.engine) as conn:
            if batch.get("calls"):
                conn.execute(insert(t.calls), batch["calls"])
            for name, table in (("outputs", t.outputs), ("judgments", t.judgments),
                                ("pairwise", t.pairwise_judgments)):
                if batch.get(name):
                    conn.execute(_upsert(self.engine, table, batch[name]), batch[name])


MAX_PENDING_WRITES = 5000


class StoreWriter:
    """Writes records from the event loop on a background thread, a transaction per batch.

    The loop only enqueues; the thread takes everything waiting at once. Under load batches grow, so the
    commit cost per record falls; when idle a record is committed at once, so a killed process loses only
    what was in flight. At most `max_pending` records wait: when calls finish faster than the disk takes them
    (or another process holds the database), `put` waits for room, the event loop running on meanwhile,
    rather than piling records up in memory.
    """

    def __init__(self, store: Store, *, max_pending: int = MAX_PENDING_WRITES) -> None:
        self.store = store
        self._q: queue.SimpleQueue[tuple[str, dict[str, Any], Callable[[], object] | None] | None] = \
            queue.SimpleQueue()
        self._room = asyncio.Semaphore(max_pending)  # taken by `put`, given back once the record is written
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="assay-store-writer", daemon=True)
        self._thread.start()

    async def put(self, kind: str, row: dict[str, Any], on_commit: Callable[[], object] | None = None) -> None:
        """Queue a row, waiting while the queue is full; `on_commit` is called on the event loop once the row is
        committed."""
        self._raise_if_failed()
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        await self._room.acquire()
        self._q.put((kind, row, on_commit))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise StoreError(f"writing to the store failed: {self._error}") from self._error

    def _written(self, n: int, committed: list[Callable[[], object]]) -> None:
        """On the event loop, once a batch of `n` rows is done with: its commit callbacks, then room for more."""
        for callback in committed:
            callback()
        for _ in range(n):
            self._room.release()

    def _run(self) -> None:
        done = False
        while not done:
            items = [self._q.get()]
            while True:
                try:
                    items.append(self._q.get_nowait())
                except queue.Empty:
                    break
            batch: dict[str, list[dict[str, Any]]] = {}
            committed: list[Callable[[], object]] = []
            for item in items:
                if item is None:
                    done = True
                    continue
                batch.setdefault(item[0], []).append(item[1])
                if item[2] is not None:
                    committed.append(item[2])
            if not batch:
                continue
            try:
                self.store.write_batch(batch)
            except BaseException as e:  # surfaced to the loop on its next put, and by close
                self._error = e
                committed = []
            if self._loop is not None:  # one hop to the event loop per batch, not one per row
                try:
                    self._loop.call_soon_threadsafe(self._written, sum(len(rows) for rows in batch.values()),
                                                    committed)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass

    def close(self) -> None:
        """Write what is queued and stop the thread; raises StoreError if any write failed."""
        self._q.put(None)
        self._thread.join()
        self._raise_if_failed()
