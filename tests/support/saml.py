"""Setting up SAML tests: a registered Google-shaped SP, a student with an email, a browser session."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from badge_server.sso.saml_providers import NewProvider, add_provider
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.api import sign_in
from tests.support.district import District
from tests.support.saml_sp import GoogleShapedSp, idp_certificates
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # José García, kindergarten: the demo roster gives him no email
JOSE_EMAIL = "jose.garcia@riverside.example"


def register(district: District, sp: GoogleShapedSp, **options: object) -> str:
    """Register the SP as an admin would (saml-sp add); return its sp_id."""
    fields: dict[str, object] = {"name": "Google Workspace", "entity_id": sp.entity_id, "acs_url": sp.acs_url}
    if sp.keys is not None:
        fields["certificate_pem"] = sp.keys.certificate_pem
    fields.update(options)
    with transaction(district.runtime.factory) as session:
        return add_provider(session, NewProvider(**fields), actor="test").id  # type: ignore[arg-type]


def give_email(district: District, person_id: str = JOSE, email: str | None = JOSE_EMAIL) -> None:
    with transaction(district.runtime.factory) as session:
        session.execute(update(Person).where(Person.id == person_id).values(email=email))


def signed_in_browser(server: LoopbackServer, district: District, person_id: str = JOSE) -> httpx.Client:
    """A browser-like client holding the student's session cookie (as after a scan)."""
    browser = httpx.Client(base_url=server.url, timeout=20)
    with httpx.Client(base_url=server.url, timeout=20) as kiosk:
        token = sign_in(kiosk, district.device_token, district.payloads[person_id])
    browser.cookies.set("badge_session", token)
    return browser


def idp_of(http: httpx.Client) -> tuple[str, str]:
    """(entity id, signing certificate) from GET /saml/metadata, as an SP imports it."""
    metadata = http.get("/saml/metadata")
    assert metadata.status_code == 200, metadata.text
    entity_id, certificates = idp_certificates(metadata.content)
    return entity_id, certificates[0]
