"""Identity sessions: started (a badge's launch, a password, a staff member's dashboard), read on
every request, refreshed while used, ended by sign-out, idle time or lifetime."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import SessionNotValid
from badge_server.keys import token_digest
from badge_server.settings import Settings
from badge_server.staff import SESSION_HOURS as STAFF_SESSION_HOURS
from badge_server.store.db import Executor
from badge_server.store.driver import DriverStatement
from badge_server.store.models import Person, SignInMethod, StudentSession, new_id

Client = Literal["kiosk", "browser", "home", "staff"]
_PERSON = Person.__table__.c


class SessionBadge(Protocol):
    """The badge a session began with: it ends no later than the badge (a row or a model)."""

    @property
    def id(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


def person_of(row: Any) -> Person:
    """The person a row read with all of ``people``'s columns names (attached to no session)."""
    return Person(**{column.key: getattr(row, column.key) for column in _PERSON})


@dataclass(frozen=True)
class SessionToken:
    """A session just started: the token its holder keeps (stored only as a digest), and its lifetime."""

    token: str
    expires_in: int


@dataclass(frozen=True)
class NewSession(SessionToken):
    record: StudentSession


_SESSION = StudentSession.__table__.c
_SESSION_ROW = ["id", "token_digest", "person_id", "badge_id", "device_id", "client", "method", "created_at"]
_SESSION_ROW += ["last_seen_at", "idle_seconds", "expires_at"]
_NEW_SESSION = DriverStatement(insert(StudentSession.__table__), columns=_SESSION_ROW)


def session_timeouts(settings: Settings, client: Client) -> tuple[int, int]:
    """(idle, lifetime) seconds: a kiosk's are short (the next child is waiting), a home device's
    shorter than a school browser's (a badge there is a password without the device factor)."""
    if client == "kiosk":
        return settings.kiosk_session_idle_seconds, settings.kiosk_session_max_seconds
    if client == "home":
        return settings.home_session_idle_seconds, settings.home_session_max_seconds
    if client == "staff":
        # A staff member's dashboard lives no longer than their console session (web/console/my_apps).
        return settings.browser_session_idle_seconds, STAFF_SESSION_HOURS * 3600
    return settings.browser_session_idle_seconds, settings.browser_session_max_seconds


def start_session(
    session: Session,
    settings: Settings,
    person: Person,
    *,
    client: Client,
    badge: SessionBadge | None = None,
    device_id: str | None = None,
    method: SignInMethod = SignInMethod.BADGE,
    source_ip: str | None,
) -> NewSession:
    """Start an identity session (kiosk, school browser, home, staff) and audit it. A badge's
    session ends no later than the badge; the caller has checked whatever proved who this is."""
    now = utcnow()
    token, row = _session_row(settings, person.id, client, badge, device_id, now, method)
    record = StudentSession(**row)
    session.add(record)
    session.flush()
    _audit_start(session, row, source_ip)
    return NewSession(token, int((record.expires_at - now).total_seconds()), record)


def begin_session(
    db: Executor,
    settings: Settings,
    person_id: str,
    badge: SessionBadge,
    *,
    client: Client,
    device_id: str | None,
    source_ip: str | None,
) -> SessionToken:
    """:func:`start_session` for a badge's launch, on the driver's cursor (no ORM object, no
    flush): every sign-in of the morning rush begins one."""
    now = utcnow()
    token, row = _session_row(settings, person_id, client, badge, device_id, now)
    _NEW_SESSION.rows(db, row)
    _audit_start(db, row, source_ip)
    return SessionToken(token, int((row["expires_at"] - now).total_seconds()))


def _session_row(
    settings: Settings,
    person_id: str,
    client: Client,
    badge: SessionBadge | None,
    device_id: str | None,
    now: datetime,
    method: SignInMethod = SignInMethod.BADGE,
) -> tuple[str, dict[str, Any]]:
    """A new session's token and its row (:data:`_SESSION_ROW`)."""
    idle, lifetime = session_timeouts(settings, client)
    expires_at = now + timedelta(seconds=lifetime)
    if badge is not None:
        expires_at = min(expires_at, badge.expires_at)
    token = secrets.token_urlsafe(32)
    row: dict[str, Any] = {
        "id": new_id(),
        "token_digest": token_digest(token),
        "person_id": person_id,
        "badge_id": badge.id if badge is not None else None,
        "device_id": device_id,
        "client": client,
        "method": method,
        "created_at": now,
        "last_seen_at": now,
        "idle_seconds": idle,
        "expires_at": expires_at,
    }
    return token, row


def _audit_start(session: Executor, row: dict[str, Any], source_ip: str | None) -> None:
    audit.record(
        session,
        "session.start",
        person_id=row["person_id"],
        badge_id=row["badge_id"],
        device_id=row["device_id"],
        source_ip=source_ip,
        client=row["client"],
        method=SignInMethod(row["method"]).value,
    )


LAST_SEEN_RESOLUTION = timedelta(seconds=10)
_SESSION_BY_TOKEN = select(StudentSession).where(StudentSession.token_digest == bindparam("digest"))
_LIVE_SESSION = DriverStatement(
    select(
        _SESSION.id.label("session_id"),
        _SESSION.client,
        _SESSION.badge_id,
        _SESSION.device_id,
        _SESSION.last_seen_at,
        _SESSION.idle_seconds,
        _SESSION.expires_at,
        _SESSION.ended_at,
        _SESSION.handed_off_from,
        *_PERSON,
    )
    .join_from(StudentSession.__table__, Person.__table__, _PERSON.id == _SESSION.person_id)
    .where(_SESSION.token_digest == bindparam("digest"))
)
_SEEN_NOW = DriverStatement(
    update(StudentSession.__table__).where(_SESSION.id == bindparam("session_id")).values(last_seen_at=bindparam("now"))
)


@dataclass(frozen=True)
class SignedIn:
    """A live identity session, for a request that only reads it (a dashboard, the kiosk's apps):
    read with its person in one statement on the driver's cursor, not loaded as ORM objects,
    which cost a dashboard more than the rest of its database work. ``person`` is attached to no
    session: reading it is all such a request does."""

    id: str
    person: Person
    client: str
    idle_seconds: int
    badge_id: str | None
    device_id: str | None
    #: Whether :func:`refresh_idle_timer` is due (it writes: after the reading's transaction).
    idle_timer_due: bool

    @property
    def person_id(self) -> str:
        return self.person.id


def signed_in(session: Session, token: str) -> SignedIn:
    """:func:`authenticate_session` for a request that only reads the session. It writes nothing,
    so it may run in a transaction that does not take SQLite's writer: the caller refreshes the
    idle timer after, when ``idle_timer_due`` says so (:func:`refresh_idle_timer`)."""
    row = _LIVE_SESSION.first(session, {"digest": token_digest(token)})
    now = utcnow()
    if row is None or not identity_live(session, row, now):
        raise SessionNotValid()
    return SignedIn(
        row.session_id,
        person_of(row),
        row.client,
        row.idle_seconds,
        row.badge_id,
        row.device_id,
        idle_timer_due=_idle_timer_due(row.last_seen_at, now),
    )


def refresh_idle_timer(session: Session, session_id: str) -> None:
    """The idle timer of a session :func:`signed_in` read, restarted now."""
    _SEEN_NOW.rows(session, {"session_id": session_id, "now": utcnow()})


def authenticate_session(session: Session, token: str) -> StudentSession:
    """The live session for this token; refreshes its idle timer."""
    record = session.scalars(_SESSION_BY_TOKEN, {"digest": token_digest(token)}).first()
    now = utcnow()
    if record is None or not identity_live(session, record, now):
        raise SessionNotValid()
    if _idle_timer_due(record.last_seen_at, now):
        record.last_seen_at = now
    return record


def _idle_timer_due(last_seen_at: datetime, now: datetime) -> bool:
    # A write per request is a write lock per request; the idle timer does not need to be finer
    # than this (it runs for minutes), and the morning rush is mostly reads of the same session.
    return now - last_seen_at >= LAST_SEEN_RESOLUTION


def end_session(session: Session, record: StudentSession, *, reason: str) -> list[StudentSession]:
    """End the session and the browser sessions a kiosk handed off from it; every one ended."""
    record.ended_at = utcnow()
    record.end_reason = reason
    audit.record(
        session,
        "session.end",
        person_id=record.person_id,
        badge_id=record.badge_id,
        device_id=record.device_id,
        reason=reason,
    )
    return [record, *_end_handed_off_sessions(session, record, reason=reason)]


def _kiosk_session_live(session: Session, kiosk_session_id: str, now: datetime) -> bool:
    """A browser session a kiosk tile handed off lives only as long as the kiosk's session: the
    kiosk's sign-out, idle time-out or lifetime ends it too, even when the kiosk never says so."""
    return session_live(session.get(StudentSession, kiosk_session_id), now)


def identity_live(session: Session, record: SessionTimes | None, now: datetime) -> bool:
    """What apps' tokens and codes rest on: the session is live, and so is the kiosk session a
    handed-off browser session came from (read-only: it does not refresh the idle timer)."""
    return session_live(record, now) and (
        record is None or record.handed_off_from is None or _kiosk_session_live(session, record.handed_off_from, now)
    )


class SessionTimes(Protocol):
    """What decides whether a session is live: a loaded StudentSession or a row read on the cursor."""

    ended_at: datetime | None
    last_seen_at: datetime
    idle_seconds: int
    expires_at: datetime
    handed_off_from: str | None


def session_live(record: SessionTimes | None, now: datetime) -> bool:
    """Not signed out, not idle too long, not past its lifetime."""
    return (
        record is not None
        and record.ended_at is None
        and now - record.last_seen_at <= timedelta(seconds=record.idle_seconds)
        and now < record.expires_at
    )


def _end_handed_off_sessions(session: Session, kiosk: StudentSession, *, reason: str) -> list[StudentSession]:
    """Signing out at a kiosk ends the browser sessions its tiles opened: the next child at that
    kiosk finds the browser profile signed out on the server too."""
    handed_off = select(StudentSession).where(
        StudentSession.handed_off_from == kiosk.id, StudentSession.ended_at.is_(None)
    )
    ended: list[StudentSession] = []
    for browser in list(session.scalars(handed_off)):
        ended += end_session(session, browser, reason=reason)
    return ended
