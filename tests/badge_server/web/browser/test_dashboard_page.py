"""The student web dashboard in real Chromium: name and picture, big tiles, sign-out, idle time-out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from badge_server.store.db import transaction
from badge_server.store.models import StudentSession
from tests.support.api import exchange
from tests.support.browser import js_errors, new_page
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # José García, Kindergarten


def open_dashboard(chromium: Browser, server: LoopbackServer, district: District) -> tuple[BrowserContext, Page]:
    """What the scanner page does after a read: the launch link, on the enrolled device."""
    with httpx.Client(base_url=server.url) as kiosk:
        launch_url = exchange(kiosk, district.device_token, district.payloads[JOSE]).json()["launch_url"]
    context, page = new_page(chromium, server)
    context.add_cookies([{"name": "badge_device", "value": district.device_token, "url": server.url}])
    page.clock.install()
    page.goto(launch_url)
    page.wait_for_url("**/dashboard")
    return context, page


def end_reasons(district: District) -> list[str | None]:
    with transaction(district.runtime.factory) as session:
        return [s.end_reason for s in session.scalars(select(StudentSession))]


def test_the_dashboard_shows_the_student_and_big_tiles_and_signs_out_back_to_the_scanner(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    context, page = open_dashboard(chromium, server, district)
    try:
        expect(page.locator("h1")).to_have_text("Hi, José!")
        expect(page.get_by_role("img", name="José García")).to_have_text("JG")
        tiles = page.locator(".tile")
        assert tiles.count() >= 3
        box = tiles.first.bounding_box()
        assert box and box["width"] >= 150 and box["height"] >= 150, "tiles a small hand can hit"
        expect(page.locator(".tile", has_text="Scratch")).to_have_count(0)  # Scratch is for grades 3-5
        assert look_at(page, "dashboard") == []
        page.set_viewport_size({"width": 800, "height": 1280})  # a tablet held upright
        assert look_at(page, "dashboard-tablet") == []
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/scan")
        assert end_reasons(district) == ["logout"]
        page.goto("/dashboard")
        assert page.url.endswith("/scan"), "the back button shows nobody's apps"
        # A browser that is not a scanner gets a goodbye page. Leave the scanner page first: its
        # script proves the device (and sets the device cookie again) as it starts.
        page.goto("about:blank")
        page.context.clear_cookies()
        page.goto(f"{server.url}/dashboard")
        expect(page.locator("h1")).to_have_text("Bye! You are signed out.")
        assert look_at(page, "signed-out") == []
        assert js_errors(page) == []
    finally:
        context.close()


def test_an_untouched_dashboard_asks_still_here_then_signs_out(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    context, page = open_dashboard(chromium, server, district)
    try:
        idle = district.runtime.settings.dashboard_idle_seconds
        page.clock.run_for((idle - 25) * 1000)
        expect(page.locator("#still-here")).to_be_hidden()
        page.mouse.click(5, 700)  # a touch restarts the count
        page.clock.run_for((idle - 10) * 1000)
        expect(page.get_by_role("alertdialog")).to_contain_text("Still here, José?")
        assert look_at(page, "still-here") == []
        page.get_by_role("button", name="Yes!").click()
        expect(page.locator("#still-here")).to_be_hidden()
        assert end_reasons(district) == [None]
        page.clock.run_for((idle + 5) * 1000)
        page.wait_for_url("**/scan")
        assert end_reasons(district) == ["idle"]
    finally:
        context.close()
