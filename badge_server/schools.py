"""Schools and the people in them as the admin console lists them: read-only views of the roster.

``school_ids`` narrows every list to the schools a school admin manages; ``None`` is the whole
district.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from badge_server.contract.payload import BadgeKind
from badge_server.store.models import Badge, BadgeStatus, Enrollment, Org, Person, RosterRole, SchoolClass

PEOPLE_SHOWN = 500


def _within(column: QueryableAttribute[Any], school_ids: Collection[str] | None) -> ColumnElement[bool]:
    return true() if school_ids is None else column.in_(school_ids)


@dataclass(frozen=True)
class SchoolSummary:
    """A school's line on the admin overview."""

    id: str
    name: str
    active: bool
    classes: int  # every class of the school, closed ones too
    students: int  # active students
    badges: int  # active printed badges of active students (temporary codes not counted)


def school_summaries(session: Session, school_ids: Collection[str] | None) -> list[SchoolSummary]:
    """The schools by name, each with its counts: one query, however many schools there are."""
    classes = (
        select(SchoolClass.school_id, func.count().label("classes"))
        .where(_within(SchoolClass.school_id, school_ids))
        .group_by(SchoolClass.school_id)
        .subquery()
    )
    # Each student once, joined to their active printed badges (if any): a badge row per match.
    active_badge = and_(Badge.person_id == Person.id, Badge.status == BadgeStatus.ACTIVE, Badge.kind == BadgeKind.BADGE)
    students = (
        select(
            Person.school_id,
            func.count(distinct(Person.id)).label("students"),
            func.count(Badge.id).label("badges"),
        )
        .outerjoin(Badge, active_badge)
        .where(Person.role == RosterRole.STUDENT, Person.active.is_(True), _within(Person.school_id, school_ids))
        .group_by(Person.school_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Org.id,
            Org.name,
            Org.active,
            func.coalesce(classes.c.classes, 0),
            func.coalesce(students.c.students, 0),
            func.coalesce(students.c.badges, 0),
        )
        .outerjoin(classes, classes.c.school_id == Org.id)
        .outerjoin(students, students.c.school_id == Org.id)
        .where(Org.type == "school", _within(Org.id, school_ids))
        .order_by(Org.name)
    )
    return [SchoolSummary(*row) for row in rows]


def find_schools(session: Session, school_ids: Collection[str] | None, *, open_only: bool = False) -> list[Org]:
    """The schools by name; ``open_only`` leaves out those the roster has closed."""
    query = select(Org).where(Org.type == "school", _within(Org.id, school_ids)).order_by(Org.name)
    if open_only:
        query = query.where(Org.active.is_(True))
    return list(session.scalars(query))


def school_names(session: Session) -> dict[str, str]:
    """Every org's name by id (schools and the district), to name the school of a row."""
    return {org.id: org.name for org in session.scalars(select(Org))}


@dataclass(frozen=True)
class PersonListing:
    """A person on the admin's people list."""

    id: str
    display_name: str
    active: bool
    role: str
    grade: str | None
    school: str  # its name, "" when unknown
    classes: tuple[str, ...]  # titles of the classes they are enrolled in now


def find_people(
    session: Session, school_ids: Collection[str] | None, *, text: str = "", school: str = "", role: str = ""
) -> list[PersonListing]:
    """People by family name (the first ``PEOPLE_SHOWN``) whose name or id contains ``text``."""
    query = (
        select(Person)
        .where(_within(Person.school_id, school_ids))
        .order_by(Person.family_name, Person.given_name)
        .limit(PEOPLE_SHOWN)
    )
    if school:
        query = query.where(Person.school_id == school)
    if role:
        query = query.where(Person.role == role)
    if text.strip():
        like = f"%{text.strip().lower()}%"
        query = query.where(
            func.lower(Person.given_name).like(like)
            | func.lower(Person.family_name).like(like)
            | func.lower(Person.id).like(like)
        )
    found = list(session.scalars(query))
    classes: dict[str, list[str]] = {}
    for person_id, title in session.execute(
        select(Enrollment.person_id, SchoolClass.title)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(Enrollment.person_id.in_([p.id for p in found]), Enrollment.active.is_(True))
    ):
        classes.setdefault(person_id, []).append(title)
    names = school_names(session)
    return [
        PersonListing(
            id=person.id,
            display_name=person.display_name,
            active=person.active,
            role=person.role,
            grade=person.grade,
            school=names.get(person.school_id or "", ""),
            classes=tuple(classes.get(person.id, ())),
        )
        for person in found
    ]


def find_teachers(session: Session, school_ids: Collection[str] | None) -> list[Person]:
    """Active roster teachers by family name: who a teacher account can be made for."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.role == RosterRole.TEACHER, Person.active.is_(True), _within(Person.school_id, school_ids))
            .order_by(Person.family_name)
        )
    )
