"""OpenID Connect back-channel logout: when a student signs out, the apps they signed in to hear it.

The logout tokens are made in the sign-out's transaction (the session's apps are marked told,
its access tokens revoked) and POSTed after the commit, in the background: a slow or dead app
never holds up a child's sign-out on a shared device.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx
from joserfc import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.sso.signing_keys import active_key, signing_jwk
from badge_server.sso.subjects import subject_of
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import OidcClient, OidcToken, SsoProtocol, SsoSignIn

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
DELIVERY_SECONDS = 5.0
log = logging.getLogger("badge_server.sso")


@dataclass(frozen=True)
class LogoutNotice:
    """One logout token for one app's back-channel endpoint."""

    client_id: str
    uri: str
    logout_token: str


def end_oidc_sign_ins(
    db: Session, keys: ServerKeys, settings: Settings, issuer: str, student: StudentSession, now: datetime
) -> list[LogoutNotice]:
    """Revoke the session's access tokens and make a logout token for each app that asked for one."""
    db.execute(
        update(OidcToken)
        .where(OidcToken.session_id == student.id, OidcToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    sign_ins = db.scalars(
        select(SsoSignIn).where(
            SsoSignIn.session_id == student.id,
            SsoSignIn.protocol == SsoProtocol.OIDC.value,
            SsoSignIn.logged_out_at.is_(None),
        )
    ).all()
    notices: list[LogoutNotice] = []
    for sign_in in sign_ins:
        sign_in.logged_out_at = now
        client = db.get(OidcClient, sign_in.client_ref)
        if client is None or client.disabled_at is not None or not client.backchannel_logout_uri:
            continue
        claims = {
            "iss": issuer,
            "aud": client.id,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + 120,
            "jti": secrets.token_urlsafe(16),
            "sub": subject_of(db, student.person_id, now),
            "sid": student.id,
            "events": {BACKCHANNEL_EVENT: {}},
        }
        key = active_key(db, keys, settings, now)
        token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}, claims, signing_jwk(key))
        notices.append(LogoutNotice(client.id, client.backchannel_logout_uri, token))
        audit.record(db, "oidc.logout", person_id=student.person_id, client_id=client.id)
    return notices


def deliver(notices: list[LogoutNotice]) -> None:
    """POST each logout token (OpenID Connect Back-Channel Logout 1.0, section 2.5); a failure is
    logged, not retried: the app's own session expires with the ID token anyway."""
    if not notices:
        return
    with httpx.Client(timeout=DELIVERY_SECONDS) as http:
        for notice in notices:
            try:
                answer = http.post(notice.uri, data={"logout_token": notice.logout_token})
                if answer.status_code >= 400:
                    log.warning("back-channel logout to %s answered %s", notice.client_id, answer.status_code)
            except httpx.HTTPError as exc:
                log.warning("back-channel logout to %s failed: %s", notice.client_id, exc)
