"""Attempt limits per badge, per source address and per device, shared by all server processes.

Counters are fixed one-minute windows in the database (not process memory), so N servers
behind a load balancer enforce one limit. A window ends by itself: there is no permanent
lock-out, a child who was throttled can try again a minute later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from badge_server.clock import utcnow
from badge_server.errors import PinTriesUsedUp, RateLimited
from badge_server.store.db import transaction
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
    then fail must still count, so they cannot share the request's rolled-back transaction.
    """
    with transaction(factory) as session:
        retry_after = count_attempts(session, limits)
    if retry_after == DAILY_LIMIT_REACHED:
        # Daily limits guard PIN tries only; a countdown of hours would help no child.
        raise PinTriesUsedUp()
    if retry_after is not None:
        raise RateLimited(retry_after)


def count_attempts(session: Session, limits: list[Limit]) -> int | None:
    """Count one attempt against every limit; the seconds to wait if any is exceeded, else None."""
    now = utcnow().timestamp()
    window = int(now // WINDOW_SECONDS)
    day = window - window % DAY_MINUTES  # a day's window, in the same minute numbers
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    exceeded = None
    for limit in limits:
        statement = (
            insert(RateCounter)
            .values(key=limit.key, window_start=day if limit.key.startswith(DAILY) else window, count=1)
            .on_conflict_do_update(index_elements=["key", "window_start"], set_={"count": RateCounter.count + 1})
            .returning(RateCounter.count)
        )
        count = session.execute(statement).scalar_one()
        if count > limit.per_minute and exceeded is None:
            exceeded = limit
    if window % 5 == 0:
        # Old windows are never read again; sweep them now and then so the table stays small.
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


DAILY_LIMIT_REACHED = -1  # count_attempts' answer when a daily limit, not a minute's, is used up


def current_count(session: Session, key: str) -> int:
    """Attempts counted for ``key`` in the current window (for tests and health pages)."""
    window = int(utcnow().timestamp() // WINDOW_SECONDS)
    found = session.execute(
        select(RateCounter.count).where(RateCounter.key == key, RateCounter.window_start == window)
    ).scalar_one_or_none()
    return found or 0
