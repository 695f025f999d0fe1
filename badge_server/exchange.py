"""Badge exchange: a scanned badge -> a one-time launch code -> a session (badge_server.sessions)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from badge_server import audit, devices
from badge_server.badges import pin_hash_matches, pin_required
from badge_server.clock import utcnow
from badge_server.contract.payload import PAYLOAD_LENGTH, BadgePayload
from badge_server.contract.words import spoken
from badge_server.devices import DeviceIdentity
from badge_server.errors import (
    ApiError,
    BadgeExpired,
    BadgeNotAccepted,
    BadgeReplaced,
    LaunchCodeNotAccepted,
    NotABadge,
    PinIncorrect,
    PinRequired,
    PinTriesUsedUp,
)
from badge_server.keys import ServerKeys, token_digest
from badge_server.ratelimit import Limit, daily, enforce_limits
from badge_server.sessions import Client, SessionToken, begin_session, person_of
from badge_server.settings import Settings
from badge_server.store.account_models import SignInPolicy
from badge_server.store.db import Executor, read_only_transaction
from badge_server.store.driver import DriverStatement
from badge_server.store.models import (
    Badge,
    BadgeStatus,
    LaunchCode,
    Org,
    Person,
    new_id,
)


@dataclass(frozen=True)
class ScannedBadge:
    """A badge as a scan reads it, with its student and their school's name: one Core statement
    (the morning rush reads one per exchange). ``person`` is not attached to any session; it
    carries the names and PIN policy the checks and the welcome screen read."""

    id: str
    person_id: str
    kind: str
    generation: int
    status: str
    digest: str
    expires_at: datetime
    person: Person
    school_name: str | None
    school_pin_grades: list[str] | None  # the school's (or its district's) policy; None: the settings'

    def pin_grades(self, settings: Settings) -> Collection[str]:
        """The grades that also type their PIN at a school scanner, as this student's school says."""
        return settings.pin_required_grades if self.school_pin_grades is None else self.school_pin_grades


@dataclass(frozen=True)
class ExchangeResult:
    launch_code: str
    expires_in: int
    person: Person
    badge: ScannedBadge


_SCHOOL_NAME = DriverStatement(select(Org.name).where(Org.id == bindparam("id")))


def user_summary(db: Executor, person: Person) -> dict[str, str | None]:
    """What a kiosk may show: a name and a picture, nothing a stranger could use."""
    school = _SCHOOL_NAME.first(db, {"id": person.school_id}) if person.school_id else None
    return person_summary(person, school.name if school is not None else None)


def person_summary(person: Person, school_name: str | None) -> dict[str, str | None]:
    """:func:`user_summary` when the school's name is known already (read with the badge)."""
    return {
        "id": person.id,
        "display_name": person.display_name,
        "first_name": person.first_name,
        "initials": person.initials,
        "grade": person.grade,
        "school": school_name,
        "avatar_color": person.avatar_color,
        # The roster's language where the kiosk speaks it: the welcome and the dashboard use it.
        "language": spoken(person.language),
    }


def not_a_badge(text: str, settings: Settings) -> NotABadge:
    """The error for QR text that is not ours; names what was wrong without echoing it."""
    if len(text) > settings.max_badge_text_chars:
        return NotABadge(f"QR text is {len(text)} characters; a badge has {PAYLOAD_LENGTH}")
    if not text.isprintable():
        return NotABadge("QR text holds control or binary characters; a badge never does")
    return NotABadge()


def request_limits(settings: Settings, device_token: str, enrolled: bool, source_ip: str) -> list[Limit]:
    """An enrolled device is counted per device; only a request without a valid device token is
    counted per address. A whole school often reaches the server through one address (NAT, a web
    filter): junk from one machine there must not use up every real kiosk's share."""
    if enrolled:
        return [Limit(f"device:{token_digest(device_token)[:32]}", settings.rate_per_device_per_minute)]
    return [Limit(f"ip:{source_ip}", settings.rate_per_address_per_minute)]


def badge_limits(settings: Settings, keys: ServerKeys, payload: BadgePayload | None) -> list[Limit]:
    """Scans of one badge, wherever they come from (about 20 a minute)."""
    if payload is None:
        return []
    return [Limit(f"badge:{keys.secret_digest(payload.secret)[:32]}", settings.rate_per_badge_per_minute)]


def device_request_limits(
    factory: sessionmaker[Session], settings: Settings, device_token: str, source_ip: str
) -> list[Limit]:
    """:func:`request_limits`, reading the device's enrolment in a transaction of its own."""
    with read_only_transaction(factory) as reading:
        enrolled = devices.is_enrolled(reading, device_token)
    return request_limits(settings, device_token, enrolled, source_ip)


def exchange_limits(
    factory: sessionmaker[Session],
    settings: Settings,
    keys: ServerKeys,
    device_token: str,
    source_ip: str,
    payload: BadgePayload | None,
) -> list[Limit]:
    """Per device (per address without a valid device token), and per badge (about 20 a minute)."""
    return device_request_limits(factory, settings, device_token, source_ip) + badge_limits(settings, keys, payload)


def enforce_scan_limits(
    factory: sessionmaker[Session], keys: ServerKeys, limits: list[Limit], payload: BadgePayload | None
) -> None:
    """Count a scan against its limits; a badge whose PIN tries are used up is named in the
    refusal's audit row, so its teacher can see whose badge was being guessed."""
    try:
        enforce_limits(factory, limits)
    except PinTriesUsedUp as exc:
        if payload is not None:
            with read_only_transaction(factory) as reading:
                badge = find_badge(reading, keys, payload)
                if badge is not None:
                    exc.audit_ids = {"badge_id": badge.id, "person_id": badge.person_id}
        raise


def pin_limits(settings: Settings, keys: ServerKeys, payload: BadgePayload | None, pin: str | None) -> list[Limit]:
    """A scan that brings a PIN counts against the badge's PIN tries of the day: the minute limit
    alone still let 20 guesses a minute, all day (a million PINs in a few weeks)."""
    if payload is None or not pin:
        return []
    return [daily(f"pin:{keys.secret_digest(payload.secret)[:32]}", settings.pin_tries_per_badge_per_day)]


_BADGE = Badge.__table__.c
_PERSON = Person.__table__.c
_SCHOOL_POLICY = SignInPolicy.__table__.alias("school_policy")
_DISTRICT_POLICY = SignInPolicy.__table__.alias("district_policy")
_SCANNED = DriverStatement(
    select(
        _BADGE.id.label("badge_id"),
        _BADGE.kind,
        _BADGE.generation,
        _BADGE.status,
        _BADGE.digest,
        _BADGE.expires_at,
        *_PERSON,
        Org.__table__.c.name.label("school_name"),
        _SCHOOL_POLICY.c.pin_grades.label("school_pin_grades"),
        _DISTRICT_POLICY.c.pin_grades.label("district_pin_grades"),
    )
    .join_from(Badge.__table__, Person.__table__, _PERSON.id == _BADGE.person_id)
    .outerjoin(Org.__table__, Org.__table__.c.id == _PERSON.school_id)
    # The school's PIN policy, in the same statement: two primary-key joins cost the rush nothing.
    .outerjoin(_SCHOOL_POLICY, _SCHOOL_POLICY.c.org_id == _PERSON.school_id)
    .outerjoin(_DISTRICT_POLICY, _DISTRICT_POLICY.c.org_id == Org.__table__.c.parent_id)
    .where(_BADGE.digest == bindparam("digest"))
)


def find_badge(db: Executor, keys: ServerKeys, payload: BadgePayload) -> ScannedBadge | None:
    digest = keys.secret_digest(payload.secret)
    row = _SCANNED.first(db, {"digest": digest})
    # The look-up compares keyed HMAC digests, which an attacker cannot steer byte by byte,
    # so index timing reveals nothing; the constant-time check below keeps that true even if
    # the look-up ever changes to a prefix or a cache.
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    if row.kind != payload.kind.value or row.generation != payload.generation:
        return None
    person = person_of(row)
    return ScannedBadge(
        row.badge_id,
        person.id,
        row.kind,
        row.generation,
        row.status,
        row.digest,
        row.expires_at,
        person,
        row.school_name,
        next((grades for grades in (row.school_pin_grades, row.district_pin_grades) if grades is not None), None),
    )


@dataclass(frozen=True)
class CheckedPin:
    """A PIN verified before the request's transaction (argon2 takes ~50 ms of CPU on purpose;
    inside a transaction it would hold SQLite's write lock that long): whether it matched, and
    the hash it was checked against, which must still be the student's when the scan is written."""

    pin_hash: str | None
    matched: bool

    def proves(self, person: Person) -> bool:
        return self.matched and self.pin_hash is not None and self.pin_hash == person.pin_hash


def check_pin_first(
    factory: sessionmaker[Session],
    keys: ServerKeys,
    checks_at_once: AbstractContextManager[object],
    payload: BadgePayload | None,
    pin: str | None,
) -> CheckedPin | None:
    """Verify a scan's PIN outside any transaction (a read that takes no write lock first), at
    most ``password_checks_at_once`` at a time (``Runtime.password_checks``); ``None`` when the
    scan brings no PIN."""
    if payload is None or not pin:
        return None
    with read_only_transaction(factory) as reading:
        badge = find_badge(reading, keys, payload)
        pin_hash = badge.person.pin_hash if badge is not None else None
    with checks_at_once:
        matched = pin_hash_matches(pin_hash, pin)
    return CheckedPin(pin_hash, matched)


def check_badge(
    session: Executor, keys: ServerKeys, settings: Settings, payload: BadgePayload, pin: CheckedPin | None
) -> ScannedBadge:
    """The badge a scan proves, wherever it was scanned: known, active, not expired, its student
    active, and the PIN where the policy asks for one (verified already: :func:`check_pin_first`).
    Raises the error the child is shown."""
    badge = find_badge(session, keys, payload)
    if badge is None:
        raise BadgeNotAccepted()
    try:
        if badge.status == BadgeStatus.REPLACED:
            raise BadgeReplaced()
        # Revoked, voided, a student who left: the same answer as an unknown badge.
        if badge.status != BadgeStatus.ACTIVE or not badge.person.active:
            raise BadgeNotAccepted()
        if badge.expires_at <= utcnow():
            raise BadgeExpired()
        if pin_required(badge.person, badge.pin_grades(settings)):
            if pin is None:
                raise PinRequired()
            if not pin.proves(badge.person):
                raise PinIncorrect()
    except ApiError as exc:
        exc.audit_ids = {"badge_id": badge.id, "person_id": badge.person_id}
        raise
    return badge


def exchange_badge(
    session: Executor,
    keys: ServerKeys,
    settings: Settings,
    device: DeviceIdentity,
    payload: BadgePayload,
    pin: CheckedPin | None,
    *,
    source_ip: str | None,
) -> ExchangeResult:
    """Check a scanned badge and hand the device a one-time launch code bound to it."""
    badge = check_badge(session, keys, settings, payload, pin)
    now = utcnow()
    code = secrets.token_urlsafe(24)
    # A Core INSERT: nothing reads the row back in this request (see audit.record).
    _NEW_LAUNCH_CODE.rows(
        session,
        {
            "id": new_id(),
            "digest": token_digest(code),
            "badge_id": badge.id,
            "device_id": device.id,
            "expires_at": now + timedelta(seconds=settings.launch_code_seconds),
        },
    )
    audit.record(
        session,
        "badge.exchange",
        person_id=badge.person_id,
        badge_id=badge.id,
        device_id=device.id,
        source_ip=source_ip,
    )
    return ExchangeResult(code, settings.launch_code_seconds, badge.person, badge)


_NEW_LAUNCH_CODE = DriverStatement(
    insert(LaunchCode.__table__), columns=["id", "digest", "badge_id", "device_id", "expires_at"]
)
_LAUNCH = LaunchCode.__table__.c
_REDEEM = DriverStatement(  # every sign-in redeems one: on the driver's cursor
    update(LaunchCode.__table__)
    .where(
        _LAUNCH.digest == bindparam("code_digest"),
        _LAUNCH.used_at.is_(None),
        _LAUNCH.expires_at > bindparam("now"),
        _LAUNCH.device_id == bindparam("redeeming_device"),
    )
    .values(used_at=bindparam("now"))
    .returning(_LAUNCH.badge_id)
)
_REDEEMED_BADGE = DriverStatement(
    select(_BADGE.id, _BADGE.status, _BADGE.expires_at, _BADGE.person_id, _PERSON.active)
    .join_from(Badge.__table__, Person.__table__, _PERSON.id == _BADGE.person_id)
    .where(_BADGE.id == bindparam("badge_id"))
)


def redeem_launch_code(
    session: Executor, settings: Settings, code: str, device_id: str, client: Client, *, source_ip: str | None
) -> SessionToken:
    """Turn a launch code into a session. Single use: of two concurrent redemptions one wins.

    Every statement on the driver's cursor, the session's row too (:func:`sessions.begin_session`):
    every sign-in of the morning rush redeems one."""
    now = utcnow()
    # The conditional UPDATE is the single-use guarantee: both databases let exactly one
    # transaction change the row from unused to used; the loser sees no row and is refused.
    redeemed = _REDEEM.first(session, {"code_digest": token_digest(code), "now": now, "redeeming_device": device_id})
    badge = _REDEEMED_BADGE.first(session, {"badge_id": redeemed.badge_id}) if redeemed is not None else None
    # A replace or revoke that committed after the exchange still wins over the launch.
    if badge is None or badge.status != BadgeStatus.ACTIVE or not badge.active:
        raise LaunchCodeNotAccepted()
    return begin_session(
        session, settings, badge.person_id, badge, client=client, device_id=device_id, source_ip=source_ip
    )
