"""Staff accounts for a whole district at once, and invitations: a single-use link, expiring,
where each person sets their own password (admins then set up their second factor at the first
sign-in, as every admin does). Nobody types or hands over a first password.

Accounts come from the roster: every active teacher gets a teacher account, every active
administrator of a school a school admin account for that school. District admins are never made
this way: IT creates them on purpose (``create-admin``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import InvitationNotAccepted, PolicyError
from badge_server.keys import token_digest
from badge_server.staff import create_invited, set_password
from badge_server.store.account_models import StaffInvitation
from badge_server.store.models import Org, Person, RosterRole, StaffRole, StaffUser

INVITATION_DAYS = 7


@dataclass(frozen=True)
class Invitation:
    """An invitation to hand over: whose, and the secret of its link (shown once, never stored)."""

    username: str
    name: str
    role: str
    school: str
    token: str
    expires_at: datetime


def invite(db: Session, user: StaffUser, *, actor: str, name: str = "", school: str = "") -> Invitation:
    """A new link for ``user``; any earlier link of theirs stops working."""
    now = utcnow()
    db.execute(
        update(StaffInvitation)
        .where(StaffInvitation.staff_id == user.id, StaffInvitation.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(24)
    expires_at = now + timedelta(days=INVITATION_DAYS)
    db.add(
        StaffInvitation(
            id=uuid.uuid4().hex,
            digest=token_digest(token),
            staff_id=user.id,
            created_at=now,
            created_by=actor,
            expires_at=expires_at,
        )
    )
    audit.record(db, "staff.invite", actor=actor, username=user.username, expires_at=expires_at.isoformat())
    return Invitation(user.username, name or user.username, user.role, school, token, expires_at)


def invite_from_roster(db: Session, school_ids: Collection[str] | None, *, actor: str) -> list[Invitation]:
    """Accounts and invitations for the roster's teachers and school administrators who have no
    account yet (in ``school_ids``, or the whole district); by school, then name."""
    have = set(db.scalars(select(StaffUser.person_id).where(StaffUser.person_id.is_not(None))))
    taken = set(db.scalars(select(StaffUser.username)))
    schools = {org.id: org.name for org in db.scalars(select(Org).where(Org.type == "school"))}
    query = select(Person).where(
        Person.active.is_(True), Person.role.in_([RosterRole.TEACHER, RosterRole.ADMINISTRATOR])
    )
    if school_ids is not None:
        query = query.where(Person.school_id.in_(school_ids))
    invited = []
    for person in sorted(db.scalars(query), key=lambda p: (schools.get(p.school_id or "", ""), p.family_name)):
        if person.id in have or person.school_id not in schools:
            continue  # has an account; or an administrator of the district, not of a school
        user = roster_account(db, person, taken, actor=actor)
        school = schools[person.school_id or ""]
        invited.append(invite(db, user, actor=actor, name=person.display_name, school=school))
    return invited


def roster_account(db: Session, person: Person, taken: set[str], *, actor: str) -> StaffUser:
    """A new account, with no password yet, for a roster teacher or a school's administrator."""
    username = _free_username(person, taken)
    taken.add(username)
    role = StaffRole.TEACHER if person.role == RosterRole.TEACHER else StaffRole.SCHOOL_ADMIN
    return create_invited(db, username, role, actor=actor, person_id=person.id, school_id=person.school_id)


def _free_username(person: Person, taken: set[str]) -> str:
    """The roster's username (or the email's name), made unique with a number if it is taken."""
    base = (person.username or (person.email or "").split("@")[0] or person.id).strip().lower()
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate


def open_invitation(db: Session, token: str) -> StaffInvitation:
    """The invitation a link names, if it can still be used; else why not, in words for the person."""
    found = db.scalars(select(StaffInvitation).where(StaffInvitation.digest == token_digest(token))).first()
    if found is None:
        raise InvitationNotAccepted("unknown", "This link is not an invitation. Check you copied all of it.")
    if found.used_at is not None:
        raise InvitationNotAccepted(
            "used",
            "This invitation was already used. Sign in with the password you chose, or ask an admin for a new link.",
        )
    if found.expires_at <= utcnow():
        raise InvitationNotAccepted("expired", "This invitation has expired. Ask your admin for a new link.")
    return found


def accept(db: Session, token: str, password: str, confirm: str) -> StaffUser:
    """Set the invited person's own password; the link is spent."""
    found = open_invitation(db, token)
    if password != confirm:
        raise PolicyError("the two passwords are not the same")
    user = db.get(StaffUser, found.staff_id)
    if user is None or not user.active:
        raise InvitationNotAccepted("disabled", "This account has been disabled. Ask your admin.")
    set_password(db, user, password, actor=user.username)
    found.used_at = utcnow()
    audit.record(db, "staff.invite_accepted", actor=user.username, username=user.username)
    return user
