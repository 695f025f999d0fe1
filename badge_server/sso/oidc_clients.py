"""OpenID Connect clients: register, list, disable, and what Authlib asks of a client.

A client secret is random, shown once and stored only as a digest. A redirect URI is matched
exactly, so it is checked here when it is registered: https, or http on loopback only (a code
sent over plain HTTP to another machine can be read on the way).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.errors import NotFoundError, PolicyError
from badge_server.keys import token_digest
from badge_server.store.models import App
from badge_server.store.sso_models import OidcClient, SsoProtocol

#: Scopes a client may be allowed: the OIDC standard ones this server fills, and ``roster``
#: (school, grade, roles), which a district grants only to apps that need it.
KNOWN_SCOPES = ("openid", "profile", "email", "roster")
DEFAULT_SCOPES = ("openid", "profile", "email")
_CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,40}")


@dataclass(frozen=True)
class NewClient:
    """A client just registered; ``client_secret`` is the only time its secret exists in clear."""

    client_id: str
    client_secret: str | None


def check_app_url(url: str, what: str) -> str:
    """An absolute https URL, or http to loopback (a developer's or the demo's own app)."""
    parts = urlsplit(url)
    if parts.fragment or not parts.netloc or parts.scheme not in ("https", "http"):
        raise PolicyError(f"{what} {url!r} must be an absolute https:// URL without a #fragment")
    if parts.scheme == "http":
        host = parts.hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise PolicyError(f"{what} {url!r} must use https:// (plain http only to 127.0.0.1 or localhost)")
    return url


def _new_client_id(db: Session, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "app"
    while True:
        candidate = f"{base}-{secrets.token_hex(3)}"
        if _CLIENT_ID.fullmatch(candidate) and db.get(OidcClient, candidate) is None:
            return candidate


def add_client(
    db: Session,
    *,
    name: str,
    redirect_uris: list[str],
    public: bool,
    actor: str,
    now: datetime,
    scopes: list[str] | None = None,
    initiate_login_uri: str | None = None,
    backchannel_logout_uri: str | None = None,
    app_id: str | None = None,
) -> NewClient:
    """Register a client; with ``app_id``, that catalog app's tile starts this client's sign-in."""
    name = name.strip()
    if not name:
        raise PolicyError("a client needs a name (the app's name, as admins will see it)")
    if not redirect_uris:
        raise PolicyError("a client needs at least one --redirect-uri")
    uris = [check_app_url(uri, "redirect URI") for uri in redirect_uris]
    chosen = list(scopes or DEFAULT_SCOPES)
    unknown = sorted(set(chosen) - set(KNOWN_SCOPES))
    if unknown:
        raise PolicyError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(KNOWN_SCOPES)}")
    if "openid" not in chosen:
        chosen.insert(0, "openid")
    app = None
    if app_id is not None:
        app = db.get(App, app_id)
        if app is None:
            raise NotFoundError(f"no app {app_id!r} in the catalog (see the console's Apps page)")
    secret = None if public else secrets.token_urlsafe(32)
    client = OidcClient(
        id=_new_client_id(db, name),
        name=name,
        secret_digest=None if secret is None else token_digest(secret),
        redirect_uris=uris,
        scopes=chosen,
        initiate_login_uri=initiate_login_uri and check_app_url(initiate_login_uri, "initiate login URI"),
        backchannel_logout_uri=backchannel_logout_uri
        and check_app_url(backchannel_logout_uri, "back-channel logout URI"),
        created_at=now,
        created_by=actor,
        disabled_at=None,
    )
    db.add(client)
    if app is not None:
        app.sso_protocol, app.sso_ref = SsoProtocol.OIDC, client.id
    audit.record(db, "oidc.client_add", actor=actor, client_id=client.id, public=public, app_id=app_id)
    db.flush()
    return NewClient(client.id, secret)


def list_clients(db: Session) -> list[OidcClient]:
    return list(db.scalars(select(OidcClient).order_by(OidcClient.created_at, OidcClient.id)))


def disable_client(db: Session, client_id: str, *, actor: str, now: datetime) -> OidcClient:
    """Refuse the client's requests from now on; its tokens stop working too (userinfo)."""
    client = db.get(OidcClient, client_id)
    if client is None:
        raise NotFoundError(f"no OIDC client {client_id!r} (see `badge-server oidc-client list`)")
    if client.disabled_at is None:
        client.disabled_at = now
        audit.record(db, "oidc.client_disable", actor=actor, client_id=client_id)
    return client


class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """What Authlib asks of a client, answered from its row."""

    def __init__(self, row: OidcClient) -> None:
        self.row = row

    @property
    def is_public(self) -> bool:
        return self.row.secret_digest is None

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> str | None:
        # Never guess: a request must name its redirect URI (OIDC requires it anyway).
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.row.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string comparison (RFC 9700 §4.1.3): no prefix, no wildcard, no normalising.
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.secret_digest is None:
            return False
        # Constant time: the comparison must not tell an attacker how much of a guess was right.
        return hmac.compare_digest(token_digest(client_secret), self.row.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return True
        return method == "none" if self.is_public else method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"
