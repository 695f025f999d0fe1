"""An app's sign-in in real Chromium: the app sends the browser to /authorize, the badge scanner
page appears, a real printed badge shown to the fake camera signs José in, and the browser lands
on the app's redirect URI with a code that the app (pyoidc) redeems for a verified ID token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Playwright, expect

from kiosk_client.frames import write_badge_y4m
from tests.support.browser import js_errors, launch_chromium, new_page
from tests.support.district import District
from tests.support.oidc_app import AppServer, RelyingParty, register_app
from tests.support.pdf import printed_badge
from tests.support.servers import LoopbackServer

JOSE = "st-0001"


def test_an_apps_sign_in_shows_the_scanner_and_a_printed_badge_lands_the_child_in_the_app(
    playwright: Playwright,
    server: LoopbackServer,
    district: District,
    tmp_path: Path,
    look_at: Callable[..., list[dict[str, Any]]],
) -> None:
    app_server = AppServer()
    rp = RelyingParty(server.url, register_app(district.runtime, redirect_uri=app_server.callback_url))
    video = tmp_path / "camera.y4m"
    write_badge_y4m(str(video), card=printed_badge(district.payloads[JOSE], "José García"), empty_seconds=1.5,
                    held_seconds=2.5)  # fmt: skip
    browser = launch_chromium(playwright, camera=video)  # a family's laptop: never enrolled, a home sign-in
    with app_server, browser:
        _, page = new_page(browser, server)
        page.goto(rp.authorize_url(scope="openid profile"))
        assert page.url.startswith(f"{server.url}/scan"), "no session: the badge sign-in page"
        assert "authorize" not in page.url and rp.state not in page.url, "the request is kept server-side"
        assert look_at(page, "scanner") == []
        expect(page.locator("#welcome-text")).to_have_text("Hi, José!", timeout=20_000)
        page.wait_for_url(lambda url: url.startswith(app_server.callback_url), timeout=15_000)
        expect(page.locator("h1")).to_have_text("Reading Eggs")
        assert look_at(page, "landed") == []
        tokens = rp.redeem(rp.callback(page.url)["code"])
        assert tokens["id_token"]["name"] == "José García" and tokens["id_token"]["nonce"] == rp.nonce
        assert js_errors(page) == []
