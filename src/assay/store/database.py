"""Opening a database: the URL, SQLite's settings, and transactions that mean what they say.

pysqlite, left to itself, begins a transaction only before INSERT/UPDATE/DELETE, so DDL runs outside any
transaction and a failing migration leaves half a schema behind. Here the driver's own transaction handling is
off and SQLAlchemy's BEGIN is emitted as written: DDL is transactional, and a writer takes the write lock at
BEGIN (`BEGIN IMMEDIATE`), where SQLite's busy timeout applies, rather than midway through, where a busy
database fails at once. Readers use plain `BEGIN` and never wait on writers (WAL).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_S = 10.0  # how long a statement waits for another process's write lock
_WRITE = "assay_write"  # execution option of connections that take the write lock at BEGIN


def open_engine(url: str) -> Engine:
    """An engine for a path (SQLite, its folder created) or a database URL."""
    if "://" not in url:
        path = Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    engine = create_engine(url)
    if make_url(url).get_backend_name() == "sqlite":
        timeout_ms = int(1000 * BUSY_TIMEOUT_S)

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
    at the end, or rolls back entirely on an error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn
