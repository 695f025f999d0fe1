"""SQLAlchemy models of single sign-on: signing keys, subjects, OIDC clients and grants, SAML
service providers, the sign-in a browser is waiting to finish, and the kiosk's browser hand-off.

Like the rest of the store, nothing here holds a secret in clear: client secrets, codes and
tokens are digests, private keys are encrypted with the server key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from badge_server.store.models import Base, new_id


class SsoProtocol(StrEnum):
    """How a catalog app signs students in (``App.sso_protocol``); none means a plain link."""

    OIDC = "oidc"
    SAML = "saml"


class NameIdFormat(StrEnum):
    """What a SAML service provider receives as NameID."""

    EMAIL = "email"  # Google Workspace: the student's roster email
    PERSISTENT = "persistent"  # the stable subject, for apps that know no email


class SigningKey(Base):
    """An RSA key the server signs ID tokens and SAML responses with (private part encrypted).

    A new key is published (JWKS, metadata) ``publish_hours`` before it signs, and an old one
    stays published until what it signed has expired (``retire_at``).
    """

    __tablename__ = "signing_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)  # the JWK "kid"
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)  # PEM, Fernet under the server key
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    certificate_pem: Mapped[str] = mapped_column(Text)  # self-signed X.509, for SAML metadata
    created_at: Mapped[datetime]
    signs_from: Mapped[datetime]  # published before this, used for signing from it on
    superseded_at: Mapped[datetime | None]  # a newer key signs from here on
    retire_at: Mapped[datetime | None]  # no longer published after this


class Subject(Base):
    """The stable, random identifier apps know a person by (OIDC ``sub``, SAML persistent NameID).

    Never derived from a badge, so replacing a badge changes nothing an app sees; one per person.
    """

    __tablename__ = "subjects"
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class OidcClient(Base):
    """A relying party: an app that signs students in with OpenID Connect."""

    __tablename__ = "oidc_clients"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client_id
    name: Mapped[str] = mapped_column(String(255))
    secret_digest: Mapped[str | None] = mapped_column(String(64))  # None: a public client (PKCE only)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # the scopes it may ask for
    initiate_login_uri: Mapped[str | None] = mapped_column(String(2048))  # where a tile starts its sign-in
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    disabled_at: Mapped[datetime | None]


class OidcCode(Base):
    """An authorization code: single use, short-lived; a second use revokes what it issued."""

    __tablename__ = "oidc_codes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("student_sessions.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(String(512))
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OidcToken(Base):
    """An access token an authorization code was exchanged for (userinfo takes it)."""

    __tablename__ = "oidc_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    code_id: Mapped[str] = mapped_column(ForeignKey("oidc_codes.id"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("student_sessions.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    scope: Mapped[str] = mapped_column(String(512))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SamlServiceProvider(Base):
    """A SAML 2.0 service provider (Google Workspace, an older app)."""

    __tablename__ = "saml_service_providers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)  # the sp_id
    name: Mapped[str] = mapped_column(String(255))
    entity_id: Mapped[str] = mapped_column(String(1024), unique=True)
    acs_url: Mapped[str] = mapped_column(String(2048))
    nameid_format: Mapped[str] = mapped_column(String(16))  # NameIdFormat
    slo_url: Mapped[str | None] = mapped_column(String(2048))  # single logout, when it registered one
    certificate_pem: Mapped[str | None] = mapped_column(Text)  # to check signed AuthnRequests
    require_signed_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    disabled_at: Mapped[datetime | None]


class SamlSeenRequest(Base):
    """AuthnRequest ids already answered, so a replayed request is refused until it is stale."""

    __tablename__ = "saml_seen_requests"
    sp_id: Mapped[str] = mapped_column(ForeignKey("saml_service_providers.id"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime]


class SsoSignIn(Base):
    """An app a student session signed in to, so signing out can tell it (back-channel, SLO)."""

    __tablename__ = "sso_sign_ins"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("student_sessions.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(8))  # SsoProtocol
    client_ref: Mapped[str] = mapped_column(String(64))  # OidcClient.id or SamlServiceProvider.id
    saml_session_index: Mapped[str | None] = mapped_column(String(128))
    signed_in_at: Mapped[datetime]
    logged_out_at: Mapped[datetime | None]


class PendingSignIn(Base):
    """An app's sign-in request that waits for a badge scan, kept here and not in the URL.

    The browser holds only a random reference to it (a cookie); the scan page reads nothing of it.
    """

    __tablename__ = "pending_sign_ins"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # of the browser's reference
    protocol: Mapped[str] = mapped_column(String(8))  # SsoProtocol
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the request, as received
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class HandoffCode(Base):
    """A kiosk session handed to the browser it opens for a tile: single use, seconds, bound to
    the kiosk's device and session; redeemed for a browser session of the same student."""

    __tablename__ = "handoff_codes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("student_sessions.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    app_id: Mapped[str] = mapped_column(String(64))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class EnrolLink(Base):
    """A multi-use, expiring, revocable enrolment link for a school's cart of Chromebooks."""

    __tablename__ = "enrol_links"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    name_prefix: Mapped[str] = mapped_column(String(120))
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
