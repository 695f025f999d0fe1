"""Engine and session factory: SQLite (WAL, embedded default) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import collections
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from badge_server.errors import WriterBusy

READ_ONLY = "badge_read_only"  # an execution option: see read_only_transaction
# What Core statements run on: a request's Session, or a Connection where a hot path (the badge
# exchange) skips the Session's own cost (a unit of work it does not use: ~100 us a transaction).
Executor = Session | Connection


class WithoutWaiting:
    """A request's work run on the event loop's own thread (web.deps.on_the_loop_if_free), which
    must never sleep waiting for SQLite's writer: its transaction begins only if the writer is free
    this instant, else WriterBusy, before any statement. Only one transaction: a second could
    meet a busy writer after the first committed, and the work could not start over."""

    def __init__(self) -> None:
        self.began = False


#: Set while such work runs (see WithoutWaiting).
WITHOUT_WAITING: ContextVar[WithoutWaiting | None] = ContextVar("without_waiting", default=None)


def make_engine(url: str) -> Engine:
    """An engine configured for the product's concurrency rules on either database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Badge digests and encrypted secrets: owner only. SQLite gives its -wal and -shm files
        # the database file's mode, so creating it 0600 covers them too, whatever the umask.
        Path(parsed.database).touch(mode=0o600, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # SQLite has one writer at a time. Threads of this process queue for it on a Python lock:
    # waiting on SQLite's own file lock is a sleep-and-retry loop (sleeps of up to 100 ms while
    # the lock may already be free), which under a morning rush cost more than the work itself.
    # Other processes (several workers on one file) still meet at the file lock.
    writer = FifoLock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # WAL: a reader sees the last commit and neither waits for nor blocks the writer.
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        record = connection.connection._connection_record
        if (attempt := WITHOUT_WAITING.get()) is not None:
            if attempt.began:
                raise RuntimeError("work run on the event loop began a second transaction")
            _begin_without_waiting(connection, record, writer)
            attempt.began = True
            return
        if record is not None and not record.info.get("writer"):
            record.info["writer"] = writer.acquire(timeout=30)
        # BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that reads and
        # then writes can fail with SQLITE_BUSY at once (no waiting) when another writer got in
        # between; taking the lock first makes concurrent requests queue instead of fail.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # Back in the pool means committed or rolled back: the next writer may go.
        if record.info.pop("writer", False):
            writer.release()

    return engine


def _begin_without_waiting(connection: Any, record: Any, writer: FifoLock) -> None:
    """BEGIN IMMEDIATE only if this process's writer lock and SQLite's (another process's
    writer) are both free now; else WriterBusy, with nothing begun (the writer lock, if taken,
    goes back with the connection)."""
    if record is None or not (record.info.get("writer") or writer.try_acquire()):
        raise WriterBusy()
    record.info["writer"] = True  # released when the connection goes back to the pool
    # On the driver's connection: three statements through SQLAlchemy cost 6% of an exchange.
    driver = connection.connection.dbapi_connection
    driver.execute("PRAGMA busy_timeout=0")
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        # SQLITE_BUSY: another process writes. (Any other failure, too: the work's second try,
        # in a thread, meets it through SQLAlchemy and answers as the error handlers say.)
        raise WriterBusy() from exc
    finally:
        driver.execute("PRAGMA busy_timeout=30000")


class FifoLock:
    """A lock that goes to the threads waiting for it in the order they came.

    ``threading.Lock`` lets whichever thread runs next take it: under a rush with dozens of
    requests waiting for SQLite's writer, some waited seconds while later ones went first
    (benchmarks/exchange.py at 300 exchanges/s: median 12 ms, p95 7 s). Here the releasing
    thread hands the lock straight to the longest waiter.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._guard:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over just as the wait timed out: the lock is this thread's now

    def try_acquire(self) -> bool:
        """The lock if nobody holds it or waits for it (never jumping the queue), without waiting."""
        with self._guard:
            if self._held:
                return False
            self._held = True
            return True

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by that waiter
            else:
                self._held = False


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block ends normally, roll back if it raises."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_only_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that only reads. On SQLite it takes no write lock (every other transaction
    does, up front), so a read between slow steps (a password check) holds up no kiosk. A flush
    in it is a bug, refused before anything reaches the database."""
    engine = factory.kw["bind"].execution_options(**{READ_ONLY: True})
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
        event.listen(session, "before_flush", _refuse_writes)
        event.listen(session, "do_orm_execute", _refuse_write_statements)
        yield session


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only transaction tried to write")


def _refuse_write_statements(state: ORMExecuteState) -> None:
    # Core INSERT/UPDATE/DELETE (audit rows, counters) bypass the flush: refused here instead.
    if state.is_insert or state.is_update or state.is_delete:
        raise RuntimeError("a read-only transaction tried to write")


def dialect_name(db: Executor) -> str:
    """ "sqlite" or "postgresql", from a Session or a Connection."""
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name
