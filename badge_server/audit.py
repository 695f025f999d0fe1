"""The audit log: one row per issue, print, replace, revoke, enrolment, exchange and failure."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from badge_server.clock import utcnow
from badge_server.store.models import AuditEvent


def record(
    session: Session,
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
    """Add an audit row to the caller's transaction. Callers pass ids, never secrets."""
    session.add(
        AuditEvent(
            at=utcnow(),
            kind=kind,
            outcome=outcome,
            actor=actor,
            person_id=person_id,
            badge_id=badge_id,
            device_id=device_id,
            source_ip=source_ip,
            detail=detail,
        )
    )
