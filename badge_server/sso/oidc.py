"""The OpenID Connect provider: Authlib's authorization code grant, PKCE and ID tokens, on our tables.

One ``OidcProvider`` is built per request (registering a grant is a few list appends), so every
hook Authlib calls works in that request's transaction. Authlib decides the protocol; this module
only says where things are stored, who the user is, and what is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.errors import LoginRequiredError, RequestNotSupportedError, RequestURINotSupportedError
from joserfc.jwk import RSAKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.errors import SsoRefused
from badge_server.keys import ServerKeys, token_digest
from badge_server.settings import Settings
from badge_server.sso.claims import SCOPE_CLAIMS, SUPPORTED_SCOPES, claims_for
from badge_server.sso.oidc_clients import secret_matches
from badge_server.sso.signing_keys import ActiveKey, active_key, signing_jwk
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import OidcClient, OidcCode, OidcToken, SsoProtocol, SsoSignIn

#: Kept with a request that waits for a scan: a session started after it is a fresh sign-in.
WAITING_SINCE = "_waiting_since"


class ParametersRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request as Authlib reads it, from any framework: method, URL, headers, parameters.

    ``parameters`` holds every value of every name (query and form together), so Authlib can
    refuse a repeated ``redirect_uri`` or ``code_challenge``.
    """

    def __init__(self, method: str, uri: str, headers: Mapping[str, str], parameters: dict[str, list[str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.parameters = parameters
        first = {name: values[0] for name, values in parameters.items() if values}
        self.payload = _Payload(first, parameters)
        self._first = first

    @property
    def args(self) -> dict[str, str]:
        return self._first

    @property
    def form(self) -> dict[str, str]:
        return self._first


class _Payload:
    def __init__(self, data: dict[str, str], datalist: dict[str, list[str]]) -> None:
        self.data = data
        self.datalist = datalist

    client_id = property(lambda self: self.data.get("client_id"))
    response_type = property(lambda self: self.data.get("response_type"))
    grant_type = property(lambda self: self.data.get("grant_type"))
    redirect_uri = property(lambda self: self.data.get("redirect_uri"))
    scope = property(lambda self: self.data.get("scope"))
    state = property(lambda self: self.data.get("state"))


class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """An ``OidcClient`` row as Authlib asks about it."""

    def __init__(self, row: OidcClient, keys: ServerKeys) -> None:
        self.row = row
        self.keys = keys

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> None:
        return None  # OpenID Connect requires redirect_uri in every request; no guessing

    def get_allowed_scope(self, scope: str | None) -> str | None:
        requested = scope_to_list(scope) or []
        if not set(requested) <= set(self.row.scopes):
            return None  # a scope it was not registered for: invalid_scope, sent back to the app
        return " ".join(requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris  # exactly, character for character

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self.keys, self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.secret_digest is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"

    @property
    def is_public(self) -> bool:
        return self.row.secret_digest is None


@dataclass
class IssuedCode:
    """An ``OidcCode`` row as Authlib's grant and extensions read it."""

    row: OidcCode

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only (``plain`` would hand the verifier to whoever saw the request);
    required of public clients, accepted from confidential ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        if not data.get("code_challenge") and grant.request.client.is_public:
            raise InvalidRequestError("a public client must send a PKCE 'code_challenge' (S256)")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: IssuedCode) -> str | None:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: IssuedCode) -> str | None:
        return authorization_code.row.code_challenge_method


class IdTokens(OpenIDCode):  # type: ignore[misc]
    """ID tokens: RS256 with the active signing key (``kid`` in the header), claims per scope."""

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # replay of a nonce is for the relying party to detect; it chose the value

    def resolve_client_private_key(self, client: RegisteredClient) -> RSAKey:
        return signing_jwk(self.provider.signing_key)

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return "RS256"

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.signing_key.kid, "typ": "JWT"}

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        now = int(self.provider.now.timestamp())
        seconds = self.provider.settings.oidc_token_seconds
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()], "iat": now, "exp": now + seconds}

    def get_authorization_code_claims(self, authorization_code: IssuedCode) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = authorization_code.row.session_id  # back-channel logout names the session
        return claims

    def generate_user_info(self, user: StudentSession, scope: str) -> dict[str, Any]:
        return claims_for(self.provider.db, user.person, set(scope_to_list(scope) or []), self.provider.now)


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

    @property
    def provider(self) -> OidcProvider:
        provider: OidcProvider = self.server
        return provider

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        provider, student = self.provider, request.user
        data = request.payload.data
        provider.db.add(
            OidcCode(
                digest=token_digest(code),
                client_id=request.client.get_client_id(),
                session_id=student.id,
                person_id=student.person_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=student.created_at,
                expires_at=provider.now + timedelta(seconds=provider.settings.oidc_code_seconds),
                used_at=None,
            )
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> IssuedCode | None:
        provider = self.provider
        db, now = provider.db, provider.now
        row = db.scalars(select(OidcCode).where(OidcCode.digest == token_digest(code))).first()
        if row is None or row.client_id != client.get_client_id():
            provider.failure_reason = "unknown_code"
            return None
        # Marked used before anything else is checked, atomically: of two redemptions racing,
        # exactly one finds it unused; a wrong PKCE verifier also burns it.
        claimed = db.execute(
            update(OidcCode).where(OidcCode.id == row.id, OidcCode.used_at.is_(None)).values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            # RFC 6749 4.1.2: a code used twice may have been stolen; what it issued is revoked.
            db.execute(
                update(OidcToken)
                .where(OidcToken.code_id == row.id, OidcToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            provider.failure_reason = "code_reused"
            return None
        if row.expires_at <= now:
            provider.failure_reason = "code_expired"
            return None
        return IssuedCode(row)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        pass  # already marked used in query_authorization_code; the row stays for reuse detection

    def authenticate_user(self, authorization_code: IssuedCode) -> StudentSession | None:
        student = self.provider.db.get(StudentSession, authorization_code.row.session_id)
        if student is None or student.ended_at is not None or student.expires_at <= self.provider.now:
            self.provider.failure_reason = "session_ended"  # signed out between the code and the token
            return None
        return student


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

    @property
    def signing_key(self) -> ActiveKey:
        if not hasattr(self, "_signing_key"):
            self._signing_key = active_key(self.db, self.keys, self.settings, self.now)
        return self._signing_key

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
    return max_age.isdigit() and (now - student.created_at).total_seconds() > int(max_age)


def authorize(provider: OidcProvider, request: ParametersRequest, student: StudentSession | None) -> Answer | None:
    """Answer an authorization request: a redirect to the app (a code, or an error it may see),
    ``None`` when the student must scan first, or ``SsoRefused`` where redirecting is unsafe."""
    client_id = request.payload.client_id
    ids = {"person_id": student.person_id, "badge_id": student.badge_id} if student else {}
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
        device_id=student.device_id,
        scope=grant.request.scope,
        **ids,
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
    if client is None or client.disabled_at is not None or student is None or student.ended_at is not None:
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
