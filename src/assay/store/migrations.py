"""Ordered schema migrations, tracked in `schema_migrations`. Add new ones at the end; never edit old ones."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Connection, inspect, select, text

from assay.store import schema


def m001_initial(conn: Connection) -> None:
    tables = [schema.datasets, schema.dataset_rows, schema.rubrics, schema.runs, schema.outputs, schema.judgments,
              schema.calls]
    schema.metadata.create_all(conn, tables=tables)


def m002_pairwise_judgments(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.pairwise_judgments])


def m003_dataset_file_hash(conn: Connection) -> None:
    # A database created by m001 after this column joined the table definition has it already.
    if "file_sha256" not in {c["name"] for c in inspect(conn).get_columns("datasets")}:
        conn.execute(text("ALTER TABLE datasets ADD COLUMN file_sha256 VARCHAR(64)"))


def m004_models(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.models])


def m006_run_leases(conn: Connection) -> None:
    # Fixed as written: who executes a run, until when (seconds since the epoch); see Store.acquire_lease.
    from sqlalchemy import Column, Float, MetaData, String, Table

    m = MetaData()
    Table(
        "run_leases", m,
        Column("run_id", String(64), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("expires_at", Float, nullable=False),
    )
    m.create_all(conn)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial", m001_initial),
    (2, "pairwise judgments", m002_pairwise_judgments),
    (3, "dataset file hash", m003_dataset_file_hash),
    (4, "model entries", m004_models),
    (6, "run leases", m006_run_leases),
]


def migrate(conn: Connection) -> list[int]:
    """Apply the migrations not yet applied, in order. Returns the versions applied."""
    schema.metadata.create_all(conn, tables=[schema.schema_migrations])
    done = set(conn.execute(select(schema.schema_migrations.c.version)).scalars())
    applied = []
    for version, name, fn in MIGRATIONS:
        if version in done:
            continue
        fn(conn)
        conn.execute(schema.schema_migrations.insert().values(
            version=version, name=name, applied_at=datetime.now(timezone.utc).isoformat(timespec="seconds")))
        applied.append(version)
    return applied
