"""Authlib's authorization code grant, PKCE and ID tokens, plugged into our tables.

``ParametersRequest`` is the one adapter from any framework to Authlib's ``OAuth2Request``; the
classes below say where codes live, which client is which, and how ID tokens are signed. The
provider that runs them (``sso.oidc.OidcProvider``) is a ``GrantContext``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import RSAKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from badge_server import sessions
from badge_server.errors import SsoRefused
from badge_server.keys import ServerKeys, token_digest
from badge_server.settings import Settings
from badge_server.sso.claims import claims_for
from badge_server.sso.oidc_clients import secret_matches
from badge_server.sso.signing_keys import ActiveKey, signing_jwk
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import OidcClient, OidcCode, OidcToken


class GrantContext(Protocol):
    """What the grant and its extensions need of the provider serving this request."""

    db: Session
    settings: Settings
    issuer: str
    now: datetime
    failure_reason: str | None

    @property
    def signing_key(self) -> ActiveKey: ...


class ParametersRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request as Authlib reads it, from any framework: method, URL, headers, parameters.

    ``parameters`` holds every value of every name (query and form together), so Authlib can
    refuse a repeated ``redirect_uri`` or ``code_challenge``.
    """

    def __init__(self, method: str, uri: str, headers: Mapping[str, str], parameters: dict[str, list[str]]) -> None:
        try:
            super().__init__(method, uri, headers=headers)
        except InsecureTransportError as error:
            # Behind a TLS proxy without BADGE_PUBLIC_URL the server sees plain http: say so.
            raise SsoRefused(f"insecure_transport: {uri} is not https; set BADGE_PUBLIC_URL") from error
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


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """The parameters as Authlib reads them: the first value of each, and every value."""

    def __init__(self, data: dict[str, str], datalist: dict[str, list[str]]) -> None:
        self._data, self._datalist = data, datalist

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


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

    def __init__(self, provider: GrantContext) -> None:
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
    def provider(self) -> GrantContext:
        provider: GrantContext = self.server
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
        if not sessions.identity_live(self.provider.db, student, self.provider.now):
            self.provider.failure_reason = "session_ended"  # signed out between the code and the token
            return None
        return student
