"""An app's sign-in request waiting for a badge scan, kept server-side.

When an OIDC authorize or SAML SSO request arrives without a student session, the request is
stored here and the browser gets only a random reference in an HttpOnly cookie; it then shows
the badge scanner. Right after the scan (the launch code's redirect) the flow goes on from
the stored request, so nothing of it travels through the scanner page or its URL.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server.keys import token_digest
from badge_server.store.sso_models import PendingSignIn, SsoProtocol

PENDING_COOKIE = "badge_sso_pending"


def start_pending(
    db: Session, protocol: SsoProtocol, parameters: dict[str, Any], now: datetime, seconds: int
) -> tuple[PendingSignIn, str]:
    """Store the request; return it and the reference the browser keeps (the cookie value)."""
    reference = secrets.token_urlsafe(32)
    pending = PendingSignIn(
        digest=token_digest(reference),
        protocol=protocol.value,
        parameters=parameters,
        created_at=now,
        expires_at=now + timedelta(seconds=seconds),
        used_at=None,
    )
    db.add(pending)
    db.flush()
    return pending, reference


def find_pending(db: Session, reference: str | None, now: datetime) -> PendingSignIn | None:
    """The waiting request a browser's reference names, if it is still waiting."""
    if not reference:
        return None
    pending = db.scalars(select(PendingSignIn).where(PendingSignIn.digest == token_digest(reference))).first()
    if pending is None or pending.used_at is not None or pending.expires_at <= now:
        return None
    return pending


def finish_pending(pending: PendingSignIn, now: datetime) -> None:
    """The request goes on now; it cannot be resumed a second time."""
    pending.used_at = now
