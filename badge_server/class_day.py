"""What happened today, as a teacher and an admin see it: who signed in (when, and where), whose
sign-in failed and why in plain words, who has not signed in for a week, and which apps were opened.

"Today" is the district's day (``BADGE_TIMEZONE``). Sign-ins come from the sessions (not those a
kiosk hands to the browser it opens for a tile: that is the same sign-in), failures and app
launches from the audit log. Everything is read for the students in view, in a few statements
however many students there are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Result, func, select
from sqlalchemy.orm import Session

from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.settings import Settings
from badge_server.staff_words import StaffMessage
from badge_server.store.models import (
    App,
    AuditEvent,
    Device,
    Enrollment,
    Org,
    Person,
    RosterRole,
    SchoolClass,
    StudentSession,
)

#: A failed sign-in, as its teacher is told it: what happened, and what to do.
FAILURE_WORDS = {
    "badge_replaced": N_("held up an old badge that was replaced: give them their new one"),
    "badge_not_accepted": N_("held up a badge that no longer works (revoked or voided): print a new one"),
    "badge_expired": N_("held up a badge that has expired: print a new one"),
    "pin_incorrect": N_("typed a wrong PIN"),
    "pin_tries_used_up": N_("used up today's PIN tries: the badge works again tomorrow"),
    "pin_not_set": N_("needs a PIN to sign in at home: set one"),
    "home_sign_in_off": N_("tried to sign in at home, which is off for them"),
    "password_not_accepted": N_("typed a wrong password"),
    "rate_limited": N_("tried too many times in a minute"),
}
SIGN_IN_KINDS = ("badge.exchange", "badge.home", "password.sign_in")
WEEK = timedelta(days=7)


def day_start(settings: Settings, now: datetime) -> datetime:
    """Midnight of the district's day that ``now`` falls in, as an aware UTC-comparable time."""
    local = now.astimezone(settings.zone)
    return datetime.combine(local.date(), time(), tzinfo=settings.zone)


def _place(client: str, method: str, device: str | None) -> StaffMessage:
    with_password = method == "password"
    if client == "home":
        return StaffMessage(N_("at home with a password") if with_password else N_("at home"))
    if device:
        return StaffMessage(N_("%(device)s with a password") if with_password else "%(device)s", {"device": device})
    if client == "browser":
        return StaffMessage(N_("a browser with a password") if with_password else N_("a browser"))
    return StaffMessage(N_("a kiosk with a password") if with_password else N_("a kiosk"))


@dataclass(frozen=True)
class SignedIn:
    """A student's sign-ins today: the first and last, how many, and where."""

    person_id: str
    name: str
    first_at: datetime
    last_at: datetime
    times: int
    places: tuple[StaffMessage, ...]


@dataclass(frozen=True)
class Failure:
    person_id: str
    name: str
    at: datetime
    words: str
    place: str


@dataclass(frozen=True)
class AppLaunches:
    app_id: str
    name: str
    launches: int
    students: int


@dataclass(frozen=True)
class ClassDay:
    """One class's day, for its teacher."""

    day: date
    students: int
    signed_in: list[SignedIn]
    failures: list[Failure]
    not_this_week: list[tuple[str, str]]  # (person id, name), by name
    apps: list[AppLaunches]


def class_day(db: Session, settings: Settings, names: Mapping[str, str]) -> ClassDay:
    """The day of the students ``names`` (person id -> name, in the order to show them)."""
    now = utcnow()
    start, ids = day_start(settings, now), list(names)
    seen: dict[str, list[tuple[datetime, StaffMessage]]] = defaultdict(list)
    this_week: set[str] = set()
    for person_id, at, client, method, device in db.execute(
        select(
            StudentSession.person_id,
            StudentSession.created_at,
            StudentSession.client,
            StudentSession.method,
            Device.name,
        )
        .outerjoin(Device, Device.id == StudentSession.device_id)
        .where(
            StudentSession.person_id.in_(ids),
            StudentSession.created_at >= now - WEEK,
            StudentSession.handed_off_from.is_(None),
        )
        .order_by(StudentSession.created_at)
    ):
        this_week.add(person_id)
        if at >= start:
            seen[person_id].append((at, _place(client, method, device)))
    signed_in = [
        SignedIn(
            person_id,
            names[person_id],
            times[0][0],
            times[-1][0],
            len(times),
            tuple(dict.fromkeys(place for _at, place in times)),
        )
        for person_id, times in sorted(seen.items(), key=lambda item: item[1][0][0])
    ]
    failures = [
        Failure(person_id, names[person_id], at, FAILURE_WORDS[outcome], device or "")
        for person_id, at, outcome, device in db.execute(
            select(AuditEvent.person_id, AuditEvent.at, AuditEvent.outcome, Device.name)
            .outerjoin(Device, Device.id == AuditEvent.device_id)
            .where(
                AuditEvent.kind.in_(SIGN_IN_KINDS),
                AuditEvent.outcome.in_(list(FAILURE_WORDS)),
                AuditEvent.person_id.in_(ids),
                AuditEvent.at >= start,
            )
            .order_by(AuditEvent.at.desc())
        )
        if person_id is not None
    ]
    return ClassDay(
        day=start.date(),
        students=len(ids),
        signed_in=signed_in,
        failures=failures,
        not_this_week=[(person_id, name) for person_id, name in names.items() if person_id not in this_week],
        apps=_app_launches(db, ids, start),
    )


def _app_launches(db: Session, ids: list[str], start: datetime) -> list[AppLaunches]:
    app_id = AuditEvent.detail["app_id"].as_string()
    launches: Counter[str] = Counter()
    students: dict[str, set[str]] = defaultdict(set)
    for app, person_id in db.execute(
        select(app_id, AuditEvent.person_id).where(
            AuditEvent.kind == "app.launch", AuditEvent.person_id.in_(ids), AuditEvent.at >= start
        )
    ):
        launches[app] += 1
        students[app].add(person_id)
    titles = {app: name for app, name in db.execute(select(App.id, App.name).where(App.id.in_(list(launches))))}
    return [AppLaunches(app, titles.get(app, app), count, len(students[app])) for app, count in launches.most_common()]


@dataclass(frozen=True)
class DayLine:
    """One line of an admin's day: a school (district admins) or a class (school admins)."""

    id: str
    name: str
    students: int
    signed_in_today: int
    failures_today: int
    not_this_week: int
    launches_today: int


def _line(key: str, name: str, members: Collection[str], facts: _Facts) -> DayLine:
    return DayLine(
        key,
        name,
        len(members),
        sum(1 for m in members if m in facts.today),
        sum(facts.failures[m] for m in members),
        sum(1 for m in members if m not in facts.week),
        sum(facts.launches[m] for m in members),
    )


@dataclass(frozen=True)
class _Facts:
    today: set[str]
    week: set[str]
    failures: Counter[str]
    launches: Counter[str]


def _facts(db: Session, settings: Settings) -> _Facts:
    now = utcnow()
    start = day_start(settings, now)
    signed = (
        select(StudentSession.person_id)
        .where(StudentSession.handed_off_from.is_(None), StudentSession.client != "staff")
        .distinct()
    )
    counted = select(AuditEvent.person_id, func.count()).where(AuditEvent.at >= start).group_by(AuditEvent.person_id)
    failed = counted.where(AuditEvent.kind.in_(SIGN_IN_KINDS), AuditEvent.outcome.in_(list(FAILURE_WORDS)))
    return _Facts(
        today=set(db.scalars(signed.where(StudentSession.created_at >= start))),
        week=set(db.scalars(signed.where(StudentSession.created_at >= now - WEEK))),
        failures=_per_person(db.execute(failed)),
        launches=_per_person(db.execute(counted.where(AuditEvent.kind == "app.launch"))),
    )


def _per_person(rows: Result[str | None, int]) -> Counter[str]:
    """(person id, count) rows as a counter; rows of no one (a scan of an unknown badge) left out."""
    return Counter({person_id: count for person_id, count in rows if person_id is not None})


@dataclass(frozen=True)
class ScopeDay:
    """An admin's day: a line per school (or per class), and the total of distinct students."""

    day: date
    by: str  # "school" or "class"
    lines: list[DayLine]
    total: DayLine


def scope_day(db: Session, settings: Settings, school_ids: Collection[str] | None) -> ScopeDay:
    """Per school for a district admin (``school_ids`` None), per class for a school admin."""
    students = select(Person.id, Person.school_id).where(Person.role == RosterRole.STUDENT, Person.active.is_(True))
    if school_ids is not None:
        students = students.where(Person.school_id.in_(school_ids))
    school_of = {person_id: school_id for person_id, school_id in db.execute(students)}
    facts = _facts(db, settings)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    if school_ids is None:
        names = {org_id: name for org_id, name in db.execute(select(Org.id, Org.name).where(Org.type == "school"))}
        for person_id, school_id in school_of.items():
            groups[(school_id or "", names.get(school_id or "", "(no school)"))].append(person_id)
        by = "school"
    else:
        for class_id, title, person_id in db.execute(
            select(SchoolClass.id, SchoolClass.title, Enrollment.person_id)
            .join(Enrollment, Enrollment.class_id == SchoolClass.id)
            .where(
                SchoolClass.school_id.in_(school_ids),
                SchoolClass.active.is_(True),
                Enrollment.role == RosterRole.STUDENT,
                Enrollment.active.is_(True),
            )
        ):
            if person_id in school_of:
                groups[(class_id, title)].append(person_id)
        by = "class"
    lines = sorted(
        (_line(key, name, members, facts) for (key, name), members in groups.items()), key=lambda line: line.name
    )
    total = _line("", N_("Total"), list(school_of), facts)
    return ScopeDay(day_start(settings, utcnow()).date(), by, lines, total)


DAY_COLUMNS = (
    "students",
    "signed in today",
    "sign-in failures today",
    "not signed in for 7 days",
    "app launches today",
)


def day_rows(day: ScopeDay) -> list[list[object]]:
    """The admin's day as rows (for a CSV): one per school or class, then the total."""
    return [
        [
            day.day.isoformat(),
            line.name,
            line.students,
            line.signed_in_today,
            line.failures_today,
            line.not_this_week,
            line.launches_today,
        ]
        for line in [*day.lines, day.total]
    ]
