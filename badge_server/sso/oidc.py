"""The OpenID Connect provider: authorize, token, userinfo and discovery, on Authlib.

One ``OidcProvider`` is built per request (registering a grant is a few list appends), so every
hook Authlib calls works in that request's transaction. Authlib decides the protocol; this module
and ``sso.oidc_authlib`` only say where things are stored, who the user is, and what is audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Error, OAuth2Request
from authlib.oidc.core.errors import LoginRequiredError, RequestNotSupportedError, RequestURINotSupportedError
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit, sessions
from badge_server.errors import SsoRefused
from badge_server.keys import ServerKeys, token_digest
from badge_server.settings import Settings
from badge_server.sso.claims import SCOPE_CLAIMS, SUPPORTED_SCOPES, claims_for
from badge_server.sso.oidc_authlib import CodeGrant, IdTokens, IssuedCode, ParametersRequest, RegisteredClient, S256Only
from badge_server.sso.signing_keys import ActiveKey, active_key
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import OidcClient, OidcToken, SsoProtocol, SsoSignIn

#: Kept with a request that waits for a scan: a session started after it is a fresh sign-in.
WAITING_SINCE = "_waiting_since"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer Authlib produced: status, body (a dict for JSON, else text), headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return dict(self.headers).get("Location")


class OidcProvider(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, db: Session, keys: ServerKeys, settings: Settings, issuer: str, now: datetime) -> None:
        super().__init__(scopes_supported=list(SUPPORTED_SCOPES))
        self.db, self.keys, self.settings, self.issuer, self.now = db, keys, settings, issuer, now
        self.failure: OAuth2Error | None = None
        self.failure_reason: str | None = None
        self.register_grant(CodeGrant, [S256Only(required=True), IdTokens(self)])
        self.register_token_generator("default", self._bearer_token)

    @cached_property
    def signing_key(self) -> ActiveKey:
        """Decrypted only when this request signs something (the token endpoint)."""
        return active_key(self.db, self.keys, self.settings, self.now)

    def query_client(self, client_id: str) -> RegisteredClient | None:
        row = self.db.get(OidcClient, client_id)
        if row is None or row.disabled_at is not None:
            return None
        return RegisteredClient(row, self.keys)

    def _bearer_token(self, scope: str | None = None, **_: Any) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": self.settings.oidc_token_seconds,
            "scope": scope or "",
        }

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        code: IssuedCode = request.authorization_code
        self.db.add(
            OidcToken(
                digest=token_digest(token["access_token"]),
                code_id=code.row.id,
                client_id=code.row.client_id,
                session_id=code.row.session_id,
                person_id=code.row.person_id,
                scope=code.row.scope,
                issued_at=self.now,
                expires_at=self.now + timedelta(seconds=self.settings.oidc_token_seconds),
                revoked_at=None,
            )
        )

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Answer:
        return Answer(status, body, list(headers))

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Answer:
        self.failure = error
        answer: Answer = super().handle_error_response(request, error)
        return answer

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def reason(self) -> str:
        """Why the request failed, for the audit row and the admin (never shown to the child)."""
        error = self.failure
        described = f"{error.error}: {error.description}" if error and error.description else ""
        return self.failure_reason or described or (error.error if error else "unknown")


def _audit_refusal(provider: OidcProvider, kind: str, client_id: str | None, **ids: Any) -> None:
    outcome = provider.failure.error if provider.failure else "refused"
    audit.record(provider.db, kind, outcome, client_id=client_id, reason=provider.reason()[:200], **ids)


def needs_fresh_scan(request: ParametersRequest, student: StudentSession, now: datetime) -> bool:
    """``prompt=login``, or a ``max_age`` the session's scan is older than; unless the scan came
    after the request started waiting (it is the fresh scan asked for)."""
    waiting_since = request.parameters.get(WAITING_SINCE, [""])[0]
    if waiting_since and student.created_at >= datetime.fromisoformat(waiting_since):
        return False
    data = request.payload.data
    if "login" in (data.get("prompt") or "").split():
        return True
    max_age = data.get("max_age", "")
    # isdigit() alone takes "²" and Arabic-Indic digits, which int() then refuses (a 500).
    return max_age.isascii() and max_age.isdigit() and (now - student.created_at).total_seconds() > int(max_age)


def authorize(provider: OidcProvider, request: ParametersRequest, student: StudentSession | None) -> Answer | None:
    """Answer an authorization request: a redirect to the app (a code, or an error it may see),
    ``None`` when the student must scan first, or ``SsoRefused`` where redirecting is unsafe."""
    client_id = request.payload.client_id
    ids: dict[str, str | None] = {"person_id": student.person_id, "badge_id": student.badge_id} if student else {}
    try:
        grant = provider.get_consent_grant(request, end_user=student)
        data = request.payload.data
        if data.get("request"):
            raise RequestNotSupportedError(redirect_uri=grant.redirect_uri)
        if data.get("request_uri"):
            raise RequestURINotSupportedError(redirect_uri=grant.redirect_uri)
        if student is None or needs_fresh_scan(request, student, provider.now):
            if "none" in (data.get("prompt") or "").split():
                raise LoginRequiredError(redirect_uri=grant.redirect_uri)
            return None
    except OAuth2Error as error:
        error.state = request.payload.state
        if error.redirect_uri is None:  # no client, or a redirect URI it never registered
            provider.failure = error
            raise SsoRefused(provider.reason()[:200]) from error
        answer: Answer = provider.handle_error_response(request, error)
        _audit_refusal(provider, "oidc.authorize", client_id, **ids)
        return answer
    # Validated once above (get_consent_grant); the grant issues the code from that.
    answer = provider.handle_response(*grant.create_authorization_response(grant.redirect_uri, student))
    _remember_sign_in(provider.db, student, grant.request.client.get_client_id(), provider.now)
    audit.record(
        provider.db,
        "oidc.authorize",
        client_id=client_id,
        person_id=student.person_id,
        badge_id=student.badge_id,
        device_id=student.device_id,
        scope=grant.request.scope,
    )
    return answer


def _remember_sign_in(db: Session, student: StudentSession, client_id: str, now: datetime) -> None:
    """So that signing out can tell the app (back-channel logout); one row per session and app."""
    known = db.scalars(
        select(SsoSignIn.id).where(
            SsoSignIn.session_id == student.id,
            SsoSignIn.protocol == SsoProtocol.OIDC.value,
            SsoSignIn.client_ref == client_id,
        )
    ).first()
    if known is None:
        db.add(
            SsoSignIn(
                session_id=student.id,
                protocol=SsoProtocol.OIDC.value,
                client_ref=client_id,
                signed_in_at=now,
                logged_out_at=None,
                saml_session_index=None,
            )
        )


def issue_tokens(provider: OidcProvider, request: ParametersRequest) -> Answer:
    """The token endpoint: a code (and PKCE verifier, client credentials) for an ID and access token."""
    answer: Answer = provider.create_token_response(request)
    if provider.failure is not None:
        _audit_refusal(provider, "oidc.token", request.payload.client_id)
    else:
        issued: IssuedCode | None = getattr(request, "authorization_code", None)
        person = issued.row.person_id if issued else None
        audit.record(provider.db, "oidc.token", client_id=request.client.get_client_id(), person_id=person)
    return answer


def userinfo(db: Session, access_token: str | None, now: datetime) -> dict[str, Any] | None:
    """The claims an access token's scope releases, or ``None`` for a token that is not valid
    (unknown, expired, revoked, its client disabled, or the student signed out)."""
    if not access_token:
        return None
    token = db.scalars(select(OidcToken).where(OidcToken.digest == token_digest(access_token))).first()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    client = db.get(OidcClient, token.client_id)
    student = db.get(StudentSession, token.session_id)
    if client is None or client.disabled_at is not None or student is None:
        return None
    if not sessions.identity_live(db, student, now):  # signed out, idle too long, or ran out
        return None
    return claims_for(db, student.person, set(token.scope.split()), now)


def discovery(issuer: str) -> dict[str, Any]:
    """``/.well-known/openid-configuration``: what a relying party library configures itself from."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/oidc/jwks",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "claims_supported": sorted(
            {"iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash"}
            | {c for claims in SCOPE_CLAIMS.values() for c in claims}
        ),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
