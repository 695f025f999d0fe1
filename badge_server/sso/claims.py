"""What an app is told about a student (ID token and userinfo), by scope, as DESIGN.md lists it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from badge_server.store.models import Org, Person

#: The claims each scope releases; ``sub`` always.
SCOPE_CLAIMS = {
    "profile": ("name", "given_name", "family_name", "preferred_username"),
    "email": ("email", "email_verified"),
    "roster": ("school", "school_name", "grade", "roles"),
}


def claims_for(db: Session, person: Person, subject: str, scope: str) -> dict[str, Any]:
    """The claims of ``person`` that ``scope`` releases (nothing the roster lacks is invented)."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": subject}
    if "profile" in scopes:
        claims.update(
            name=person.display_name,
            given_name=person.first_name,
            family_name=person.family_name,
            preferred_username=person.username,
        )
    if "email" in scopes and person.email:
        # The district's roster is the authority on its own addresses.
        claims.update(email=person.email, email_verified=True)
    if "roster" in scopes:
        school = db.get(Org, person.school_id) if person.school_id else None
        claims.update(
            school=person.school_id,
            school_name=school.name if school else None,
            grade=person.grade,
            roles=[person.role],
        )
    return {key: value for key, value in claims.items() if value is not None}
