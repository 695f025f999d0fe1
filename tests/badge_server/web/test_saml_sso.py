"""SAML sign-in end to end against the real server on loopback, checked by a Google-shaped SP
built on another library (signxml); on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.support.district import District
from tests.support.saml import JOSE_EMAIL, give_email, idp_of, register, signed_in_browser
from tests.support.saml_sp import EMAIL_FORMAT, GoogleShapedSp, posted_form
from tests.support.servers import LoopbackServer


def test_redirect_binding_signs_a_student_with_a_session_in_to_google(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    assert entity_id == f"{server.url}/saml/metadata"
    request_id, xml = sp.authn_request()
    with signed_in_browser(server, district) as browser:
        page = browser.get("/saml/sso", params=sp.redirect_query(xml, relay_state="https://mail.google.com/a/x"))
    assert page.status_code == 200, page.text
    action, fields = posted_form(page.text)
    assert action == sp.acs_url
    assert fields["RelayState"] == "https://mail.google.com/a/x"
    validated = sp.validate(fields["SAMLResponse"], certificate, entity_id, request_id)
    assert validated.name_id == JOSE_EMAIL
    assert validated.name_id_format == EMAIL_FORMAT
    assert validated.attributes == {}  # Google needs none, and refuses non-ASCII ones (José)
