"""Classes as staff see them: the classes a staff member may see, a class's students with the
state of each one's badge, and one student of a class."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_printing.card import name_sort_key
from badge_server.clock import utcnow
from badge_server.contract.payload import BadgeKind
from badge_server.contract.words import N_
from badge_server.settings import Settings
from badge_server.store.models import (
    Badge,
    BadgeStatus,
    Enrollment,
    Person,
    RosterRole,
    SchoolClass,
    StaffRole,
    StaffUser,
)

# States after which a student has no badge to print, replace or revoke.
NOTHING_TO_PRINT = ("no badge", BadgeStatus.REVOKED, BadgeStatus.VOIDED)
#: Each state's words, for the catalogues: the teacher's page shows the state in their language.
STATE_WORDS = (
    *(N_("no badge"), N_("active"), N_("expires soon"), N_("never printed")),
    *(N_("replaced"), N_("revoked"), N_("voided")),
)


def visible_classes(session: Session, user: StaffUser) -> list[SchoolClass]:
    """Open classes by title: a teacher's own, a school admin's school's, or all for a district admin."""
    query = select(SchoolClass).where(SchoolClass.active.is_(True)).order_by(SchoolClass.title)
    if user.role == StaffRole.TEACHER:
        mine = select(Enrollment.class_id).where(
            Enrollment.person_id == (user.person_id or ""),
            Enrollment.role == RosterRole.TEACHER,
            Enrollment.active.is_(True),
        )
        query = query.where(SchoolClass.id.in_(mine))
    elif user.role == StaffRole.SCHOOL_ADMIN:
        query = query.where(SchoolClass.school_id == (user.school_id or ""))
    return list(session.scalars(query))


def student_of(session: Session, class_id: str, person_id: str) -> Person | None:
    """The person, if they are an active student enrolled in this class now."""
    enrolled = session.scalars(
        select(Enrollment).where(
            Enrollment.class_id == class_id,
            Enrollment.person_id == person_id,
            Enrollment.role == RosterRole.STUDENT,
            Enrollment.active.is_(True),
        )
    ).first()
    student = session.get(Person, person_id)
    if enrolled is None or student is None or not student.active:
        return None
    return student


@dataclass(frozen=True)
class BadgeState:
    """A student's printed badge as a teacher reads it; reference and expiry are "" without one."""

    state: str
    reference: str = ""
    expires: str = ""

    @property
    def has_badge(self) -> bool:
        return self.state not in NOTHING_TO_PRINT


def badge_state(badges: Iterable[Badge], settings: Settings) -> BadgeState:
    """The state of the active printed badge among these (a student's), else of the latest one."""
    printed = [b for b in badges if b.kind == BadgeKind.BADGE]
    active = next((b for b in printed if b.status == BadgeStatus.ACTIVE), None)
    if active is None:
        latest = max(printed, key=lambda b: b.generation, default=None)
        return BadgeState("no badge" if latest is None else latest.status)
    expires = f"{active.expires_at:%Y-%m-%d}"
    if active.expires_at <= utcnow() + timedelta(days=settings.badge_expiry_warning_days):
        return BadgeState("expires soon", active.reference, expires)
    if active.printed_at is None:
        return BadgeState("never printed", active.reference, expires)
    return BadgeState("active", active.reference, expires)


def student_badge_state(session: Session, person_id: str, settings: Settings) -> BadgeState:
    return badge_state(session.scalars(select(Badge).where(Badge.person_id == person_id)), settings)


@dataclass(frozen=True)
class RosterRow:
    """A student on a class roster."""

    id: str
    name: str
    badge: BadgeState


def class_roster(session: Session, class_id: str, settings: Settings) -> list[RosterRow]:
    """The class's active students, sorted as on the printed cover page (accents ignored)."""
    students = list(
        session.scalars(
            select(Person)
            .join(Enrollment, Enrollment.person_id == Person.id)
            .where(
                Enrollment.class_id == class_id,
                Enrollment.role == RosterRole.STUDENT,
                Enrollment.active.is_(True),
                Person.active.is_(True),
            )
        )
    )
    badges: dict[str, list[Badge]] = {}
    for badge in session.scalars(select(Badge).where(Badge.person_id.in_([s.id for s in students]))):
        badges.setdefault(badge.person_id, []).append(badge)
    return [
        RosterRow(student.id, student.display_name, badge_state(badges.get(student.id, []), settings))
        for student in sorted(students, key=lambda s: name_sort_key(s.display_name))
    ]
