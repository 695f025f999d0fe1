"""Cart enrolment links: one link enrols a school's cart of Chromebooks as browser scanners.

A link is multi-use (each use enrols one new device, named "<prefix> 1", "<prefix> 2", ...),
expires within days and can be revoked. It carries 128+ random bits; only their digest is
stored. Whoever holds the link can enrol scanners of that school until it is used up, expires
or is revoked (SECURITY.md, "Cart enrolment links"), so every use and refusal is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.devices import EnrolledDevice
from badge_server.errors import EnrolLinkNotAccepted, EnrolLinkRefused
from badge_server.keys import token_digest
from badge_server.store.models import Device, Org
from badge_server.store.sso_models import EnrolLink

DEFAULT_USES = 30
MAX_USES = 500
DEFAULT_HOURS = 24
MAX_HOURS = 7 * 24
DEFAULT_PREFIX = "Chromebook"
MAX_PREFIX_CHARS = 100  # leaves room for " 500" within a device name
ENROL_PATH = "/scan/enrol"
# 32 bytes -> 43 URL-safe characters: 256 bits, and no character a URL fragment must escape.
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class EnrolLinkGrant:
    """A new link, shown once: the token is in ``url`` and nowhere in the database."""

    link_id: str
    url: str
    school_id: str
    name_prefix: str
    max_uses: int
    expires_at: datetime

    def as_json(self) -> dict[str, str | int]:
        return {
            "link_id": self.link_id,
            "url": self.url,
            "expires_at": self.expires_at.isoformat(timespec="seconds"),
            "max_uses": self.max_uses,
        }


@dataclass(frozen=True)
class LinkEnrolment:
    """A device a link enrolled: its token (for the page, once) and the name it was given."""

    device: EnrolledDevice
    name: str
    school_id: str


def link_url(base_url: str, token: str) -> str:
    # The token goes in the fragment: browsers never send a fragment to the server (so it is in
    # no access log) nor in a Referer; the page reads it and POSTs it.
    return f"{base_url.rstrip('/')}{ENROL_PATH}#{token}"


def _refused(session: Session, kind: str, reason: str, message: str, *, actor: str, **ids: str) -> EnrolLinkRefused:
    audit.record(session, kind, "refused", actor=actor, reason=reason, **ids)
    return EnrolLinkRefused(reason, message)


def create_link(
    session: Session,
    school_id: str,
    base_url: str,
    *,
    actor: str,
    max_uses: int = DEFAULT_USES,
    hours: float = DEFAULT_HOURS,
    name_prefix: str | None = None,
) -> EnrolLinkGrant:
    """A new link for the school. Bad input adds a ``refused`` audit row and raises
    :class:`EnrolLinkRefused` before anything else is written: callers may commit the row."""
    prefix = " ".join((name_prefix or DEFAULT_PREFIX).split())
    school = session.get(Org, school_id)
    problem = None
    if school is None or not school.active:
        problem = ("unknown_school", f"no active school with id {school_id!r} (see orgs.csv of the roster)")
    elif not 1 <= max_uses <= MAX_USES:
        problem = ("bad_uses", f"uses must be between 1 and {MAX_USES}, not {max_uses}")
    elif not 0 < hours <= MAX_HOURS:
        problem = ("bad_hours", f"hours must be more than 0 and at most {MAX_HOURS} (7 days), not {hours:g}")
    elif not prefix or len(prefix) > MAX_PREFIX_CHARS:
        problem = ("bad_prefix", f"the name prefix must be 1 to {MAX_PREFIX_CHARS} characters")
    if problem:
        raise _refused(session, "enrol_link.create", *problem, actor=actor, school_id=school_id[:64])
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    now = utcnow()
    link = EnrolLink(
        digest=token_digest(token),
        school_id=school_id,
        name_prefix=prefix,
        max_uses=max_uses,
        uses=0,
        created_at=now,
        created_by=actor,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        "enrol_link.create",
        actor=actor,
        link_id=link.id,
        school_id=school_id,
        max_uses=max_uses,
        hours=hours,
        name_prefix=prefix,
    )
    return EnrolLinkGrant(link.id, link_url(base_url, token), school_id, prefix, max_uses, link.expires_at)


def _why_not(link: EnrolLink | None, now: datetime) -> EnrolLinkNotAccepted:
    """The refusal for a link the conditional update did not spend, kind to the person holding it."""
    if link is None:
        return EnrolLinkNotAccepted(
            "unknown", "This set-up link is not valid. Check that it was copied whole, or ask IT for a new one."
        )
    error = EnrolLinkNotAccepted("unknown")
    if link.revoked_at is not None:
        error = EnrolLinkNotAccepted("revoked", "This set-up link was turned off by IT. Ask IT for a new one.")
    elif link.expires_at <= now:
        error = EnrolLinkNotAccepted("expired", "This set-up link has expired. Ask IT for a new one.")
    elif link.uses >= link.max_uses:
        error = EnrolLinkNotAccepted(
            "used_up", f"This set-up link has already set up {link.max_uses} computers. Ask IT for a new one."
        )
    error.audit_ids["link_id"] = link.id
    return error


def redeem_link(session: Session, token: str, *, source_ip: str | None) -> LinkEnrolment:
    """Spend one use of the link and enrol one new scanner device of its school."""
    now = utcnow()
    digest = token_digest(token)
    # One conditional UPDATE counts the use: on PostgreSQL a second concurrent update of the row
    # waits for the first to commit and then re-checks ``uses < max_uses`` against the new
    # value; SQLite has one writer at a time. So a link never enrols more than max_uses devices.
    spent = session.execute(
        update(EnrolLink)
        .where(
            EnrolLink.digest == digest,
            EnrolLink.revoked_at.is_(None),
            EnrolLink.expires_at > now,
            EnrolLink.uses < EnrolLink.max_uses,
        )
        .values(uses=EnrolLink.uses + 1)
        .returning(EnrolLink.id, EnrolLink.school_id, EnrolLink.name_prefix, EnrolLink.uses)
    ).one_or_none()
    if spent is None:
        raise _why_not(session.scalars(select(EnrolLink).where(EnrolLink.digest == digest)).first(), now)
    link_id, school_id, prefix, number = spent
    device_token = secrets.token_urlsafe(32)
    name = f"{prefix} {number}"
    device = Device(name=name, school_id=school_id, token_digest=token_digest(device_token), enrolled_at=now)
    session.add(device)
    session.flush()
    audit.record(
        session,
        "enrol_link.use",
        device_id=device.id,
        source_ip=source_ip,
        link_id=link_id,
        school_id=school_id,
        name=name,
        use=number,
    )
    return LinkEnrolment(EnrolledDevice(device.id, device_token), name, school_id)


def links_of(session: Session, school_ids: Collection[str] | None) -> list[EnrolLink]:
    """Links of these schools (``None``: every school), newest first."""
    query = select(EnrolLink).order_by(EnrolLink.created_at.desc(), EnrolLink.id)
    if school_ids is not None:
        query = query.where(EnrolLink.school_id.in_(school_ids))
    return list(session.scalars(query))


def find_link(session: Session, link_id: str, school_ids: Collection[str] | None) -> EnrolLink | None:
    """The link, if it is one of these schools' (``None``: any school's)."""
    link = session.get(EnrolLink, link_id)
    if link is None or (school_ids is not None and link.school_id not in school_ids):
        return None
    return link


def state_of(link: EnrolLink, now: datetime | None = None) -> str:
    """``active``, or why the link no longer enrols anything: ``revoked``, ``expired``, ``used_up``."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= (now or utcnow()):
        return "expired"
    return "used_up" if link.uses >= link.max_uses else "active"


def is_usable(link: EnrolLink, now: datetime | None = None) -> bool:
    return state_of(link, now) == "active"


def summary(link: EnrolLink) -> dict[str, str | int | None]:
    """What ``enrol-link list --json`` and the console show of a link (never its token)."""
    return {
        "link_id": link.id,
        "school_id": link.school_id,
        "name_prefix": link.name_prefix,
        "max_uses": link.max_uses,
        "uses": link.uses,
        "uses_left": max(0, link.max_uses - link.uses),
        "state": state_of(link),
        "created_at": link.created_at.isoformat(timespec="seconds"),
        "created_by": link.created_by,
        "expires_at": link.expires_at.isoformat(timespec="seconds"),
        "revoked_at": link.revoked_at.isoformat(timespec="seconds") if link.revoked_at else None,
    }


def revoke_link(session: Session, link_id: str, *, actor: str, school_ids: Collection[str] | None = None) -> EnrolLink:
    """Stop the link now; devices it already enrolled stay enrolled (disable them one by one)."""
    link = find_link(session, link_id, school_ids)
    if link is None:
        raise _refused(
            session,
            "enrol_link.revoke",
            "unknown_link",
            f"no enrolment link with id {link_id!r}",
            actor=actor,
            link_id=link_id[:64],
        )
    if link.revoked_at is not None:
        raise _refused(
            session,
            "enrol_link.revoke",
            "already_revoked",
            f"enrolment link {link_id} was already revoked at {link.revoked_at.isoformat(timespec='seconds')}",
            actor=actor,
            link_id=link_id,
        )
    link.revoked_at = utcnow()
    audit.record(session, "enrol_link.revoke", actor=actor, link_id=link.id, school_id=link.school_id, uses=link.uses)
    return link
