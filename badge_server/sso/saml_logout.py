"""SAML single logout: when a student signs out, each SP of that session that registered an SLO
URL gets a signed LogoutRequest (SOAP binding, server to server), naming the NameID and the
SessionIndex it was given.

It runs after the response (a FastAPI background task, so after the sign-out committed): a slow
or dead SP never holds up a child's sign-out, and a notice that fails is audited, not retried.
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from saml2.pack import make_soap_enveloped_saml_thingy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.sso.saml_config import identity_provider
from badge_server.sso.saml_idp import name_id_of
from badge_server.sso.saml_signing import signed_message
from badge_server.sso.signing_keys import active_key
from badge_server.store.db import transaction
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import SamlServiceProvider, SsoProtocol, SsoSignIn

SLO_TIMEOUT_SECONDS = 3.0
log = logging.getLogger("badge_server")


def _notices(
    db: Session, keys: ServerKeys, settings: Settings, issuer: str, session_id: str, now: datetime
) -> list[tuple[SsoSignIn, str, str]]:
    """(sign-in, SLO URL, SOAP body) for each SP of the session that wants to be told."""
    student = db.get(StudentSession, session_id)
    rows = db.scalars(
        select(SsoSignIn).where(
            SsoSignIn.session_id == session_id,
            SsoSignIn.protocol == SsoProtocol.SAML.value,
            SsoSignIn.logged_out_at.is_(None),
        )
    ).all()
    notices = []
    for sign_in in rows:
        provider = db.get(SamlServiceProvider, sign_in.client_ref)
        sign_in.logged_out_at = now
        if student is None or provider is None or not provider.slo_url:
            continue
        name_id = name_id_of(db, provider, student.person, now)
        if name_id is None:
            continue
        with identity_provider(db, keys, settings, issuer, now, provider) as server:
            _request_id, request = server.create_logout_request(
                provider.slo_url,
                provider.entity_id,
                name_id=name_id,
                reason="urn:oasis:names:tc:SAML:2.0:logout:user",
                sign=False,
                session_indexes=[sign_in.saml_session_index] if sign_in.saml_session_index else None,
            )
        signing = active_key(db, keys, settings, now)
        signed = signed_message(str(request), signing.private_key_pem, signing.certificate_pem)
        notices.append((sign_in, provider.slo_url, make_soap_enveloped_saml_thingy(signed)))
    return notices


def send_single_logout(
    factory: sessionmaker[Session], keys: ServerKeys, settings: Settings, issuer: str, session_id: str
) -> None:
    """Tell every SP of the ended session; each outcome on the audit trail."""
    now = utcnow()
    with transaction(factory) as db:
        notices = _notices(db, keys, settings, issuer, session_id, now)
        for sign_in, url, body in notices:
            outcome = "ok"
            try:
                answer = httpx.post(
                    url, content=body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=SLO_TIMEOUT_SECONDS
                )
                if answer.status_code >= 400:
                    outcome = f"http_{answer.status_code}"
            except httpx.HTTPError as exc:
                outcome = "unreachable"
                log.warning("SAML single logout to %s failed: %s", url, exc)
            audit.record(db, "saml.logout", outcome, sp_id=sign_in.client_ref, session_id=session_id)
