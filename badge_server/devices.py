"""Device enrolment: admin codes (short-lived, single use) become device tokens."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import DeviceNotAuthorized, EnrollCodeNotAccepted, NotFoundError
from badge_server.keys import token_digest
from badge_server.store.db import Executor
from badge_server.store.driver import DriverStatement
from badge_server.store.models import Device, EnrollCode, Org

# Enrolment codes are typed by IT, so they are short: 10 base32 characters (50 bits),
# shown as XXXXX-XXXXX. They are single use, expire in minutes and the endpoint is rate
# limited per address, which together make guessing one hopeless.
_CODE_CHARS = 10
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class EnrollCodeGrant:
    code: str
    school_id: str
    expires_at: str


@dataclass(frozen=True)
class EnrolledDevice:
    device_id: str
    device_token: str


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def create_enroll_code(session: Session, school_id: str, *, minutes: int, actor: str) -> EnrollCodeGrant:
    school = session.get(Org, school_id)
    if school is None or not school.active:
        raise NotFoundError(f"no active school with id {school_id!r} (see orgs.csv of the roster)")
    raw = base64.b32encode(secrets.token_bytes(8)).decode()[:_CODE_CHARS]
    expires_at = utcnow() + timedelta(minutes=minutes)
    session.add(
        EnrollCode(
            digest=token_digest(raw), school_id=school_id, created_at=utcnow(), expires_at=expires_at, created_by=actor
        )
    )
    audit.record(session, "device.enroll_code", actor=actor, school_id=school_id, minutes=minutes)
    return EnrollCodeGrant(f"{raw[:5]}-{raw[5:]}", school_id, expires_at.isoformat(timespec="seconds"))


def enroll_device(session: Session, code: str, name: str, *, source_ip: str | None) -> EnrolledDevice:
    """Spend an enrolment code and return a new device token (only its digest is stored)."""
    digest = token_digest(normalise_code(code))
    now = utcnow()
    # One conditional UPDATE spends the code: of two concurrent enrolments exactly one
    # changes a row, so a code can never enrol two devices.
    spent = session.execute(
        update(EnrollCode)
        .where(EnrollCode.digest == digest, EnrollCode.used_at.is_(None), EnrollCode.expires_at > now)
        .values(used_at=now)
        .returning(EnrollCode.school_id)
    ).scalar_one_or_none()
    if spent is None:
        raise EnrollCodeNotAccepted()
    token = secrets.token_urlsafe(32)
    device = Device(name=name, school_id=spent, token_digest=token_digest(token), enrolled_at=now)
    session.add(device)
    session.flush()
    audit.record(session, "device.enroll", device_id=device.id, source_ip=source_ip, school_id=spent, name=name)
    return EnrolledDevice(device.id, token)


@dataclass(frozen=True)
class DeviceIdentity:
    """Who an authenticated device is: what routes need of it, read in one statement."""

    id: str
    name: str
    school_id: str


_BY_TOKEN = DriverStatement(
    select(Device.id, Device.name, Device.school_id, Device.disabled_at, Device.last_seen_at, Device.software).where(
        Device.token_digest == bindparam("digest")
    )
)


def is_enrolled(session: Executor, token: str) -> bool:
    """Whether this token belongs to an enabled device (a read: no last-seen update)."""
    if not token:
        return False
    row = _BY_TOKEN.first(session, {"digest": token_digest(token)})
    return row is not None and row.disabled_at is None


def authenticate_device(session: Executor, token: str, *, software: str | None = None) -> DeviceIdentity:
    """The enabled device holding this token; updates its last-seen time (and software, if told).

    Core statements, not an ORM load: every exchange of the morning rush passes here."""
    if not token:
        raise DeviceNotAuthorized("This request needs the device token (Authorization: Bearer ...).")
    row = _BY_TOKEN.first(session, {"digest": token_digest(token)})
    if row is None or row.disabled_at is not None:
        raise DeviceNotAuthorized()
    # "Last seen" is for admins (minutes matter, not seconds): written at most once a minute,
    # not on every exchange a busy kiosk makes.
    now = utcnow()
    changes: dict[str, object] = {}
    if row.last_seen_at is None or now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        changes["last_seen_at"] = now
    if software and row.software != software[:120]:
        changes["software"] = software[:120]
    if changes:
        session.execute(update(Device.__table__).where(Device.__table__.c.id == row.id).values(**changes))
    return DeviceIdentity(row.id, row.name, row.school_id)


def disable_device(session: Session, device_id: str, *, actor: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFoundError(f"no device with id {device_id!r}")
    device.disabled_at = utcnow()
    audit.record(session, "device.disable", actor=actor, device_id=device.id)
    return device


def devices_of(session: Session, school_ids: Collection[str] | None) -> list[Device]:
    """Devices of these schools (``None``: every school), enabled ones first, by name."""
    query = select(Device).order_by(Device.disabled_at.is_not(None), Device.name)
    if school_ids is not None:
        query = query.where(Device.school_id.in_(school_ids))
    return list(session.scalars(query))


def find_device(session: Session, device_id: str, school_ids: Collection[str] | None) -> Device | None:
    """The device, if it is one of these schools' (``None``: any school's)."""
    device = session.get(Device, device_id)
    if device is None or (school_ids is not None and device.school_id not in school_ids):
        return None
    return device
