"""A badge at home: who may use it there, with or without a PIN, and the exchange that does it.

At home a badge is a password held without the device factor (no enrolled scanner vouches for
the place), so it is protected differently (SECURITY.md, "A badge at home"): the district decides
whether badges work at home at all and for which grades, a school may override its district, some
grades must also type their PIN there, limits per badge and per address are tighter, the session
is shorter, only the apps allowed at home show, and every home sign-in is audited (the teacher
sees them on the class page).

Policy: each field is the school's :class:`SignInPolicy` row's where set, else its district's
(the school org's parent), else the server's settings (``BADGE_HOME_SIGN_IN``, on for PreK-5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.badge_policy import inherited, policy_row, policy_rows
from badge_server.badges import pin_required
from badge_server.clock import utcnow
from badge_server.contract.payload import BadgePayload
from badge_server.errors import HomeSignInOff, PinIncorrect, PinNotSet, PinRequired
from badge_server.exchange import CheckedPin, check_badge
from badge_server.keys import ServerKeys
from badge_server.ratelimit import Limit
from badge_server.sessions import NewSession, start_session
from badge_server.settings import Settings
from badge_server.store.account_models import SignInPolicy
from badge_server.store.models import Org, Person, StudentSession

HOME_AUDIT_KIND = "badge.home"  # every home scan, accepted or not: its own kind in the audit log


@dataclass(frozen=True)
class HomePolicy:
    """Home sign-in with a badge as it applies to one school."""

    allowed: bool
    grades: tuple[str, ...]
    pin_grades: tuple[str, ...]

    def admits(self, person: Person) -> bool:
        return self.allowed and (person.grade or "") in self.grades

    def needs_pin(self, person: Person) -> bool:
        return (person.grade or "") in self.pin_grades


def policy_for(db: Session, settings: Settings, school_id: str | None) -> HomePolicy:
    """The school's policy: its own row's fields, else its district's, else the settings."""
    rows = policy_rows(db, school_id)
    return HomePolicy(
        bool(inherited(rows, "home_sign_in", settings.home_sign_in)),
        tuple(inherited(rows, "home_grades", settings.home_grades)),
        tuple(inherited(rows, "home_pin_grades", settings.home_pin_grades)),
    )


def available_anywhere(db: Session, settings: Settings) -> bool:
    """Whether any school may use badges at home (the page says so up front when none may)."""
    if settings.home_sign_in:
        # On by default: off only where every school's policy (or its district's) turned it off.
        schools = db.scalars(select(Org.id).where(Org.type == "school", Org.active.is_(True))).all()
        return not schools or any(policy_for(db, settings, school).allowed for school in schools)
    return db.scalars(select(SignInPolicy.org_id).where(SignInPolicy.home_sign_in.is_(True))).first() is not None


def home_limits(settings: Settings, keys: ServerKeys, source_ip: str, payload: BadgePayload | None) -> list[Limit]:
    """Tighter than a school scanner's: a household is one address, and a badge scanned at home
    more than a few times a minute is being guessed at or shared."""
    limits = [Limit(f"home-ip:{source_ip}", settings.rate_home_per_address_per_minute)]
    if payload is not None:
        digest = keys.secret_digest(payload.secret)[:32]
        limits.append(Limit(f"home-badge:{digest}", settings.rate_home_per_badge_per_minute))
    return limits


def sign_in_at_home(
    db: Session,
    keys: ServerKeys,
    settings: Settings,
    payload: BadgePayload,
    pin: CheckedPin | None,
    *,
    source_ip: str,
) -> NewSession:
    """Check the badge as a scanner's exchange does, then the home policy, then start a home
    session (no launch code: the browser that scanned is the one that signs in)."""
    badge = check_badge(db, keys, settings, payload, pin)  # the school's own PIN policy included
    person = badge.person
    policy = policy_for(db, settings, person.school_id)
    try:
        if not policy.admits(person):
            raise HomeSignInOff()
        if policy.needs_pin(person) and not pin_required(person, badge.pin_grades(settings)):
            if person.pin_hash is None:
                raise PinNotSet()
            if pin is None:
                raise PinRequired()
            if not pin.proves(person):
                raise PinIncorrect()
    except (HomeSignInOff, PinNotSet, PinRequired, PinIncorrect) as exc:
        exc.audit_ids = {"badge_id": badge.id, "person_id": person.id}
        raise
    audit.record(db, HOME_AUDIT_KIND, person_id=person.id, badge_id=badge.id, source_ip=source_ip)
    return start_session(db, settings, person, client="home", badge=badge, source_ip=source_ip)


@dataclass(frozen=True)
class HomeSignIn:
    """One home sign-in, as the teacher's class page lists it."""

    person_id: str
    name: str
    at: datetime
    method: str


def recent_home_sign_ins(db: Session, student_ids: list[str], *, days: int = 7) -> list[HomeSignIn]:
    """The class's sign-ins from home (badge or password) in the last ``days``, newest first."""
    since = utcnow() - timedelta(days=days)
    rows = db.execute(
        select(StudentSession, Person)
        .join(Person, Person.id == StudentSession.person_id)
        .where(
            StudentSession.client == "home",
            StudentSession.person_id.in_(student_ids),
            StudentSession.created_at >= since,
        )
        .order_by(StudentSession.created_at.desc())
        .limit(200)
    ).all()
    return [HomeSignIn(s.person_id, p.display_name, s.created_at, s.method) for s, p in rows]


def set_policy(
    db: Session,
    org_id: str,
    *,
    home_sign_in: bool | None,
    home_grades: list[str] | None,
    home_pin_grades: list[str] | None,
    actor: str,
) -> SignInPolicy:
    """Set (or, with all None, clear) a district's or school's home sign-in policy; audited."""
    row = policy_row(db, org_id, actor=actor)
    row.home_sign_in, row.home_grades, row.home_pin_grades = home_sign_in, home_grades, home_pin_grades
    audit.record(
        db,
        "policy.home_sign_in",
        actor=actor,
        org_id=org_id,
        home_sign_in=home_sign_in,
        home_grades=home_grades,
        home_pin_grades=home_pin_grades,
    )
    return row
