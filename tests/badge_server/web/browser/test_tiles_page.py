"""Arranging the dashboard by touch in real Chromium, as a child on a tablet does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.support.api import exchange
from tests.support.browser import js_errors, new_page
from tests.support.district import District
from tests.support.servers import LoopbackServer

JOSE = "st-0001"
TABLET = {"viewport": {"width": 800, "height": 1280}, "has_touch": True}


def open_dashboard(page: Page, server: LoopbackServer, district: District) -> None:
    with httpx.Client(base_url=server.url) as kiosk:
        launch_url = exchange(kiosk, district.device_token, district.payloads[JOSE]).json()["launch_url"]
    page.context.add_cookies([{"name": "badge_device", "value": district.device_token, "url": server.url}])
    page.goto(launch_url)
    page.wait_for_url("**/dashboard")


def tile_names(page: Page) -> list[str]:
    return page.locator("#tiles .tile .name").all_text_contents()


def test_a_child_moves_and_hides_tiles_by_touch_and_finds_them_so_next_time(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    context, page = new_page(chromium, server, **TABLET)
    try:
        open_dashboard(page, server, district)
        before = tile_names(page)
        assert before[:2] == ["Khan Academy Kids", "Starfall"]
        page.get_by_role("button", name="Arrange").tap()
        assert look_at(page, "arranging") == []
        page.get_by_role("button", name="Move Khan Academy Kids later").tap()
        page.get_by_role("button", name="Hide PBS KIDS Games").tap()
        expect(page.get_by_role("button", name="Show PBS KIDS Games")).to_be_visible()
        page.locator("#tiles .tile", has_text="Starfall").tap()  # arranging: a tap opens nothing
        assert page.url.endswith("/dashboard")
        with page.expect_navigation():  # saved on the server, then the page reloads from it
            page.get_by_role("button", name="Done").tap()
        expect(page.locator("#tiles .tile .name").first).to_have_text("Starfall")
        after = tile_names(page)
        assert after[:2] == ["Starfall", "Khan Academy Kids"] and "PBS KIDS Games" not in after
        assert look_at(page, "arranged") == []
        assert js_errors(page) == []
    finally:
        context.close()
    context, page = new_page(chromium, server, **TABLET)  # another day: a new sign-in
    try:
        open_dashboard(page, server, district)
        assert tile_names(page) == after
    finally:
        context.close()
