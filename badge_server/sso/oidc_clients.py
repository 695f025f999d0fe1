"""Registering, listing and disabling OpenID Connect clients (the apps that sign students in).

A client secret is shown once, at registration; only its keyed digest is stored.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.errors import SsoRegistrationRefused
from badge_server.keys import ServerKeys
from badge_server.sso.claims import DEFAULT_SCOPES, SUPPORTED_SCOPES
from badge_server.store.models import App
from badge_server.store.sso_models import OidcClient, SsoProtocol


@dataclass(frozen=True)
class NewClient:
    """A registered client and its secret, in clear this once (``None``: a public client)."""

    client: OidcClient
    secret: str | None


def is_loopback_host(host: str) -> bool:
    """localhost or a loopback address: where plain http cannot be read on the way (RFC 8252 §7.3)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_app_uri(uri: str, what: str) -> str:
    """An absolute https URI, or http to loopback (a developer's machine, native apps: RFC 8252)."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname:
        raise SsoRegistrationRefused(f"{what} {uri!r} must be an absolute URL without a #fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return uri
    raise SsoRegistrationRefused(f"{what} {uri!r} must use https (plain http only to loopback)")


def register_client(
    db: Session,
    keys: ServerKeys,
    *,
    name: str,
    redirect_uris: list[str],
    public: bool,
    scopes: list[str],
    initiate_login_uri: str | None,
    backchannel_logout_uri: str | None,
    app_id: str | None,
    actor: str,
    now: datetime,
) -> NewClient:
    """Check everything first, then write: a refused registration leaves nothing behind."""
    if not name.strip():
        raise SsoRegistrationRefused("a client needs a name")
    if not redirect_uris:
        raise SsoRegistrationRefused("a client needs at least one redirect URI")
    uris = [check_app_uri(uri, "redirect URI") for uri in redirect_uris]
    unknown = sorted(set(scopes) - set(SUPPORTED_SCOPES))
    if unknown:
        raise SsoRegistrationRefused(f"unknown scope {', '.join(unknown)}; known: {', '.join(SUPPORTED_SCOPES)}")
    chosen = list(dict.fromkeys(["openid", *scopes])) if scopes else list(DEFAULT_SCOPES)
    login_uri = check_app_uri(initiate_login_uri, "initiate login URI") if initiate_login_uri else None
    logout_uri = check_app_uri(backchannel_logout_uri, "back-channel logout URI") if backchannel_logout_uri else None
    app = db.get(App, app_id) if app_id else None
    if app_id and app is None:
        raise SsoRegistrationRefused(f"no catalog app with id {app_id!r}")
    secret = None if public else secrets.token_urlsafe(32)
    client = OidcClient(
        id=secrets.token_urlsafe(16),
        name=name.strip(),
        secret_digest=keys.secret_digest(secret) if secret else None,
        redirect_uris=uris,
        scopes=chosen,
        initiate_login_uri=login_uri,
        backchannel_logout_uri=logout_uri,
        created_at=now,
        created_by=actor,
        disabled_at=None,
    )
    db.add(client)
    if app is not None:
        # The tile now starts this client's sign-in (sso.tiles).
        app.sso_protocol = SsoProtocol.OIDC.value
        app.sso_ref = client.id
    audit.record(db, "oidc.client.add", actor=actor, client_id=client.id, app_id=app_id, public=public)
    db.flush()
    return NewClient(client, secret)


def secret_matches(keys: ServerKeys, client: OidcClient, secret: str) -> bool:
    if client.secret_digest is None or not secret.isascii():
        return False
    return hmac.compare_digest(client.secret_digest, keys.secret_digest(secret))


def list_clients(db: Session) -> list[OidcClient]:
    return list(db.scalars(select(OidcClient).order_by(OidcClient.created_at, OidcClient.name)))


def disable_client(db: Session, client_id: str, actor: str, now: datetime) -> OidcClient:
    """The client can no longer sign anyone in; codes and tokens it holds stop working."""
    client = db.get(OidcClient, client_id)
    if client is None:
        raise SsoRegistrationRefused(f"no OIDC client with id {client_id!r}")
    if client.disabled_at is None:
        client.disabled_at = now
        audit.record(db, "oidc.client.disable", actor=actor, client_id=client.id)
    return client


def client_summary(client: OidcClient) -> dict[str, object]:
    return {
        "client_id": client.id,
        "name": client.name,
        "public": client.secret_digest is None,
        "redirect_uris": list(client.redirect_uris),
        "scopes": list(client.scopes),
        "initiate_login_uri": client.initiate_login_uri,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "disabled": client.disabled_at is not None,
    }
