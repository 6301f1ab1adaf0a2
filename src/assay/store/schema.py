"""Table definitions (SQLAlchemy Core). Types are portable: the same schema runs on SQLite and PostgreSQL.

Natural keys are primary keys, so a work item can exist once per run even when two processes race.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def _item_accounting() -> list[Column]:  # type: ignore[type-arg]
    """Columns every work item (output, judgment, pairwise verdict) carries: the call behind it and its cost."""
    return [
        Column("request_hash", String(64)),
        Column("input_tokens", Integer),
        Column("output_tokens", Integer),
        Column("latency_ms", Float),
        Column("cost", Float),
        Column("cached", Boolean, nullable=False, default=False),
        Column("created_at", String(32), nullable=False),
    ]

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("applied_at", String(32), nullable=False),
)

datasets = Table(
    "datasets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("version", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("source", Text),
    Column("created_at", String(32), nullable=False),
    Column("file_sha256", String(64)),  # the imported file's bytes, so an unchanged file isn't parsed again
    UniqueConstraint("name", "version", name="uq_dataset_name_version"),
)

dataset_rows = Table(
    "dataset_rows", metadata,
    Column("dataset_id", Integer, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("sample_id", String(256), nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("dataset_id", "idx"),
    UniqueConstraint("dataset_id", "sample_id", name="uq_row_sample"),
)

rubrics = Table(
    "rubrics", metadata,
    Column("version", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Model entries by identity (the hash of what changes their output): what every call and result traces to.
models = Table(
    "models", metadata,
    Column("identity", String(32), primary_key=True),
    Column("label", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("model", String(256), nullable=False),
    Column("data", Text, nullable=False),  # the entry as JSON: settings, never a key
    Column("created_at", String(32), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("dataset_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # running | interrupted | done
    Column("spec", Text, nullable=False),          # the resolved spec snapshot (JSON): the run's definition
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

outputs = Table(
    "outputs", metadata,
    Column("run_id", String(64), nullable=False),
    Column("sample_id", String(256), nullable=False),
    Column("candidate", String(64), nullable=False),
    Column("status", String(8), nullable=False),   # done | failed
    Column("text", Text),
    Column("error", Text),
    *_item_accounting(),
    PrimaryKeyConstraint("run_id", "sample_id", "candidate"),
)

judgments = Table(
    "judgments", metadata,
    Column("run_id", String(64), nullable=False),
    Column("sample_id", String(256), nullable=False),
    Column("candidate", String(64), nullable=False),
    Column("rubric", String(64), nullable=False),
    Column("judge", String(64), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("rubric_version", String(32), nullable=False),
    Column("status", String(8), nullable=False),   # done | failed | skipped (the candidate produced no output)
    Column("score", Float),
    Column("reasoning", Text),
    Column("raw", Text),                           # the judge's raw answer, kept for failed verdicts
    Column("error", Text),
    *_item_accounting(),
    PrimaryKeyConstraint("run_id", "sample_id", "candidate", "rubric", "judge", "repeat"),
)

# Every model call: the audit log, and (its successful rows) the cache.
calls = Table(
    "calls", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_hash", String(64), nullable=False),
    Column("model_identity", String(32), nullable=False),
    Column("model_label", String(64), nullable=False),
    Column("run_id", String(64)),
    Column("purpose", String(16), nullable=False),  # generate | judge
    Column("ok", Boolean, nullable=False),
    Column("response", Text),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("latency_ms", Float),
    Column("cost", Float),
    Column("error", Text),
    Column("status_code", Integer),
    Column("created_at", String(32), nullable=False),
    Column("logprobs", Text),  # token log-probabilities as JSON, when asked for (weighted pairwise verdicts)
    Index("ix_calls_request_hash", "request_hash"),
)

# A pairwise verdict: two candidates' outputs shown to a judge in one order ("ab": model_a shown as A).
pairwise_judgments = Table(
    "pairwise_judgments", metadata,
    Column("run_id", String(64), nullable=False),
    Column("sample_id", String(256), nullable=False),
    Column("rubric", String(64), nullable=False),
    Column("judge", String(64), nullable=False),
    Column("model_a", String(64), nullable=False),
    Column("model_b", String(64), nullable=False),
    Column("order", String(2), nullable=False),     # ab | ba
    Column("repeat", Integer, nullable=False),
    Column("rubric_version", String(32), nullable=False),
    Column("status", String(8), nullable=False),   # done | failed | skipped (a candidate produced no output)
    Column("winner", String(64)),                  # model_a's label, model_b's label, or "tie"
    Column("position", String(4)),                 # what the judge said: A | B | tie
    Column("reasoning", Text),
    Column("raw", Text),
    Column("error", Text),
    *_item_accounting(),
    # model_a's result in this order and repeat, in [0, 1]: 1 better, 0.5 tie, 0 worse; 0.75 / 0.25 for a graded
    # answer; a probability for a weighted one.
    Column("outcome", Float),
    PrimaryKeyConstraint("run_id", "sample_id", "rubric", "judge", "model_a", "model_b", "order", "repeat"),
)

# Who executes a run, until when (seconds since the epoch): one process at a time. The holder renews the lease
# while it runs; a killed holder's lease expires, and the run can be resumed.
run_leases = Table(
    "run_leases", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
)
