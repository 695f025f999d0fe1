"""The server signs SAML responses in-process with signxml; an SP on a DIFFERENT implementation
(pysaml2's client, verifying through xmlsec1) accepts them, and refuses one whose NameID was
changed after signing. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import httpx
import pytest
from saml2.sigver import SignatureError

from badge_server.ops.demo_saml_app import DemoSamlApp, acs_url, sp_entity_id
from badge_server.store.sso_models import NameIdFormat
from tests.support.district import District
from tests.support.saml import JOSE_EMAIL, give_email, register, signed_in_browser
from tests.support.saml_sp import GoogleShapedSp, posted_form
from tests.support.servers import LoopbackServer


def test_pysaml2_and_xmlsec1_accept_the_signed_response_and_refuse_an_altered_name_id(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    app = DemoSamlApp(server.url)
    sp = GoogleShapedSp(f"{server.url}/saml/sso", entity_id=sp_entity_id(server.url), acs_url=acs_url(server.url))
    register(district, sp, nameid_format=NameIdFormat.EMAIL.value)
    give_email(district)
    location = app.start()
    with signed_in_browser(server, district) as browser:
        page = browser.get(location.removeprefix(server.url))
    assert page.status_code == 200, page.text
    action, fields = posted_form(page.text)
    assert action == acs_url(server.url)
    document = base64.b64decode(fields["SAMLResponse"])
    assert document.count(b"<ds:SignatureValue>") == 2  # the Response and the Assertion

    altered = document.replace(JOSE_EMAIL.encode(), b"mallory@riverside.example")
    assert altered != document
    with pytest.raises(SignatureError):
        app.finish(base64.b64encode(altered).decode("ascii"))

    signed_in = app.finish(fields["SAMLResponse"])
    assert signed_in["name_id"] == JOSE_EMAIL
    assert signed_in["issuer"] == f"{server.url}/saml/metadata"
