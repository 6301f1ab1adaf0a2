"""Ordered schema migrations, tracked in `schema_migrations`.

Adding one: write a function `mNNN_what(conn)` below the last and append `(NNN, "what", mNNN_what)` to
MIGRATIONS with the next number. Its DDL is fixed as written on the day: SQL text valid on SQLite and
PostgreSQL, or SQLAlchemy `Table` objects defined inside the function on their own `MetaData`; never the live
tables of `schema.py`, which change later (update `schema.py` too, so the current definition matches what the
migrations build). Convert existing rows in the same function when the meaning of a column changes. Never edit
a migration once released: databases out there have applied it as it was.

`migrate` applies every pending migration inside one transaction holding the write lock: a failing migration
leaves nothing behind and records nothing, and a second process opening the database at the same moment waits,
then finds the work done. A database written by a newer assay (a version above the last one here) is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)

from assay.errors import StoreError
from assay.store.database import write_transaction


def _migrations_table(metadata: MetaData) -> Table:
    return Table(
        "schema_migrations", metadata,
        Column("version", Integer, primary_key=True),
        Column("name", String(128), nullable=False),
        Column("applied_at", String(32), nullable=False),
    )


def m001_initial(conn: Connection) -> None:
    m = MetaData()
    Table(
        "datasets", m,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(128), nullable=False),
        Column("version", String(32), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("format", String(16), nullable=False),
        Column("n_rows", Integer, nullable=False),
        Column("source", Text),
        Column("created_at", String(32), nullable=False),
        UniqueConstraint("name", "version", name="uq_dataset_name_version"),
    )
    Table(
        "dataset_rows", m,
        Column("dataset_id", Integer, nullable=False),
        Column("idx", Integer, nullable=False),
        Column("sample_id", String(256), nullable=False),
        Column("data", Text, nullable=False),
        PrimaryKeyConstraint("dataset_id", "idx"),
        UniqueConstraint("dataset_id", "sample_id", name="uq_row_sample"),
    )
    Table(
        "rubrics", m,
        Column("version", String(32), primary_key=True),
        Column("name", String(64), nullable=False),
        Column("data", Text, nullable=False),
        Column("created_at", String(32), nullable=False),
    )
    Table(
        "runs", m,
        Column("id", String(64), primary_key=True),
        Column("name", String(128), nullable=False),
        Column("dataset_id", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("spec", Text, nullable=False),
        Column("created_at", String(32), nullable=False),
        Column("updated_at", String(32), nullable=False),
    )
    Table(
        "outputs", m,
        Column("run_id", String(64), nullable=False),
        Column("sample_id", String(256), nullable=False),
        Column("candidate", String(64), nullable=False),
        Column("status", String(8), nullable=False),
        Column("text", Text),
        Column("error", Text),
        *_accounting_v1(),
        PrimaryKeyConstraint("run_id", "sample_id", "candidate"),
    )
    Table(
        "judgments", m,
        Column("run_id", String(64), nullable=False),
        Column("sample_id", String(256), nullable=False),
        Column("candidate", String(64), nullable=False),
        Column("rubric", String(64), nullable=False),
        Column("judge", String(64), nullable=False),
        Column("repeat", Integer, nullable=False),
        Column("rubric_version", String(32), nullable=False),
        Column("status", String(8), nullable=False),
        Column("score", Float),
        Column("reasoning", Text),
        Column("raw", Text),
        Column("error", Text),
        *_accounting_v1(),
        PrimaryKeyConstraint("run_id", "sample_id", "candidate", "rubric", "judge", "repeat"),
    )
    Table(
        "calls", m,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("request_hash", String(64), nullable=False),
        Column("model_identity", String(32), nullable=False),
        Column("model_label", String(64), nullable=False),
        Column("run_id", String(64)),
        Column("purpose", String(16), nullable=False),
        Column("ok", Boolean, nullable=False),
        Column("response", Text),
        Column("input_tokens", Integer),
        Column("output_tokens", Integer),
        Column("latency_ms", Float),
        Column("cost", Float),
        Column("error", Text),
        Column("status_code", Integer),
        Column("created_at", String(32), nullable=False),
        Index("ix_calls_request_hash", "request_hash"),
    )
    # Releases before atomic migrations could leave tables behind without recording them: create what's missing.
    m.create_all(conn, checkfirst=True)


def _accounting_v1() -> list[Column]:  # type: ignore[type-arg]
    """The call behind a work item and its cost, as migrations 1 and 2 define them."""
    return [
        Column("request_hash", String(64)),
        Column("input_tokens", Integer),
        Column("output_tokens", Integer),
        Column("latency_ms", Float),
        Column("cost", Float),
        Column("cached", Boolean, nullable=False),
        Column("created_at", String(32), nullable=False),
    ]


def m002_pairwise_judgments(conn: Connection) -> None:
    m = MetaData()
    Table(
        "pairwise_judgments", m,
        Column("run_id", String(64), nullable=False),
        Column("sample_id", String(256), nullable=False),
        Column("rubric", String(64), nullable=False),
        Column("judge", String(64), nullable=False),
        Column("model_a", String(64), nullable=False),
        Column("model_b", String(64), nullable=False),
        Column("order", String(2), nullable=False),
        Column("repeat", Integer, nullable=False),
        Column("rubric_version", String(32), nullable=False),
        Column("status", String(8), nullable=False),
        Column("winner", String(64)),
        Column("position", String(4)),
        Column("reasoning", Text),
        Column("raw", Text),
        Column("error", Text),
        *_accounting_v1(),
        PrimaryKeyConstraint("run_id", "sample_id", "rubric", "judge", "model_a", "model_b", "order", "repeat"),
    )
    m.create_all(conn, checkfirst=True)


def m003_dataset_file_hash(conn: Connection) -> None:
    # Releases 0.1.x built m001 from the live schema, which had gained this column: such databases have it.
    if "file_sha256" not in {c["name"] for c in inspect(conn).get_columns("datasets")}:
        conn.execute(text("ALTER TABLE datasets ADD COLUMN file_sha256 VARCHAR(64)"))


def m004_models(conn: Connection) -> None:
    m = MetaData()
    Table(
        "models", m,
        Column("identity", String(32), primary_key=True),
        Column("label", String(64), nullable=False),
        Column("provider", String(64), nullable=False),
        Column("model", String(256), nullable=False),
        Column("data", Text, nullable=False),
        Column("created_at", String(32), nullable=False),
    )
    m.create_all(conn, checkfirst=True)


def m005_pairwise_outcome(conn: Connection) -> None:
    # model_a's result of each pairwise verdict in [0, 1] (graded and weighted verdicts are more than a winner),
    # and the token log-probabilities of a call, so a weighted verdict served from the call cache reads the same.
    conn.execute(text("ALTER TABLE pairwise_judgments ADD COLUMN outcome FLOAT"))
    conn.execute(text("ALTER TABLE calls ADD COLUMN logprobs TEXT"))


def m006_run_leases(conn: Connection) -> None:
    # Fixed as written: who executes a run, until when (seconds since the epoch); see Store.acquire_lease.
    m = MetaData()
    Table(
        "run_leases", m,
        Column("run_id", String(64), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("expires_at", Float, nullable=False),
    )
    m.create_all(conn)


def m007_skipped_judgments(conn: Connection) -> None:
    # A judgment (or pairwise verdict) that never happened because a candidate produced no output was a failure
    # whose error began with this text; it has a status of its own now.
    conn.execute(text("UPDATE judgments SET status = 'skipped' "
                      "WHERE status = 'failed' AND error LIKE 'no output to judge%'"))
    conn.execute(text("UPDATE pairwise_judgments SET status = 'skipped' "
                      "WHERE status = 'failed' AND error LIKE 'no outputs to compare%'"))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial", m001_initial),
    (2, "pairwise judgments", m002_pairwise_judgments),
    (3, "dataset file hash", m003_dataset_file_hash),
    (4, "model entries", m004_models),
    (5, "pairwise outcome", m005_pairwise_outcome),
    (6, "run leases", m006_run_leases),
    (7, "skipped judgments", m007_skipped_judgments),
]


def latest() -> int:
    return max(v for v, _, _ in MIGRATIONS)


def _applied(conn: Connection) -> set[int] | None:
    """Versions recorded as applied; None for a database without the table (a new one)."""
    if not inspect(conn).has_table("schema_migrations"):
        return None
    return set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())


def _refuse_newer(applied: set[int], where: str) -> None:
    newest = max(applied, default=0)
    if newest > latest():
        try:
            mine = f"assay {package_version('assay')}"
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            mine = "this assay"
        raise StoreError(f"the database {where} was written by a newer assay (schema version {newest}); "
                         f"{mine} knows schema versions up to {latest()}. Upgrade assay to use it.")


def migrate(engine: Engine, *, where: str = "") -> list[int]:
    """Apply the migrations not yet applied, in order, atomically. Returns the versions applied.

    `where` names the database in messages."""
    with engine.connect() as conn:  # most opens find nothing to do: check without taking the write lock
        applied = _applied(conn)
    if applied is not None:
        _refuse_newer(applied, where)
        if all(v in applied for v, _, _ in MIGRATIONS):
            return []
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":  # PostgreSQL's stand-in for SQLite's database-wide write lock
            conn.execute(text("SELECT pg_advisory_xact_lock(7110351)"))
        _migrations_table(MetaData()).create(conn, checkfirst=True)
        applied = _applied(conn) or set()  # again: another process may have migrated while this one waited
        _refuse_newer(applied, where)
        new = []
        for version, name, fn in sorted(MIGRATIONS, key=lambda m: m[0]):
            if version in applied:
                continue
            fn(conn)
            conn.execute(text("INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)"),
                         {"v": version, "n": name, "t": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            new.append(version)
    return new
