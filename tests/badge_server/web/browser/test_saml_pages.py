"""SAML in real Chromium: the HTTP-POST binding's page auto-submits the signed response to the
SP's ACS (a loopback SP on another site, ``localhost`` vs ``127.0.0.1``), both when the SP posts
its AuthnRequest cross-site and when a dashboard tile starts an IdP-initiated sign-in."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from badge_server.store.db import transaction
from badge_server.store.models import App
from tests.support.api import exchange
from tests.support.browser import js_errors, new_page
from tests.support.district import District
from tests.support.saml import JOSE, JOSE_EMAIL, give_email, idp_of, register
from tests.support.saml_sp import GoogleShapedSp
from tests.support.servers import LoopbackServer


class _Server(ThreadingHTTPServer):
    # A browser may open a connection it never sends on (a preconnect): closing the server
    # must not wait for that handler thread.
    daemon_threads = True
    block_on_close = False


class LoopbackSp:
    """An SP on ``localhost``: ``/start`` shows a form posting an AuthnRequest, ``/acs`` keeps responses."""

    def __init__(self) -> None:
        self.start_form: dict[str, str] = {}
        self.posted: list[dict[str, str]] = []
        self.idp_sso_url = ""
        sp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fields = "".join(
                    f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in sp.start_form.items()
                )
                self._answer(
                    f'<form method="post" action="{sp.idp_sso_url}">{fields}<button>Sign in with badge</button></form>'
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                sp.posted.append({k: v[0] for k, v in parse_qs(body).items()})
                self._answer("<h1>Signed in to the app</h1>")

            def _answer(self, html: str) -> None:
                data = f"<!doctype html><html lang=en><title>SP</title><body>{html}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.base = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def loopback_sp() -> Iterator[LoopbackSp]:
    sp = LoopbackSp()
    yield sp
    sp.server.shutdown()
    sp.server.server_close()


def test_a_cross_site_post_request_scans_nothing_twice_and_the_response_auto_submits_to_the_acs(
    chromium: Browser, server: LoopbackServer, district: District, http: httpx.Client, loopback_sp: LoopbackSp
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso", acs_url=f"{loopback_sp.base}/acs")
    sp_id = register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    loopback_sp.idp_sso_url = sp.idp_sso_url
    context, page = new_page(chromium, server)
    try:
        context.add_cookies([{"name": "badge_device", "value": district.device_token, "url": server.url}])
        with httpx.Client(base_url=server.url) as kiosk:
            launch_url = exchange(kiosk, district.device_token, district.payloads[JOSE]).json()["launch_url"]
        page.goto(launch_url)
        page.wait_for_url("**/dashboard")
        # The SP posts its AuthnRequest from its own site: the child is already signed in, no scan.
        request_id, xml = sp.authn_request()
        loopback_sp.start_form = sp.post_form(xml, relay_state="inbox")
        page.goto(f"{loopback_sp.base}/start")
        page.get_by_role("button", name="Sign in with badge").click()
        expect(page.locator("h1")).to_have_text("Signed in to the app")
        assert page.url == sp.acs_url
        validated = sp.validate(loopback_sp.posted[0]["SAMLResponse"], certificate, entity_id, request_id)
        assert validated.name_id == JOSE_EMAIL and loopback_sp.posted[0]["RelayState"] == "inbox"
        # A dashboard tile of the same app: IdP-initiated, through the same auto-submitting page.
        with transaction(district.runtime.factory) as session:
            app = session.scalars(select(App).order_by(App.position)).first()
            assert app is not None
            app.sso_protocol, app.sso_ref = "saml", sp_id
        page.goto("/dashboard")
        page.locator(f'a[href="/apps/{app.id}/open"]').click()
        expect(page.locator("h1")).to_have_text("Signed in to the app")
        assert sp.validate(loopback_sp.posted[1]["SAMLResponse"], certificate, entity_id, None).name_id == JOSE_EMAIL
        assert js_errors(page) == []
    finally:
        context.close()


def test_without_javascript_a_continue_button_posts_the_response(
    chromium: Browser,
    server: LoopbackServer,
    district: District,
    http: httpx.Client,
    loopback_sp: LoopbackSp,
    look_at: Callable[..., Any],
    tmp_path: Path,
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso", acs_url=f"{loopback_sp.base}/acs")
    sp_id = register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    screenshots = Path(os.environ.get("BADGE_SCREENSHOT_DIR") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    # With JavaScript (axe needs it) but the auto-submit script held back: the page as a child sees it.
    context, page = new_page(chromium, server)
    try:
        context.add_cookies([{"name": "badge_device", "value": district.device_token, "url": server.url}])
        with httpx.Client(base_url=server.url) as kiosk:
            launch_url = exchange(kiosk, district.device_token, district.payloads[JOSE]).json()["launch_url"]
        page.goto(launch_url)
        page.route("**/static/saml_post.js", lambda route: route.abort())
        page.goto(f"/saml/idp-initiated/{sp_id}")
        assert look_at(page, "saml-post") == []
    finally:
        context.close()
    context, page = new_page(chromium, server, java_script_enabled=False)
    try:
        context.add_cookies([{"name": "badge_device", "value": district.device_token, "url": server.url}])
        with httpx.Client(base_url=server.url) as kiosk:
            launch_url = exchange(kiosk, district.device_token, district.payloads[JOSE]).json()["launch_url"]
        page.goto(launch_url)
        page.goto(f"/saml/idp-initiated/{sp_id}")
        expect(page.locator("h1")).to_have_text("Opening your app…")
        page.screenshot(path=str(screenshots / "saml-post-without-javascript.png"))
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("h1")).to_have_text("Signed in to the app")
        assert sp.validate(loopback_sp.posted[0]["SAMLResponse"], certificate, entity_id, None).name_id == JOSE_EMAIL
    finally:
        context.close()
