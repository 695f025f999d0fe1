"""The audit log: one row per issue, print, replace, revoke, enrolment, exchange and failure."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from badge_server.clock import utcnow
from badge_server.errors import PolicyError
from badge_server.store.db import Executor
from badge_server.store.driver import DriverStatement
from badge_server.store.models import AuditEvent

_INSERT = insert(AuditEvent.__table__)
_COLUMNS = ["at", "kind", "outcome", "actor", "person_id", "badge_id", "device_id", "source_ip", "detail"]
_INSERT_ONE = DriverStatement(_INSERT, columns=_COLUMNS)  # every request that changes something writes one


def record(
    session: Executor,
    kind: str,
    outcome: str = "ok",
    *,
    actor: str | None = None,
    person_id: str | None = None,
    badge_id: str | None = None,
    device_id: str | None = None,
    source_ip: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit row to the caller's transaction. Callers pass ids, never secrets.

    A Core INSERT on the table, not an ORM object: nothing reads the row back in the request,
    and the unit of work's flush cost more than the statement (every exchange writes one)."""
    _INSERT_ONE.rows(
        session,
        {
            "at": utcnow(),
            "kind": kind,
            "outcome": outcome,
            "actor": actor,
            "person_id": person_id,
            "badge_id": badge_id,
            "device_id": device_id,
            "source_ip": source_ip,
            "detail": detail,
        },
    )


def record_many(
    session: Executor, kind: str, subjects: list[tuple[str | None, str | None]], *, actor: str | None = None
) -> None:
    """One ``kind`` row for each (person id, badge id), in one statement: a batch of badges issued."""
    if not subjects:
        return
    at = utcnow()
    session.execute(
        _INSERT,
        [
            {
                "at": at,
                "kind": kind,
                "outcome": "ok",
                "actor": actor,
                "person_id": person_id,
                "badge_id": badge_id,
                "device_id": None,
                "source_ip": None,
                "detail": {},
            }
            for person_id, badge_id in subjects
        ],
    )


class AuditFilter(BaseModel):
    """What an admin looks for in the log: ids, kind and outcome exactly, times as ISO dates."""

    person: str = Field("", max_length=255)
    badge: str = Field("", max_length=255)
    device: str = Field("", max_length=255)
    kind: str = Field("", max_length=255)
    outcome: str = Field("", max_length=255)
    start: str = Field("", max_length=255)
    end: str = Field("", max_length=255)


def _when(value: str, field: str, zone: tzinfo) -> datetime | None:
    """A time as an admin types it: in the district's time zone unless it says otherwise."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PolicyError(
            f"{field}: {value[:30]!r} is not a date or date and time (2026-11-26 or 2026-11-26T08:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _matching(filters: AuditFilter, zone: tzinfo) -> Select[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    for column, value in (
        (AuditEvent.person_id, filters.person),
        (AuditEvent.badge_id, filters.badge),
        (AuditEvent.device_id, filters.device),
        (AuditEvent.kind, filters.kind),
        (AuditEvent.outcome, filters.outcome),
    ):
        if value.strip():
            query = query.where(column == value.strip())
    since, until = _when(filters.start, "from", zone), _when(filters.end, "to", zone)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at <= until)
    return query


def find_events(session: Session, filters: AuditFilter, limit: int, zone: tzinfo = UTC) -> list[AuditEvent]:
    """The newest ``limit`` rows that match (times without an offset are in ``zone``);
    PolicyError for a time that is not one."""
    return list(session.scalars(_matching(filters, zone).limit(limit)))


def event_kinds(session: Session) -> list[str]:
    """Every kind of row the log holds, to filter by."""
    return list(session.scalars(select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)))
