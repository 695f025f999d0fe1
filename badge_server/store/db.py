"""Engine and session factory: SQLite (WAL, embedded default) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import math
import sqlite3
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from badge_server.errors import WriterBusy
from badge_server.store.writer import WriterQueue

READ_ONLY = "badge_read_only"  # an execution option: see read_only_transaction
# What Core statements run on: a request's Session, or a Connection where a hot path (the badge
# exchange) skips the Session's own cost (a unit of work it does not use: ~100 us a transaction).
Executor = Session | Connection


class WithoutWaiting:
    """A request's work run on the event loop's own thread (web.deps.on_the_loop_if_free), which
    must never sleep waiting for SQLite's writer: its transaction begins only if the writer is free
    this instant, else WriterBusy, before any statement. Only one transaction: a second could
    meet a busy writer after the first committed, and the work could not start over."""

    def __init__(self, reserved: WriterQueue | None = None) -> None:
        self.began = False
        #: The writer, taken for this work before it started (:func:`without_waiting`), until
        #: its transaction's connection holds it.
        self.reserved = reserved


#: Set while such work runs (see WithoutWaiting).
WITHOUT_WAITING: ContextVar[WithoutWaiting | None] = ContextVar("without_waiting", default=None)
_WRITERS: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


@contextmanager
def without_waiting(engine: Engine) -> Iterator[bool]:
    """Work in this block runs on the event loop (see WithoutWaiting). True: SQLite's writer was
    free, and is taken for the transaction the work begins (given back after the block if it began
    none). False: the writer is busy and nothing was taken. Taking it before the work starts
    means a busy writer costs a look at two locks, not the work done up to its first statement:
    with two workers on one file, that was a fifth of each sign-in's CPU."""
    writer = _WRITERS[engine]
    if not writer.try_acquire():
        yield False
        return
    attempt = WithoutWaiting(reserved=writer)
    token = WITHOUT_WAITING.set(attempt)
    try:
        yield True
    finally:
        WITHOUT_WAITING.reset(token)
        if attempt.reserved is not None:
            writer.release()


def make_engine(url: str) -> Engine:
    """An engine configured for the product's concurrency rules on either database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_size=10, max_overflow=20)
        _ping_after_idle(engine)
        return engine

    database_file = parsed.database if parsed.database and parsed.database != ":memory:" else None
    if database_file is not None:
        Path(database_file).parent.mkdir(parents=True, exist_ok=True)
        # Badge digests and encrypted secrets: owner only. SQLite gives its -wal and -shm files
        # the database file's mode, so creating it 0600 covers them too, whatever the umask.
        Path(database_file).touch(mode=0o600, exist_ok=True)
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

    # SQLite has one writer at a time. Writers queue for it on locks of our own (store/writer.py):
    # waiting on SQLite's own file lock is a sleep-and-retry loop (sleeps of up to 100 ms while
    # the lock may already be free), which under a morning rush cost more than the work itself.
    writer = _WRITERS[engine] = WriterQueue(database_file)

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
            _begin_without_waiting(connection, record, writer, attempt)
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


# A pooled connection used this recently is taken as alive; one idle longer is asked first.
IDLE_BEFORE_PING_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection idle a second or more.

    A database restart, a failover or a firewall's idle cut leaves dead connections in the pool;
    asking each connection first replaces them before a request meets one. Asking on every
    checkout, as ``pool_pre_ping`` does, cost a round trip per transaction: a third of an
    exchange's server CPU on PostgreSQL under load (benchmarks/README.md, 2026-12-04). A
    connection checked in within the second is known alive; one that died since fails its
    request (503, the kiosk tries again) and SQLAlchemy then replaces the pool's connections.
    """

    @event.listens_for(engine.pool, "connect")
    @event.listens_for(engine.pool, "checkin")
    def _last_known_alive(_dbapi_connection: Any, record: Any) -> None:
        record.info["alive_at"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ask_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("alive_at", -math.inf) < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool's own answer to a dead connection: it opens a new one and tries again.
            raise DisconnectionError() from exc


def _begin_without_waiting(connection: Any, record: Any, writer: WriterQueue, attempt: WithoutWaiting) -> None:
    """BEGIN IMMEDIATE only if the writer's queue (taken for the attempt already, or free now) and
    SQLite's own lock (a process outside the queue) are both free; else WriterBusy, with nothing
    begun (the queue's lock, if taken, goes back with the connection)."""
    if record is None:
        raise WriterBusy()
    if attempt.reserved is writer:
        attempt.reserved = None  # the connection holds it now
    elif not (record.info.get("writer") or writer.try_acquire()):
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
    readers = _READERS.get(factory)
    if readers is None:
        # Made once per factory: making them per transaction cost a dashboard 40 us.
        engine = factory.kw["bind"].execution_options(**{READ_ONLY: True})
        readers = _READERS[factory] = sessionmaker(engine, class_=_ReadOnlySession, expire_on_commit=False)
    with readers() as session, session.begin():
        yield session


class _ReadOnlySession(Session):
    """A session of :func:`read_only_transaction`, which refuses to write."""


_READERS: weakref.WeakKeyDictionary[sessionmaker[Session], sessionmaker[_ReadOnlySession]] = weakref.WeakKeyDictionary()


@event.listens_for(_ReadOnlySession, "before_flush")
def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only transaction tried to write")


@event.listens_for(_ReadOnlySession, "do_orm_execute")
def _refuse_write_statements(state: ORMExecuteState) -> None:
    # Core INSERT/UPDATE/DELETE (audit rows, counters) bypass the flush: refused here instead.
    if state.is_insert or state.is_update or state.is_delete:
        raise RuntimeError("a read-only transaction tried to write")


def dialect_name(db: Executor) -> str:
    """ "sqlite" or "postgresql", from a Session or a Connection."""
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name
