"""Signing out sends a signed SAML LogoutRequest to each SP of the session that registered an
SLO URL, after the sign-out and without holding it up (a loopback SP receives it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from lxml import etree

from tests.support.api import audit_count
from tests.support.district import District
from tests.support.saml import JOSE_EMAIL, give_email, idp_of, register, signed_in_browser
from tests.support.saml_sp import NS, GoogleShapedSp, posted_form, verified
from tests.support.servers import LoopbackServer


class _Server(ThreadingHTTPServer):
    # A browser may open a connection it never sends on (a preconnect): closing the server
    # must not wait for that handler thread.
    daemon_threads = True
    block_on_close = False


class SloEndpoint:
    """An SP's SOAP single-logout endpoint on loopback that keeps what it was sent."""

    def __init__(self) -> None:
        received = self.received = []  # type: list[bytes]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int) -> list[bytes]:
        deadline = time.monotonic() + 15
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


@pytest.fixture
def slo() -> Iterator[SloEndpoint]:
    endpoint = SloEndpoint()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def test_signing_out_in_the_browser_and_the_api_sends_signed_logout_requests(
    server: LoopbackServer, district: District, http: httpx.Client, slo: SloEndpoint
) -> None:
    sp = GoogleShapedSp(
        f"{server.url}/saml/sso", entity_id="https://app.example/saml", acs_url="https://app.example/acs"
    )
    register(district, sp, slo_url=slo.url)
    quiet = GoogleShapedSp(sp.idp_sso_url, entity_id="https://quiet.example", acs_url="https://quiet.example/acs")
    register(district, quiet)  # no SLO URL: told nothing
    give_email(district)
    entity_id, certificate = idp_of(http)
    indexes = []
    for sign_out in ("browser", "api"):
        with signed_in_browser(server, district) as browser:
            for provider in (sp, quiet):
                request_id, xml = provider.authn_request()
                page = browser.get("/saml/sso", params=provider.redirect_query(xml))
                validated = provider.validate(
                    posted_form(page.text)[1]["SAMLResponse"], certificate, entity_id, request_id
                )
                if provider is sp:
                    indexes.append(validated.session_index)
            if sign_out == "browser":
                assert browser.post("/logout").status_code == 303
            else:
                token = browser.cookies["badge_session"]
                assert http.post("/api/v1/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bodies = slo.wait_for(2)
    assert len(bodies) == 2
    for body, index in zip(bodies, indexes, strict=True):
        envelope = etree.fromstring(body)
        request = envelope.find(".//samlp:LogoutRequest", NS)
        assert request is not None
        signed = verified(etree.tostring(request), certificate, "./")
        assert signed.findtext("saml:Issuer", namespaces=NS) == entity_id
        assert signed.findtext("saml:NameID", namespaces=NS) == JOSE_EMAIL
        assert signed.findtext("samlp:SessionIndex", namespaces=NS) == index
        assert signed.get("Destination") == slo.url
    # The outcomes are audited after the sends, in the background: the SP may hear before the row lands.
    deadline = time.monotonic() + 10
    while audit_count(district.runtime, "saml.logout", "ok") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert audit_count(district.runtime, "saml.logout", "ok") == 2
