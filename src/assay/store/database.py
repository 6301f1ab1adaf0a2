"""Opening a database: the URL, SQLite's settings, and transactions that mean what they say.

pysqlite, left to itself, begins a transaction only before INSERT/UPDATE/DELETE, so DDL runs outside any
transaction and a failing migration leaves half a schema behind. Here the driver's own transaction handling is
off and SQLAlchemy's BEGIN is emitted as written: DDL is transactional, and a writer takes the write lock at
BEGIN (`BEGIN IMMEDIATE`), where SQLite's busy timeout applies, rather than midway through, where a busy
database fails at once. Readers use plain `BEGIN` and never wait on writers (WAL). A writer that finds the
database locked by another process for longer than the busy timeout tries again: it waits, it never fails.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from assay.errors import StoreError

log = logging.getLogger("assay")

T = TypeVar("T")

# How long a statement waits for another process's write lock before SQLite gives up. Long, because a large
# `assay dataset import` holds the lock for as long as it takes; ASSAY_DB_BUSY_TIMEOUT (seconds) changes it.
DEFAULT_BUSY_TIMEOUT_S = 120.0
_WRITE = "assay_write"  # execution option of connections that take the write lock at BEGIN


def busy_timeout_s() -> float:
    value = os.environ.get("ASSAY_DB_BUSY_TIMEOUT")
    if not value:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise StoreError(f"ASSAY_DB_BUSY_TIMEOUT must be a number of seconds >= 0; got {value!r}")
    return seconds


def open_engine(url: str, *, busy_timeout: float | None = None) -> Engine:
    """An engine for a path (SQLite, its folder created) or a database URL. SQL parameters (model responses,
    prompts) never appear in error messages."""
    if "://" not in url:
        path = Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    engine = create_engine(url, hide_parameters=True)
    if make_url(url).get_backend_name() == "sqlite":
        timeout_ms = int(1000 * (busy_timeout_s() if busy_timeout is None else busy_timeout))

        def connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy's BEGIN, not the driver's, starts transactions
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={timeout_ms}")  # first: the next pragma may wait for a lock
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        def begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

        event.listen(engine, "connect", connect)
        event.listen(engine, "begin", begin)
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's write lock from its start (SQLite: BEGIN IMMEDIATE) and commits
    at the end, or rolls back entirely on an error. While another process holds the lock, it waits: once the
    busy timeout has passed, it tries again, so a write that must happen is never dropped."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with retry_while_busy(conn.begin):
            yield conn


def is_busy(error: BaseException) -> bool:
    """The database was locked by another writer for longer than the busy timeout."""
    if not isinstance(error, OperationalError):
        return False
    message = str(error.orig).lower()
    return "locked" in message or "busy" in message


def retry_while_busy(attempt: Callable[[], T]) -> T:
    """`attempt()`, tried again for as long as it fails because another process holds the database."""
    pause, warned = 0.05, False
    while True:
        try:
            return attempt()
        except OperationalError as e:
            if not is_busy(e):
                raise
            if not warned:  # once per write: an operator may want to know why the run stalls
                log.warning("the database is locked by another process; waiting for it")
                warned = True
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
