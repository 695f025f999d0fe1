"""SAML service providers a district registered: add, list, disable, and look one up.

Registration is where an ACS URL becomes trusted: a response is only ever posted to the URL
stored here, so it is checked hard (absolute https, or http to loopback for development).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.clock import utcnow
from badge_server.errors import NotFoundError, PolicyError
from badge_server.sso.oidc_clients import is_loopback_host
from badge_server.store.sso_models import NameIdFormat, SamlServiceProvider


@dataclass(frozen=True)
class NewProvider:
    """What an admin registers: the SP's own identifiers, from its metadata or its documentation."""

    name: str
    entity_id: str
    acs_url: str
    nameid_format: str = NameIdFormat.EMAIL.value
    slo_url: str | None = None
    certificate_pem: str | None = None
    require_signed_requests: bool = False


def check_endpoint_url(url: str, what: str) -> str:
    """An absolute https URL (http only to loopback), without a fragment; else PolicyError."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PolicyError(f"{what} must be an absolute https:// URL, not {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise PolicyError(f"{what} must use https:// (http:// only to this machine), not {url!r}")
    if parts.fragment:
        raise PolicyError(f"{what} must not have a #fragment: {url!r}")
    return url


def _check_certificate(pem: str) -> str:
    try:
        x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise PolicyError(f"the certificate is not a PEM X.509 certificate: {exc}") from exc
    return pem.strip() + "\n"


def add_provider(db: Session, new: NewProvider, actor: str) -> SamlServiceProvider:
    """Register a service provider; every field is checked before anything is written."""
    name, entity_id = new.name.strip(), new.entity_id.strip()
    if not name:
        raise PolicyError("the service provider needs a name")
    if not entity_id or len(entity_id) > 1024:
        raise PolicyError("the entity id must be 1 to 1024 characters (the SP's Issuer, e.g. google.com)")
    if new.nameid_format not in {f.value for f in NameIdFormat}:
        raise PolicyError(f"--nameid must be email or persistent, not {new.nameid_format!r}")
    acs_url = check_endpoint_url(new.acs_url.strip(), "the ACS URL")
    slo_url = check_endpoint_url(new.slo_url.strip(), "the SLO URL") if new.slo_url else None
    certificate = _check_certificate(new.certificate_pem) if new.certificate_pem else None
    if new.require_signed_requests and certificate is None:
        raise PolicyError("signed requests can only be checked with the SP's certificate (--certificate FILE)")
    if db.scalars(select(SamlServiceProvider).where(SamlServiceProvider.entity_id == entity_id)).first():
        raise PolicyError(f"a service provider with entity id {entity_id!r} is already registered")
    provider = SamlServiceProvider(
        name=name,
        entity_id=entity_id,
        acs_url=acs_url,
        nameid_format=new.nameid_format,
        slo_url=slo_url,
        certificate_pem=certificate,
        require_signed_requests=new.require_signed_requests,
        created_at=utcnow(),
        created_by=actor,
        disabled_at=None,
    )
    db.add(provider)
    db.flush()
    audit.record(db, "saml.sp.add", actor=actor, sp_id=provider.id, entity_id=entity_id, nameid=new.nameid_format)
    return provider


def list_providers(db: Session) -> list[SamlServiceProvider]:
    return list(db.scalars(select(SamlServiceProvider).order_by(SamlServiceProvider.created_at)))


def disable_provider(db: Session, sp_id: str, actor: str) -> SamlServiceProvider:
    """No more sign-ins for it from now on (the row stays, for the audit trail)."""
    provider = db.get(SamlServiceProvider, sp_id)
    if provider is None:
        raise NotFoundError(f"no SAML service provider with id {sp_id!r}")
    if provider.disabled_at is None:
        provider.disabled_at = utcnow()
        audit.record(db, "saml.sp.disable", actor=actor, sp_id=provider.id, entity_id=provider.entity_id)
    return provider


def enabled_provider_by_entity_id(db: Session, entity_id: str) -> SamlServiceProvider | None:
    query = select(SamlServiceProvider).where(SamlServiceProvider.entity_id == entity_id)
    provider = db.scalars(query).first()
    return provider if provider is not None and provider.disabled_at is None else None


def enabled_provider(db: Session, sp_id: str) -> SamlServiceProvider | None:
    provider = db.get(SamlServiceProvider, sp_id)
    return provider if provider is not None and provider.disabled_at is None else None
