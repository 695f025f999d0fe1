"""Attempt limits per badge, per source address and per device, shared by all server processes.

Counters are fixed one-minute windows in the database (not process memory), so N servers
behind a load balancer enforce one limit. A window ends by itself: there is no permanent
lock-out, a child who was throttled can try again a minute later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from badge_server.clock import utcnow
from badge_server.errors import PinTriesUsedUp, RateLimited
from badge_server.store.db import Executor, dialect_name, transaction
from badge_server.store.driver import DriverStatement
from badge_server.store.models import RateCounter

WINDOW_SECONDS = 60


DAY_MINUTES = 24 * 60
DAILY = "daily:"  # keys of limits counted per UTC day instead of per minute


@dataclass(frozen=True)
class Limit:
    """``key`` may make at most ``per_minute`` attempts in one window (a minute; a UTC day for
    keys made by :func:`daily`)."""

    key: str
    per_minute: int


def daily(key: str, per_day: int) -> Limit:
    """A limit counted per UTC day (e.g. PIN tries of one badge)."""
    return Limit(DAILY + key, per_day)


def enforce_limits(factory: sessionmaker[Session], limits: list[Limit]) -> None:
    """Count one attempt against every limit, commit, then raise :class:`RateLimited` if over.

    The count is committed in its own transaction, before the work it guards: attempts that
    then fail must still count. (A request may instead count in its own transaction with
    :func:`enforce_in`, if whatever handles its failure counts again: web/deps.py.)
    """
    with transaction(factory) as session:
        retry_after = count_attempts(session, limits)
    _refuse_if_over(retry_after)


def enforce_in(session: Executor, limits: list[Limit]) -> None:
    """Count one attempt against every limit in the caller's transaction; raise if over."""
    _refuse_if_over(count_attempts(session, limits))


def _refuse_if_over(retry_after: int | None) -> None:
    if retry_after == DAILY_LIMIT_REACHED:
        # Daily limits guard PIN tries only; a countdown of hours would help no child.
        raise PinTriesUsedUp()
    if retry_after is not None:
        raise RateLimited(retry_after)


def count_attempts(session: Executor, limits: list[Limit]) -> int | None:
    """Count one attempt against every limit; the seconds to wait if any is exceeded, else None."""
    now = utcnow().timestamp()
    window = int(now // WINDOW_SECONDS)
    day = window - window % DAY_MINUTES  # a day's window, in the same minute numbers
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
    upsert = _UPSERT[dialect_name(session) == "postgresql"]
    exceeded = None
    # Always in the same order (by key): two transactions counting the same keys on PostgreSQL
    # lock their rows in the same order, so they queue instead of deadlocking.
    for limit in sorted(limits, key=lambda limit: limit.key):
        start = day if limit.key.startswith(DAILY) else window
        count = upsert.rows(session, {"key": limit.key, "window_start": start})[0].count
        if count > limit.per_minute and exceeded is None:
            exceeded = limit
    if window % 5 == 0 and _last_sweep[0] != window:
        # Old windows are never read again; sweep them now and then so the table stays small:
        # once in that minute per process (racing threads may both sweep; it does no harm), not
        # on every request of the minute, as the exchange benchmark's profile found.
        _last_sweep[0] = window
        session.execute(
            delete(RateCounter).where(
                or_(
                    and_(RateCounter.window_start < window - 2, not_(RateCounter.key.startswith(DAILY))),
                    RateCounter.window_start < day - DAY_MINUTES,
                )
            )
        )
    if exceeded is not None and exceeded.key.startswith(DAILY):
        return DAILY_LIMIT_REACHED
    return retry_after if exceeded is not None else None


def _upsert(insert: Any) -> Any:
    # On the table, not the ORM class: a Core statement, compiled once (every request counts).
    table = RateCounter.__table__
    return (
        insert(table)
        .values(key=bindparam("key"), window_start=bindparam("window_start"), count=1)
        .on_conflict_do_update(index_elements=["key", "window_start"], set_={"count": table.c.count + 1})
        .returning(table.c.count)
    )


_UPSERT = {False: DriverStatement(_upsert(sqlite.insert)), True: DriverStatement(_upsert(postgresql.insert))}
_last_sweep = [-1]  # the minute this process last swept old windows
DAILY_LIMIT_REACHED = -1  # count_attempts' answer when a daily limit, not a minute's, is used up


def current_count(session: Session, key: str) -> int:
    """Attempts counted for ``key`` in the current window (for tests and health pages)."""
    window = int(utcnow().timestamp() // WINDOW_SECONDS)
    found = session.execute(
        select(RateCounter.count).where(RateCounter.key == key, RateCounter.window_start == window)
    ).scalar_one_or_none()
    return found or 0
