"""Whose staff account a sign-in with the district's own account opens: matched by email.

An account matches when its username is the email (IT often names district admins so), or when
its roster record has that email. With no account yet, a roster teacher or school administrator
with that email gets one there and then, as "Invite the roster's staff" would have made it: the
district's provider has just proved who they are, so no invitation is needed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from badge_server.errors import StaffSsoRefused
from badge_server.staff_invitations import roster_account
from badge_server.store.models import Org, Person, RosterRole, StaffUser


def account_for_email(db: Session, email: str, *, actor: str) -> StaffUser:
    """The one active account of ``email``, made from the roster if need be; else why not."""
    email = email.strip().lower()
    named = db.scalars(select(StaffUser).where(func.lower(StaffUser.username) == email))
    rostered = db.scalars(
        select(StaffUser).join(Person, Person.id == StaffUser.person_id).where(func.lower(Person.email) == email)
    )
    found: dict[str, StaffUser] = {user.id: user for user in [*named, *rostered]}
    if len(found) > 1:
        raise StaffSsoRefused("ambiguous", f"More than one staff account has the address {email}. Ask IT to fix it.")
    if found:
        (user,) = found.values()
        if not user.active:
            raise StaffSsoRefused("disabled", "This staff account has been disabled. Ask your admin.")
        return user
    schools = set(db.scalars(select(Org.id).where(Org.type == "school")))
    people = [
        person
        for person in db.scalars(
            select(Person).where(
                func.lower(Person.email) == email,
                Person.active.is_(True),
                Person.role.in_([RosterRole.TEACHER, RosterRole.ADMINISTRATOR]),
            )
        )
        if person.school_id in schools
    ]
    if len(people) != 1:
        raise StaffSsoRefused(
            "no_account",
            f"There is no staff account for {email}, and the roster has "
            f"{'no teacher or school administrator' if not people else 'more than one person'} with it. "
            "Ask your admin.",
        )
    return roster_account(db, people[0], set(db.scalars(select(StaffUser.username))), actor=actor)
