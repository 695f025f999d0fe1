"""SAML single logout: when a student signs out, each SP of that session that registered an SLO
URL gets a signed LogoutRequest (SOAP binding, server to server), naming the NameID and the
SessionIndex it was given.

The requests are made and the sign-ins marked told in the sign-out's own transaction; they are
sent after the response (a FastAPI background task, so after the sign-out committed): a slow or
dead SP never holds up a child's sign-out, and a notice that fails is audited, not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import httpx
from saml2.pack import make_soap_enveloped_saml_thingy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from badge_server import audit
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


@dataclass(frozen=True)
class SloNotice:
    """One signed LogoutRequest (SOAP body) for one SP's SLO URL."""

    sp_id: str
    session_id: str
    url: str
    body: str


def end_saml_sign_ins(
    db: Session, keys: ServerKeys, settings: Settings, issuer: str, student: StudentSession, now: datetime
) -> list[SloNotice]:
    """In the sign-out's transaction: mark the session's SAML sign-ins told, and sign a
    LogoutRequest for each SP that registered an SLO URL (sent later by :func:`deliver`)."""
    rows = db.scalars(
        select(SsoSignIn).where(
            SsoSignIn.session_id == student.id,
            SsoSignIn.protocol == SsoProtocol.SAML.value,
            SsoSignIn.logged_out_at.is_(None),
        )
    ).all()
    notices = []
    for sign_in in rows:
        provider = db.get(SamlServiceProvider, sign_in.client_ref)
        sign_in.logged_out_at = now
        if provider is None or not provider.slo_url:
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
        notices.append(SloNotice(provider.id, student.id, provider.slo_url, make_soap_enveloped_saml_thingy(signed)))
    return notices


def deliver(factory: sessionmaker[Session], notices: list[SloNotice]) -> None:
    """POST each LogoutRequest, then audit every outcome in one short transaction: the database
    is never held while an SP takes its time to answer (SQLite's write lock would stall sign-ins)."""
    if not notices:
        return
    outcomes: list[tuple[SloNotice, str]] = []
    with httpx.Client(timeout=SLO_TIMEOUT_SECONDS) as http:
        for notice in notices:
            outcome = "ok"
            try:
                answer = http.post(notice.url, content=notice.body, headers={"Content-Type": "text/xml; charset=utf-8"})
                if answer.status_code >= 400:
                    outcome = f"http_{answer.status_code}"
            except httpx.HTTPError as exc:
                outcome = "unreachable"
                log.warning("SAML single logout to %s failed: %s", notice.url, exc)
            outcomes.append((notice, outcome))
    with transaction(factory) as db:
        for notice, outcome in outcomes:
            audit.record(db, "saml.logout", outcome, sp_id=notice.sp_id, session_id=notice.session_id)
