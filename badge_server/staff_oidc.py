"""Staff sign-in with the district's own Google Workspace or Microsoft Entra account.

Here the server is an OpenID Connect *client* of the district's identity provider: Authlib builds
the authorization request (state, nonce, PKCE S256) and redeems the code; joserfc checks the ID
token's signature against the provider's published keys, and its issuer, audience, nonce and
times. Only then is the email read, and only an email the provider vouches for, in one of the
district's domains. Who that is, and whether they may sign in, is decided in staff_matching.py.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from badge_server.errors import StaffSsoRefused
from badge_server.keys import ServerKeys
from badge_server.settings import Settings

GOOGLE_ISSUER = "https://accounts.google.com"
#: A started sign-in must come back within this long (the person types a password, maybe a code).
PENDING_SECONDS = 600
METADATA_SECONDS = 3600  # the provider's discovery document and keys are read again after this
HTTP_SECONDS = 10
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class PendingStaffSignIn:
    """What the browser carries, sealed, between leaving for the provider and coming back."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    started: float

    def seal(self, keys: ServerKeys) -> str:
        return keys.encrypt(json.dumps(asdict(self))).decode("ascii")

    @classmethod
    def unseal(cls, keys: ServerKeys, sealed: str, state: str) -> PendingStaffSignIn:
        """The sign-in this browser started, if ``state`` is its state and it is recent."""
        opened = keys.open_sealed(sealed.encode("ascii", "replace")) if sealed else None
        if opened is None:
            raise StaffSsoRefused(
                "no_pending", "This sign-in was not started in this browser, or it took too long. Start again."
            )
        pending = cls(**json.loads(opened))
        # Constant-time: the state is what ties the provider's answer to this browser (CSRF).
        if not secrets.compare_digest(pending.state.encode(), state.encode()):
            raise StaffSsoRefused("state", "This answer from the sign-in page is not for this browser. Start again.")
        if time.time() - pending.started > PENDING_SECONDS:
            raise StaffSsoRefused("expired", "The sign-in took too long. Start again.")
        return pending


@dataclass(frozen=True)
class DistrictIdentity:
    """Who the district's provider says signed in."""

    email: str
    subject: str
    #: The provider's word stands for both factors (BADGE_STAFF_OIDC_TRUSTS_MFA).
    second_factor_done: bool


class DistrictIdentityProvider:
    """The district's OpenID Connect provider, as configured; its metadata and keys are cached."""

    def __init__(self, settings: Settings, secret: str) -> None:
        assert settings.staff_oidc_issuer and settings.staff_oidc_client_id
        self.issuer = settings.staff_oidc_issuer.rstrip("/")
        self.client_id = settings.staff_oidc_client_id
        self._secret = secret
        self.domains = settings.staff_oidc_email_domains
        self.email_claim = settings.staff_oidc_email_claim
        self.trusts_mfa = settings.staff_oidc_trusts_mfa
        self.label = settings.staff_oidc_label or _label_of(self.issuer)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._read_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DistrictIdentityProvider | None:
        if settings.staff_oidc_issuer is None:
            return None
        if settings.staff_oidc_client_secret is not None:
            secret = settings.staff_oidc_client_secret.get_secret_value()
        else:
            assert settings.staff_oidc_client_secret_file is not None
            secret = settings.staff_oidc_client_secret_file.read_text().strip()
        return cls(settings, secret)

    def start(self, redirect_uri: str) -> tuple[str, PendingStaffSignIn]:
        """The provider's sign-in URL to send the browser to, and what to remember meanwhile."""
        metadata = self._read_metadata()
        pending = PendingStaffSignIn(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(48),
            redirect_uri=redirect_uri,
            started=time.time(),
        )
        extra: dict[str, str] = {"nonce": pending.nonce, "prompt": "select_account"}
        if self.issuer == GOOGLE_ISSUER and len(self.domains) == 1:
            extra["hd"] = self.domains[0]  # Google shows only the district's accounts
        with self._session(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"], state=pending.state, code_verifier=pending.code_verifier, **extra
            )
        return str(url), pending

    def finish(self, pending: PendingStaffSignIn, code: str) -> DistrictIdentity:
        """Redeem the code (server to server), check the ID token, return who signed in."""
        metadata = self._read_metadata()
        try:
            with self._session(pending.redirect_uri, metadata) as client:
                token = client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=pending.code_verifier, timeout=HTTP_SECONDS
                )
        except OAuth2Error as exc:
            refusal = f"{self.label} did not accept the sign-in ({exc.error}). Start again."
            raise StaffSsoRefused("code", refusal) from exc
        except requests.RequestException as exc:
            raise StaffSsoRefused("unreachable", f"{self.label} could not be reached. Try again in a minute.") from exc
        if not token.get("id_token"):
            raise StaffSsoRefused("id_token", f"{self.label} sent no ID token.")
        return self.identity(self.verified_claims(str(token["id_token"]), pending.nonce))

    def verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, nonce and times check out."""
        try:
            decoded = jwt.decode(id_token, self._key_set(), algorithms=self._algorithms())
        except JoseError:
            # A key the provider rotated in since the keys were read: read them once more.
            try:
                decoded = jwt.decode(id_token, self._key_set(refresh=True), algorithms=self._algorithms())
            except (JoseError, ValueError) as exc:
                raise StaffSsoRefused("signature", "The sign-in answer's signature did not check out.") from exc
        except ValueError as exc:
            raise StaffSsoRefused("signature", "The sign-in answer is not a signed ID token.") from exc
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise StaffSsoRefused("claims", f"The sign-in answer was refused: {exc.description or exc.error}.") from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != self.client_id):
            raise StaffSsoRefused("claims", "The sign-in answer was meant for another app.")
        return claims

    def identity(self, claims: dict[str, Any]) -> DistrictIdentity:
        """The email the provider vouches for, if it is in one of the district's domains."""
        email = str(claims.get(self.email_claim) or "").strip().lower()
        if "@" not in email:
            raise StaffSsoRefused("no_email", f"{self.label} did not say which email address signed in.")
        # Google: "email_verified" says Google checked the address. A claim the provider does not
        # check (an Entra guest's "email") must not decide whose account opens.
        if self.email_claim == "email" and claims.get("email_verified") is not True:
            raise StaffSsoRefused("unverified", f"{self.label} has not verified the address {email}.")
        domain = email.rsplit("@", 1)[1]
        if domain not in self.domains:
            raise StaffSsoRefused("domain", f"{email} is not a district address ({', '.join(self.domains)}).")
        # Google: a personal account can carry a work address; only the Workspace domain ("hd") proves
        # the district manages it.
        if self.issuer == GOOGLE_ISSUER and claims.get("hd") not in self.domains:
            raise StaffSsoRefused("domain", f"{email} is not an account of the district's Google Workspace.")
        return DistrictIdentity(email, str(claims["sub"]), self.trusts_mfa)

    def _session(self, redirect_uri: str, metadata: dict[str, Any] | None = None) -> OAuth2Session:
        methods = (metadata or {}).get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return OAuth2Session(
            self.client_id,
            self._secret,
            token_endpoint_auth_method=method,
            scope="openid email profile",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )

    def _algorithms(self) -> list[str]:
        offered = (self._metadata or {}).get("id_token_signing_alg_values_supported") or ["RS256"]
        # Never "none", never a symmetric key the client secret would be: only signatures by the provider.
        return [alg for alg in offered if alg[:2] in ("RS", "PS", "ES")] or ["RS256"]

    def _read_metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._read_at > METADATA_SECONDS:
                document = _get_json(f"{self.issuer}/.well-known/openid-configuration", self.label)
                if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                    named = document.get("issuer")
                    raise StaffSsoRefused("metadata", f"{self.label}'s discovery names another issuer: {named!r}")
                for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not document.get(needed):
                        raise StaffSsoRefused("metadata", f"{self.label}'s discovery document has no {needed}")
                self._metadata, self._keys, self._read_at = document, None, time.monotonic()
            return self._metadata

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        metadata = self._read_metadata()
        with self._lock:
            if self._keys is None or refresh:
                self._keys = KeySet.import_key_set(_get_json(metadata["jwks_uri"], self.label))  # type: ignore[arg-type]
            return self._keys


def _get_json(url: str, label: str) -> dict[str, Any]:
    try:
        answer = requests.get(url, timeout=HTTP_SECONDS)
        answer.raise_for_status()
        document = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise StaffSsoRefused("unreachable", f"{label} could not be reached ({url}). Try again in a minute.") from exc
    if not isinstance(document, dict):
        raise StaffSsoRefused("metadata", f"{url} did not answer with a JSON object")
    return document


def _label_of(issuer: str) -> str:
    host = urlsplit(issuer).hostname or issuer
    if host.endswith("google.com"):
        return "Google"
    if host.endswith(("microsoftonline.com", "microsoft.com")):
        return "Microsoft"
    return host
