"""The OpenID Connect provider, on Authlib: authorization code flow, PKCE S256, RS256 ID tokens.

Authlib does the protocol (parameter checks, redirect rules, error responses, PKCE, ID token
claims); this module answers what Authlib asks of storage — clients, codes, tokens, users —
from the database, inside the request's one transaction. ``web/oidc.py`` adapts HTTP to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import grants as oidc_grants
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.keys import ServerKeys, token_digest
from badge_server.settings import Settings
from badge_server.sso.claims import SCOPE_CLAIMS, claims_for
from badge_server.sso.oidc_clients import KNOWN_SCOPES, RegisteredClient
from badge_server.sso.signing_keys import active_key
from badge_server.sso.subjects import subject_of
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import OidcClient, OidcCode, OidcToken, SsoProtocol, SsoSignIn

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"  # noqa: S105 - a path, not a password
USERINFO_PATH = "/userinfo"
JWKS_PATH = "/oidc/jwks"


class FormPayload(BasicOAuth2Payload):  # type: ignore[misc]
    """Request parameters (query or form), keeping repeated ones so Authlib can refuse them."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(dict(pairs))
        grouped: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            grouped[key].append(value)
        self._datalist = grouped


class ParsedRequest(OAuth2Request):  # type: ignore[misc]
    """An HTTP request as Authlib sees it: method, public URL, headers and parameters."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str], pairs: list[tuple[str, str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = FormPayload(pairs)
        self._pairs = pairs

    @property
    def args(self) -> dict[str, str]:
        return dict(self._pairs) if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return dict(self._pairs) if self.method == "POST" else {}


@dataclass(frozen=True)
class Student:
    """The resource owner Authlib hands around: a student's session (the identity session)."""

    session: StudentSession

    def get_user_id(self) -> str:
        return self.session.person_id


class StoredCode:
    """An authorization code row, with the methods Authlib's grants call."""

    def __init__(self, row: OidcCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

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

    def get_amr(self) -> list[str]:
        # RFC 8176: a badge is something the child has ("hwk": a hardware-held key, the closest).
        return ["hwk"]


class ProviderServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server over this request's database session."""

    def __init__(self, db: Session, keys: ServerKeys, settings: Settings, issuer: str) -> None:
        super().__init__(scopes_supported=list(KNOWN_SCOPES))
        self.db, self.keys, self.settings, self.issuer = db, keys, settings, issuer
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda *_args, **_kw: generate_token(48),
                expires_generator=lambda *_args, **_kw: settings.oidc_token_seconds,
            ),
        )
        self.register_grant(CodeGrant, [PkceS256(), BadgeOpenIDCode(self)])

    def query_client(self, client_id: str | None) -> RegisteredClient | None:
        row = self.db.get(OidcClient, client_id) if client_id else None
        return None if row is None or row.disabled_at is not None else RegisteredClient(row)

    def save_token(self, token: dict[str, Any], request: ParsedRequest) -> None:
        code: StoredCode = request.authorization_code
        now = utcnow()
        self.db.add(
            OidcToken(
                digest=token_digest(token["access_token"]),
                code_id=code.row.id,
                client_id=code.row.client_id,
                session_id=code.row.session_id,
                person_id=code.row.person_id,
                scope=token["scope"],
                issued_at=now,
                expires_at=now + timedelta(seconds=int(token["expires_in"])),
                revoked_at=None,
            )
        )

    def create_oauth2_request(self, request: ParsedRequest) -> ParsedRequest:
        return request  # the routes build it (web/oidc.py): the form must be read asynchronously first

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass  # no framework signals here: audit rows are written by the routes

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, dict[str, str]]:
        return status, body, dict(headers)


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only: required for public clients, accepted (and then checked) for all."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        request = grant.request
        data = request.payload.data
        client: RegisteredClient = request.client
        if client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("a public client must use PKCE: 'code_challenge' with method S256")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            # A missing method means "plain" (RFC 7636), which protects nothing against a stolen code.
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Codes stored as digests; single use; a second use revokes what the first one issued."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]
    AUTHORIZATION_CODE_LENGTH = 48

    @property
    def db(self) -> Session:
        db: Session = self.server.db
        return db

    def save_authorization_code(self, code: str, request: ParsedRequest) -> None:
        student: Student = request.user
        data = request.payload.data
        now = utcnow()
        self.db.add(
            OidcCode(
                digest=token_digest(code),
                client_id=request.client.get_client_id(),
                session_id=student.session.id,
                person_id=student.session.person_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=student.session.created_at,
                expires_at=now + timedelta(seconds=self.server.settings.oidc_code_seconds),
                used_at=None,
            )
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> StoredCode | None:
        row = self.db.scalars(select(OidcCode).where(OidcCode.digest == token_digest(code))).first()
        if row is None or row.client_id != client.get_client_id():
            return None
        now = utcnow()
        if row.used_at is not None:
            revoke_tokens_of_code(self.db, row, now)
            return None
        if row.expires_at <= now:
            return None
        return StoredCode(row)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        # Kept, marked used, so that a second use can be recognised and punished.
        authorization_code.row.used_at = utcnow()

    def authenticate_user(self, authorization_code: StoredCode) -> Student | None:
        session = self.db.get(StudentSession, authorization_code.row.session_id)
        return None if session is None or session.ended_at is not None else Student(session)


def revoke_tokens_of_code(db: Session, code: OidcCode, now: datetime) -> None:
    """RFC 6749 §4.1.2: a code used twice was probably stolen; what it issued stops working."""
    tokens = db.scalars(select(OidcToken).where(OidcToken.code_id == code.id, OidcToken.revoked_at.is_(None)))
    revoked = 0
    for token in tokens:
        token.revoked_at = now
        revoked += 1
    audit.record(
        db, "oidc.code_reused", "refused", person_id=code.person_id, client_id=code.client_id, tokens_revoked=revoked
    )


class BadgeOpenIDCode(oidc_grants.OpenIDCode):  # type: ignore[misc]
    """ID tokens: RS256 with the signing key of the moment, claims by scope, random ``sub``."""

    def __init__(self, server: ProviderServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: ParsedRequest) -> bool:
        # Replay of an ID token is stopped by the single-use code; the RP checks its own nonce.
        return False

    def resolve_client_private_key(self, client: RegisteredClient) -> RSAKey:
        key = active_key(self.server.db, self.server.keys, self.server.settings, utcnow())
        return RSAKey.import_key(key.private_key_pem, {"kid": key.kid})

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        key = active_key(self.server.db, self.server.keys, self.server.settings, utcnow())
        return {"alg": "RS256", "kid": key.kid, "typ": "JWT"}

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return "RS256"

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        now = int(utcnow().timestamp())
        return {
            "iss": self.server.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + self.server.settings.oidc_token_seconds,
        }

    def generate_user_info(self, user: Student, scope: str) -> dict[str, Any]:
        db = self.server.db
        subject = subject_of(db, user.session.person_id, utcnow())
        claims = claims_for(db, user.session.person, subject, scope)
        # The session id lets back-channel logout name this session (OIDC Back-Channel Logout §2.1).
        claims["sid"] = user.session.id
        return claims


def record_sign_in(db: Session, session: StudentSession, client_id: str, now: datetime) -> None:
    """Remember that this session signed in to the client, for back-channel logout."""
    known = db.scalars(
        select(SsoSignIn).where(
            SsoSignIn.session_id == session.id,
            SsoSignIn.protocol == SsoProtocol.OIDC,
            SsoSignIn.client_ref == client_id,
        )
    ).first()
    if known is None:
        db.add(
            SsoSignIn(
                session_id=session.id,
                protocol=SsoProtocol.OIDC,
                client_ref=client_id,
                saml_session_index=None,
                signed_in_at=now,
                logged_out_at=None,
            )
        )


def find_access_token(db: Session, token: str, now: datetime) -> OidcToken | None:
    """A live access token: not expired, not revoked, its client enabled, its session not ended."""
    row = db.scalars(select(OidcToken).where(OidcToken.digest == token_digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    client = db.get(OidcClient, row.client_id)
    session = db.get(StudentSession, row.session_id)
    if client is None or client.disabled_at is not None or session is None or session.ended_at is not None:
        return None
    return row


def userinfo(db: Session, token: OidcToken, now: datetime) -> dict[str, Any]:
    session = db.get(StudentSession, token.session_id)
    assert session is not None  # find_access_token checked it
    return claims_for(db, session.person, subject_of(db, token.person_id, now), token.scope)


def needs_fresh_scan(data: dict[str, str], session: StudentSession, now: datetime) -> bool:
    """``prompt=login``, or a ``max_age`` the session is older than: the child must scan again."""
    if "login" in data.get("prompt", "").split():
        return True
    max_age = data.get("max_age", "")
    if max_age.isdigit():
        return (now - session.created_at).total_seconds() > int(max_age)
    return False


def discovery_document(issuer: str) -> dict[str, Any]:
    """``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §3)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}{AUTHORIZE_PATH}",
        "token_endpoint": f"{issuer}{TOKEN_PATH}",
        "userinfo_endpoint": f"{issuer}{USERINFO_PATH}",
        "jwks_uri": f"{issuer}{JWKS_PATH}",
        "scopes_supported": list(KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": sorted({"sub", "sid", "auth_time", "amr", *sum(SCOPE_CLAIMS.values(), ())}),
        "prompt_values_supported": ["none", "login"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
