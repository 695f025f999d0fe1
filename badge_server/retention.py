"""Retention: how long the server keeps what, and the two purges that remove the rest.

- :func:`purge_expired` runs nightly (badge-server-backup.service, after the backup): audit events
  older than ``BADGE_RETAIN_AUDIT_DAYS``, codes some days after they expired, sessions some days
  after they ended.
- :func:`purge_people` runs when a district asks (``badge-server purge-people --left-before``):
  students and staff who left before a date, with everything that points at them.

Both delete in small batches, each its own transaction: on SQLite a batch holds the write lock for
milliseconds, so kiosks keep signing students in while a year of audit rows goes. A batch is
whole: a person is either entirely there or entirely gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, Table, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import PolicyError
from badge_server.settings import Settings
from badge_server.store.account_models import StudentPassword, TileArrangement
from badge_server.store.db import transaction
from badge_server.store.models import (
    AuditEvent,
    Badge,
    EnrollCode,
    Enrollment,
    ImportRun,
    LaunchCode,
    Person,
    RosterImportJob,
    StaffSession,
    StaffUser,
    StudentSession,
)
from badge_server.store.sso_models import (
    HandoffCode,
    OidcCode,
    OidcToken,
    PendingSignIn,
    SamlSeenRequest,
    SsoSignIn,
    Subject,
)

#: Rows per transaction. Small enough that a batch holds SQLite's writer for milliseconds.
BATCH = 2000
#: People per transaction in purge-people: each brings its badges, sessions, codes and links.
PEOPLE_BATCH = 200


def _rows(db: Session, statement: Executable) -> int:
    """How many rows a DELETE or UPDATE touched."""
    result = db.execute(statement)
    return cast(CursorResult[Any], result).rowcount


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass
class PurgeReport:
    """What a purge removed (or, dry, would remove): rows per table, and the cut-off times."""

    removed: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        self.removed[table] = self.removed.get(table, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return {"removed": dict(self.removed), "cutoffs": dict(self.cutoffs)}


def purge_expired(factory: sessionmaker[Session], settings: Settings, *, actor: str) -> PurgeReport:
    """Remove what is past its retention, oldest first, and say so in the audit log."""
    now = utcnow()
    audit_cutoff = now - timedelta(days=settings.retain_audit_days)
    codes_cutoff = now - timedelta(days=settings.retain_codes_days)
    sessions_cutoff = now - timedelta(days=settings.retain_sessions_days)
    report = PurgeReport(
        cutoffs={
            "audit events before": audit_cutoff.isoformat(timespec="seconds"),
            "codes expired before": codes_cutoff.isoformat(timespec="seconds"),
            "sessions ended before": sessions_cutoff.isoformat(timespec="seconds"),
        }
    )
    # Codes first: tokens before the codes they came from, then what nothing points at any more.
    for model, expired in (
        (LaunchCode, LaunchCode.expires_at < codes_cutoff),
        (EnrollCode, EnrollCode.expires_at < codes_cutoff),
        (HandoffCode, HandoffCode.expires_at < codes_cutoff),
        (PendingSignIn, PendingSignIn.expires_at < codes_cutoff),
        (OidcToken, OidcToken.expires_at < codes_cutoff),
        (OidcCode, (OidcCode.expires_at < codes_cutoff) & ~OidcCode.id.in_(select(OidcToken.code_id))),
    ):
        report.add(model.__tablename__, _delete_in_batches(factory, _table(model), expired))
    # A console import's progress and outcome: wanted for a day at most; its report is kept in import_runs.
    jobs = _delete_in_batches(factory, _table(RosterImportJob), RosterImportJob.started_at < codes_cutoff)
    report.add(RosterImportJob.__tablename__, jobs)
    with transaction(factory) as db:
        seen = _rows(db, delete(SamlSeenRequest).where(SamlSeenRequest.expires_at < codes_cutoff))
        report.add(SamlSeenRequest.__tablename__, seen)
    _purge_ended_sessions(factory, sessions_cutoff, report)
    # The audit trail loses only its oldest rows, and only here: what is left runs unbroken from
    # the cut-off to now, and the row below says where the cut was made and by whom.
    report.add(AuditEvent.__tablename__, _delete_in_batches(factory, _table(AuditEvent), AuditEvent.at < audit_cutoff))
    report.add(ImportRun.__tablename__, _delete_in_batches(factory, _table(ImportRun), ImportRun.at < audit_cutoff))
    with transaction(factory) as db:
        audit.record(db, "retention.purge", actor=actor, **report.as_dict())
    return report


def _delete_in_batches(factory: sessionmaker[Session], table: Table, condition: ColumnElement[bool]) -> int:
    (key,) = table.primary_key.columns
    removed = 0
    while True:
        with transaction(factory) as db:
            ids = db.scalars(select(key).where(condition).order_by(key).limit(BATCH)).all()
            if ids:
                db.execute(delete(table).where(key.in_(ids)))
        removed += len(ids)
        if len(ids) < BATCH:
            return removed


def _purge_ended_sessions(factory: sessionmaker[Session], cutoff: datetime, report: PurgeReport) -> None:
    ended = func.coalesce(StudentSession.ended_at, StudentSession.expires_at) < cutoff
    while True:
        with transaction(factory) as db:
            ids = db.scalars(select(StudentSession.id).where(ended).order_by(StudentSession.id).limit(BATCH)).all()
            _delete_student_sessions(db, ids, report)
        if len(ids) < BATCH:
            break
    staff_ended = func.coalesce(StaffSession.ended_at, StaffSession.expires_at) < cutoff
    report.add(StaffSession.__tablename__, _delete_in_batches(factory, _table(StaffSession), staff_ended))


def _delete_student_sessions(db: Session, ids: Sequence[str], report: PurgeReport) -> None:
    """Sessions and what hangs off them: the codes and tokens they issued, the apps they signed in to."""
    if not ids:
        return
    codes = select(OidcCode.id).where(OidcCode.session_id.in_(ids))
    tokens = delete(OidcToken).where(or_(OidcToken.session_id.in_(ids), OidcToken.code_id.in_(codes)))
    report.add(OidcToken.__tablename__, _rows(db, tokens))
    for model in (OidcCode, SsoSignIn, HandoffCode):
        report.add(model.__tablename__, _rows(db, delete(model).where(model.session_id.in_(ids))))
    # A browser session handed off from one of these outlives it only as a session, not as a link.
    db.execute(update(StudentSession).where(StudentSession.handed_off_from.in_(ids)).values(handed_off_from=None))
    report.add(StudentSession.__tablename__, _rows(db, delete(StudentSession).where(StudentSession.id.in_(ids))))


@dataclass
class PeoplePurge:
    """Who purge-people removed (or would), and every row that went with them."""

    left_before: date
    people: list[str] = field(default_factory=list)
    staff_accounts: list[str] = field(default_factory=list)
    rows: PurgeReport = field(default_factory=PurgeReport)

    def as_dict(self) -> dict[str, Any]:
        return {
            "left_before": self.left_before.isoformat(),
            "people": list(self.people),
            "staff_accounts": list(self.staff_accounts),
            "removed": dict(self.rows.removed),
        }


def purge_people(
    factory: sessionmaker[Session], left_before: date, *, actor: str, dry_run: bool = False
) -> PeoplePurge:
    """Delete the people the roster deactivated before ``left_before`` (UTC midnight), staff
    accounts disabled before it or belonging to those people, and all they left behind.

    Audit rows stay until their own retention ends: they hold ids, never names, so once the person
    is gone they name no one, and the trail keeps its order and count.
    """
    if left_before > utcnow().date():
        raise PolicyError(
            f"--left-before {left_before.isoformat()} is after today: only people who have already left can be purged"
        )
    cutoff = datetime.combine(left_before, time(), tzinfo=UTC)
    outcome = PeoplePurge(left_before)
    left = select(Person.id).where(Person.active.is_(False), Person.deactivated_at < cutoff)
    with transaction(factory) as db:
        outcome.people = list(db.scalars(left.order_by(Person.id)))
        accounts = db.execute(
            select(StaffUser.id, StaffUser.username)
            .where(or_(StaffUser.active.is_(False) & (StaffUser.disabled_at < cutoff), StaffUser.person_id.in_(left)))
            .order_by(StaffUser.username)
        ).all()
    outcome.staff_accounts = [username for _id, username in accounts]
    if dry_run:
        return outcome
    for start in range(0, len(outcome.people), PEOPLE_BATCH):
        batch = outcome.people[start : start + PEOPLE_BATCH]
        with transaction(factory) as db:
            _delete_people(db, batch, outcome.rows)
            audit.record(db, "people.purge", actor=actor, left_before=left_before.isoformat(), people=batch)
    account_ids = [account_id for account_id, _username in accounts]
    if account_ids:
        with transaction(factory) as db:
            sessions = _rows(db, delete(StaffSession).where(StaffSession.staff_id.in_(account_ids)))
            outcome.rows.add(StaffSession.__tablename__, sessions)
            outcome.rows.add(StaffUser.__tablename__, _rows(db, delete(StaffUser).where(StaffUser.id.in_(account_ids))))
            audit.record(
                db,
                "staff.purge",
                actor=actor,
                left_before=left_before.isoformat(),
                usernames=outcome.staff_accounts,
            )
    return outcome


def _delete_people(db: Session, ids: Sequence[str], report: PurgeReport) -> None:
    sessions = db.scalars(select(StudentSession.id).where(StudentSession.person_id.in_(ids))).all()
    for start in range(0, len(sessions), BATCH):
        _delete_student_sessions(db, sessions[start : start + BATCH], report)
    badges = select(Badge.id).where(Badge.person_id.in_(ids))
    for model, condition in (
        (OidcToken, OidcToken.person_id.in_(ids)),
        (OidcCode, OidcCode.person_id.in_(ids) & ~OidcCode.id.in_(select(OidcToken.code_id))),
        (LaunchCode, LaunchCode.badge_id.in_(badges)),
        (Badge, Badge.person_id.in_(ids)),
        (Subject, Subject.person_id.in_(ids)),
        (StudentPassword, StudentPassword.person_id.in_(ids)),
        (TileArrangement, TileArrangement.person_id.in_(ids)),
        (Enrollment, Enrollment.person_id.in_(ids)),
        (Person, Person.id.in_(ids)),
    ):
        report.add(model.__tablename__, _rows(db, delete(model).where(condition)))
