"""Badge lifecycle: issue, reprint, replace, revoke, expire, void, temporary codes and PINs.

Functions here change the caller's session and never commit: a request or command is one
transaction, so "revoke old + issue new" lands whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.badge_policy import PolicyCache, badge_policy_for
from badge_server.clock import utcnow
from badge_server.contract.payload import MAX_GENERATION, BadgeKind, BadgePayload, new_payload
from badge_server.errors import NotFoundError, PolicyError
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.store.models import (
    Badge,
    BadgeStatus,
    Enrollment,
    Person,
    RosterRole,
    SchoolClass,
    StudentSession,
    new_id,
)

_pin_hasher = PasswordHasher()
_DUMMY_PIN_HASH = _pin_hasher.hash("000000")


@dataclass(frozen=True)
class IssuedBadge:
    """A badge row with its payload in clear, for printing or showing once."""

    badge: Badge
    payload: BadgePayload


def is_eligible(person: Person, settings: Settings) -> bool:
    """Active students in a badge grade (a district setting, PK-5 by default) get badges."""
    return eligible(person.active, person.role, person.grade, settings)


def eligible(active: bool, role: str, grade: str | None, settings: Settings) -> bool:
    """The rule of :func:`is_eligible`, for a person known only by these fields (a roster row)."""
    return active and role == RosterRole.STUDENT and (grade or "") in settings.badge_grades


def _new_badge(
    session: Session, keys: ServerKeys, person: Person, kind: BadgeKind, generation: int, expires_at: datetime
) -> IssuedBadge:
    payload = new_payload(kind, generation)
    badge = Badge(
        person_id=person.id,
        kind=kind.value,
        generation=generation,
        status=BadgeStatus.ACTIVE,
        digest=keys.secret_digest(payload.secret),
        secret_encrypted=keys.encrypt(payload.secret),
        issued_at=utcnow(),
        expires_at=expires_at,
    )
    badge.reference = ""
    session.add(badge)
    session.flush()  # assigns the id the reference is made from
    badge.reference = _reference(badge.id, generation)
    return IssuedBadge(badge, payload)


def _reference(badge_id: str, generation: int) -> str:
    """What is printed under the code to tell badges apart (not the secret)."""
    return f"{badge_id[:4].upper()}-{generation}"


def current_badge(session: Session, person_id: str) -> Badge | None:
    """The person's active printed badge, if any."""
    return session.scalars(
        select(Badge).where(
            Badge.person_id == person_id, Badge.kind == BadgeKind.BADGE, Badge.status == BadgeStatus.ACTIVE
        )
    ).first()


def get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(f"no person with id {person_id!r}")
    return person


def issue_badge(
    session: Session,
    keys: ServerKeys,
    settings: Settings,
    person: Person,
    *,
    actor: str,
    policies: PolicyCache | None = None,
) -> IssuedBadge:
    """Issue a first badge, lasting as long as the student's school says; refused if the person
    is not eligible or already has one."""
    if not is_eligible(person, settings):
        raise PolicyError(
            f"{person.display_name} ({person.id}) cannot have a badge: badges are for active students "
            f"in grades {', '.join(settings.badge_grades)}"
        )
    if current_badge(session, person.id) is not None:
        raise PolicyError(f"{person.display_name} already has an active badge; reprint or replace it")
    previous = session.scalars(
        select(Badge.generation).where(Badge.person_id == person.id, Badge.kind == BadgeKind.BADGE)
    ).all()
    generation = max(previous, default=0) + 1
    policy = (policies or PolicyCache(session, settings)).of(person.school_id)
    issued = _new_badge(
        session, keys, person, BadgeKind.BADGE, generation, utcnow() + timedelta(days=policy.expiry_days)
    )
    audit.record(session, "badge.issue", actor=actor, person_id=person.id, badge_id=issued.badge.id)
    return issued


def badges_to_issue(session: Session, keys: ServerKeys, settings: Settings, *, limit: int) -> list[dict[str, Any]]:
    """New badge rows (secrets made, not yet stored) for up to ``limit`` eligible students without
    an active badge. Only reads: the roster import makes them before it takes the write lock."""
    have = select(Badge.person_id).where(Badge.kind == BadgeKind.BADGE, Badge.status == BadgeStatus.ACTIVE)
    people = session.execute(
        select(Person.id, Person.school_id)
        .where(
            Person.active.is_(True),
            Person.role == RosterRole.STUDENT,
            Person.grade.in_(settings.badge_grades),
            Person.id.not_in(have),
        )
        .order_by(Person.id)
        .limit(limit)
    ).all()
    if not people:
        return []
    earlier = session.execute(
        select(Badge.person_id, func.max(Badge.generation))
        .where(Badge.person_id.in_([person_id for person_id, _school in people]), Badge.kind == BadgeKind.BADGE)
        .group_by(Badge.person_id)
    )
    generations: dict[str, int] = {person_id: generation for person_id, generation in earlier}
    policies = PolicyCache(session, settings)
    now = utcnow()
    rows = []
    for person_id, school_id in people:
        generation = generations.get(person_id, 0) + 1
        payload = new_payload(BadgeKind.BADGE, generation)
        badge_id = new_id()
        rows.append(
            {
                "id": badge_id,
                "person_id": person_id,
                "kind": BadgeKind.BADGE.value,
                "generation": generation,
                "status": BadgeStatus.ACTIVE,
                "digest": keys.secret_digest(payload.secret),
                "secret_encrypted": keys.encrypt(payload.secret),
                "reference": _reference(badge_id, generation),
                "issued_at": now,
                "expires_at": now + timedelta(days=policies.of(school_id).expiry_days),
            }
        )
    return rows


def store_new_badges(session: Session, rows: list[dict[str, Any]], *, actor: str) -> int:
    """Store rows from :func:`badges_to_issue`, each audited, but for any student who got a badge
    since (a teacher's print button); returns how many were stored.

    A few statements for the whole batch, not ORM objects and two look-ups per badge: a district's
    first import issues tens of thousands, and each batch holds SQLite's one writer while kiosks
    wait to sign in. 200 badges held it 180 ms that way; about 10 ms now."""
    if not rows:
        return 0
    badged = set(
        session.scalars(
            select(Badge.person_id).where(
                Badge.person_id.in_([row["person_id"] for row in rows]),
                Badge.kind == BadgeKind.BADGE,
                Badge.status == BadgeStatus.ACTIVE,
            )
        )
    )
    rows = [row for row in rows if row["person_id"] not in badged]
    if rows:
        session.execute(insert(Badge.__table__), rows)
        audit.record_many(session, "badge.issue", [(row["person_id"], row["id"]) for row in rows], actor=actor)
    return len(rows)


def reprint(session: Session, keys: ServerKeys, badge: Badge, *, actor: str) -> IssuedBadge:
    """The same badge again (same secret), e.g. a copy for the classroom; audited as a print."""
    if badge.status != BadgeStatus.ACTIVE:
        raise PolicyError(f"badge {badge.reference} is {badge.status}; only an active badge can be printed")
    payload = BadgePayload(BadgeKind(badge.kind), badge.generation, keys.decrypt(badge.secret_encrypted))
    badge.printed_at = utcnow()
    audit.record(session, "badge.print", actor=actor, person_id=badge.person_id, badge_id=badge.id)
    return IssuedBadge(badge, payload)


def end_sessions(
    session: Session, *, reason: str, badge_ids: list[str] | None = None, person_ids: list[str] | None = None
) -> int:
    """End every open session of these badges or people, at once, on the server."""
    statement = update(StudentSession).where(StudentSession.ended_at.is_(None))
    if badge_ids is not None:
        statement = statement.where(StudentSession.badge_id.in_(badge_ids))
    if person_ids is not None:
        statement = statement.where(StudentSession.person_id.in_(person_ids))
    result = session.execute(statement.values(ended_at=utcnow(), end_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _end_badges(session: Session, badges: list[Badge], status: str, *, actor: str, kind: str) -> None:
    now = utcnow()
    for badge in badges:
        badge.status = status
        badge.ended_at = now
        audit.record(session, kind, actor=actor, person_id=badge.person_id, badge_id=badge.id)
    if badges:
        end_sessions(session, reason=status, badge_ids=[b.id for b in badges])


def replace(session: Session, keys: ServerKeys, settings: Settings, person: Person, *, actor: str) -> IssuedBadge:
    """A new generation; every copy of the old badge stops at once and its sessions end."""
    old = current_badge(session, person.id)
    if old is None:
        raise PolicyError(f"{person.display_name} has no active badge to replace; issue one instead")
    if old.generation >= MAX_GENERATION:
        raise PolicyError(f"badge generation limit {MAX_GENERATION} reached for {person.id}")
    _end_badges(session, [old], BadgeStatus.REPLACED, actor=actor, kind="badge.replace")
    session.flush()
    return issue_badge(session, keys, settings, person, actor=actor)


def revoke(session: Session, badge: Badge, *, actor: str) -> None:
    """Stop one badge or temporary code for good (no replacement)."""
    if badge.status != BadgeStatus.ACTIVE:
        raise PolicyError(f"badge {badge.reference} is already {badge.status}")
    _end_badges(session, [badge], BadgeStatus.REVOKED, actor=actor, kind="badge.revoke")


def _active_badges_of(session: Session, person_ids: Select[str]) -> list[Badge]:
    return list(
        session.scalars(select(Badge).where(Badge.status == BadgeStatus.ACTIVE, Badge.person_id.in_(person_ids)))
    )


def void_class(session: Session, class_id: str, *, actor: str) -> int:
    """Void every badge and temporary code of a class's students (year end)."""
    if session.get(SchoolClass, class_id) is None:
        raise NotFoundError(f"no class with id {class_id!r}")
    students = select(Enrollment.person_id).where(
        Enrollment.class_id == class_id, Enrollment.role == RosterRole.STUDENT
    )
    badges = _active_badges_of(session, students)
    _end_badges(session, badges, BadgeStatus.VOIDED, actor=actor, kind="badge.void")
    audit.record(session, "class.void", actor=actor, class_id=class_id, badges=len(badges))
    return len(badges)


def void_school(session: Session, school_id: str, *, actor: str) -> int:
    """Void every badge and temporary code of a school's students (year end)."""
    students = select(Person.id).where(Person.school_id == school_id, Person.role == RosterRole.STUDENT)
    badges = _active_badges_of(session, students)
    _end_badges(session, badges, BadgeStatus.VOIDED, actor=actor, kind="badge.void")
    audit.record(session, "school.void", actor=actor, school_id=school_id, badges=len(badges))
    return len(badges)


def temporary_code(
    session: Session, keys: ServerKeys, settings: Settings, person: Person, *, actor: str, hours: float | None = None
) -> IssuedBadge:
    """A same-day code for a forgotten badge, lasting as long as the student's school says unless
    ``hours`` is given; replaces any earlier temporary code."""
    hours = badge_policy_for(session, settings, person.school_id).temp_code_hours if hours is None else hours
    if not 0 < hours <= settings.temp_code_max_hours:
        raise PolicyError(f"a temporary code lasts at most {settings.temp_code_max_hours:g} hours, not {hours:g}")
    if not is_eligible(person, settings):
        raise PolicyError(f"{person.display_name} ({person.id}) cannot sign in with a badge")
    earlier = session.scalars(
        select(Badge).where(
            Badge.person_id == person.id, Badge.kind == BadgeKind.TEMPORARY, Badge.status == BadgeStatus.ACTIVE
        )
    ).all()
    _end_badges(session, list(earlier), BadgeStatus.REVOKED, actor=actor, kind="badge.revoke")
    issued = _new_badge(session, keys, person, BadgeKind.TEMPORARY, 1, utcnow() + timedelta(hours=hours))
    audit.record(session, "badge.temporary", actor=actor, person_id=person.id, badge_id=issued.badge.id, hours=hours)
    return issued


def expiring_soon(session: Session, settings: Settings) -> list[Badge]:
    """Active printed badges that expire within the warning window (default 30 days)."""
    horizon = utcnow() + timedelta(days=settings.badge_expiry_warning_days)
    return list(
        session.scalars(
            select(Badge).where(
                Badge.kind == BadgeKind.BADGE, Badge.status == BadgeStatus.ACTIVE, Badge.expires_at <= horizon
            )
        )
    )


def check_pin_strength(pin: str) -> None:
    """Refuse anything but 6 digits, and PINs a classmate would guess first."""
    if not re.fullmatch(r"[0-9]{6}", pin):
        raise PolicyError("a PIN is exactly 6 digits")
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in pairwise(digits)}
    if len(set(digits)) <= 2 or steps in ({1}, {-1}) or pin[:3] == pin[3:]:
        raise PolicyError(f"the PIN {pin} is too easy to guess (repeats or counts); choose another")


def set_pin(session: Session, person: Person, pin: str, *, actor: str) -> None:
    check_pin_strength(pin)
    person.pin_hash = _pin_hasher.hash(pin)
    audit.record(session, "pin.set", actor=actor, person_id=person.id)


def pin_hash_matches(pin_hash: str | None, pin: str) -> bool:
    """argon2: call it outside any transaction (exchange.check_pin_first). No hash: checked
    against a dummy one, so a badge without a PIN answers in the same time."""
    try:
        return _pin_hasher.verify(pin_hash or _DUMMY_PIN_HASH, pin) and pin_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def pin_required(person: Person, pin_grades: Collection[str]) -> bool:
    """The school's policy asks for a PIN for this grade (``pin_grades``), and the student has one set."""
    return person.pin_hash is not None and (person.grade or "") in pin_grades
