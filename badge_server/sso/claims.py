"""What an app learns about a student, per scope (DESIGN.md, "Single sign-on")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server.sso.subjects import subject_of
from badge_server.store.models import Enrollment, Org, Person

#: Every scope a client may be registered for; "openid" is what makes a request OpenID Connect.
SUPPORTED_SCOPES = ("openid", "profile", "email", "roster")
DEFAULT_SCOPES = ("openid", "profile", "email")
#: The claims each scope releases (discovery's claims_supported is their union).
SCOPE_CLAIMS = {
    "openid": ("sub",),
    "profile": ("name", "given_name", "family_name", "preferred_username"),
    "email": ("email", "email_verified"),
    "roster": ("school", "grade", "roles"),
}


def claims_for(db: Session, person: Person, scopes: set[str], now: datetime) -> dict[str, Any]:
    """The claims of ``person`` that ``scopes`` release; ``sub`` always, absent values left out."""
    claims: dict[str, Any] = {"sub": subject_of(db, person.id, now)}
    if "profile" in scopes:
        claims.update(
            name=person.display_name,
            given_name=person.preferred_name or person.given_name,
            family_name=person.family_name,
            preferred_username=person.username,
        )
    if "email" in scopes and person.email:
        # The district's own address, from its student information system: the district vouches for it
        # (an app, or this server's staff sign-in, may then match accounts by it).
        claims.update(email=person.email, email_verified=True)
    if "roster" in scopes:
        school = db.get(Org, person.school_id) if person.school_id else None
        enrolled = db.scalars(
            select(Enrollment.role).where(Enrollment.person_id == person.id, Enrollment.active.is_(True))
        )
        claims["roles"] = sorted({person.role, *enrolled})
        if school is not None:
            claims["school"] = school.name
        if person.grade:
            claims["grade"] = person.grade
    return claims
