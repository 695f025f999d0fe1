"""A native kiosk's tile in real Chromium: the hand-off URL the kiosk opens lands on the app
signed in; opened a second time, it is a page a child understands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from badge_server.store.db import transaction
from badge_server.store.models import App
from tests.support.api import sign_in
from tests.support.browser import js_errors, new_page
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.stub_app import StubApp

JOSE = "st-0001"


@pytest.fixture
def stub_app(district: District) -> Iterator[StubApp]:
    app = StubApp()
    with transaction(district.runtime.factory) as session:
        session.add(App(id="stub", name="Stub", launch_url=f"{app.url}/start", color="#123456", position=99))
    yield app
    app.close()


def test_the_kiosks_browser_lands_on_the_app_signed_in_and_a_second_use_is_a_kind_page(
    chromium: Browser,
    server: LoopbackServer,
    district: District,
    stub_app: StubApp,
    look_at: Callable[..., Any],
) -> None:
    with httpx.Client(base_url=server.url) as kiosk:
        session_token = sign_in(kiosk, district.device_token, district.payloads[JOSE])
        url = kiosk.post(
            "/api/v1/handoff",
            json={"app_id": "stub"},
            headers={"Authorization": f"Bearer {session_token}", "X-Device-Token": district.device_token},
        ).json()["url"]
    context, page = new_page(chromium, server)  # a fresh profile, as the kiosk's browser command makes
    try:
        page.goto(url)
        page.wait_for_url(f"{stub_app.url}/start")
        assert stub_app.reached[0] == "/start"  # (then perhaps /favicon.ico)
        (cookie,) = [c for c in context.cookies(server.url) if c["name"] == "badge_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["value"] != session_token
        page.goto(f"{server.url}/dashboard")
        expect(page.locator("h1")).to_have_text("Hi, José!")  # the browser has José's session
        page.goto(url)  # the same link again: spent
        expect(page.get_by_role("alert")).to_contain_text("Go back to the kiosk and tap your app again.")
        assert look_at(page, "handoff-used") == []
        assert js_errors(page) == []
    finally:
        context.close()
