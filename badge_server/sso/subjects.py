"""The stable identifier apps know a student by (OIDC ``sub``, SAML persistent NameID)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from badge_server.store.sso_models import Subject


def subject_of(db: Session, person_id: str, now: datetime) -> str:
    """The person's subject, made on first use.

    Random rather than derived from anything (a badge, a roster id an SIS may reuse), so it
    tells an app nothing, survives badge replacements, and is never given to anyone else.
    """
    row = db.get(Subject, person_id)
    if row is None:
        row = Subject(person_id=person_id, subject=secrets.token_urlsafe(24), created_at=now)
        db.add(row)
        db.flush()
    return row.subject
