"""Where a dashboard tile goes: into the app's own sign-in, so it lands signed in."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.store.models import App, StudentSession
from badge_server.store.sso_models import OidcClient, SamlServiceProvider, SsoProtocol


def tile_target(db: Session, app: App, issuer: str) -> str:
    """The URL a tile opens.

    - OIDC: the app's ``initiate_login_uri`` (OpenID Connect Core, "Initiating Login from a
      Third Party") with ``iss`` and ``target_link_uri``; the app then sends an authorize
      request, which the student's session answers at once.
    - SAML: this server's IdP-initiated sign-in for the service provider.
    - Otherwise, or when the app's SSO registration is disabled: the plain launch URL.
    """
    if app.sso_protocol == SsoProtocol.OIDC and app.sso_ref:
        client = db.get(OidcClient, app.sso_ref)
        if client is not None and client.disabled_at is None and client.initiate_login_uri:
            query = urlencode({"iss": issuer, "target_link_uri": app.launch_url})
            separator = "&" if "?" in client.initiate_login_uri else "?"
            return f"{client.initiate_login_uri}{separator}{query}"
    if app.sso_protocol == SsoProtocol.SAML and app.sso_ref:
        provider = db.get(SamlServiceProvider, app.sso_ref)
        if provider is not None and provider.disabled_at is None:
            return f"{issuer}/saml/idp-initiated/{provider.id}"
    return app.launch_url


def open_tile(db: Session, student: StudentSession, app: App, issuer: str) -> str:
    """Audit the launch (teachers see who opened what) and say where the tile goes."""
    target = tile_target(db, app, issuer)
    audit.record(
        db,
        "app.launch",
        person_id=student.person_id,
        badge_id=student.badge_id,
        device_id=student.device_id,
        app_id=app.id,
        sso=app.sso_protocol or "none",
    )
    return target
