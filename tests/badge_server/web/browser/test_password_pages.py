"""The password pages in real Chromium, as a child on a family laptop without a camera uses them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, expect

from tests.support.browser import js_errors, new_page
from tests.support.district import District
from tests.support.passwords import give
from tests.support.servers import LoopbackServer


def test_a_child_types_a_username_and_password_and_lands_on_the_dashboard(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    password = give(district, "st-0001")
    context, page = new_page(chromium, server)
    try:
        errors = js_errors(page)
        page.goto("/scan")
        page.get_by_role("link", name="No camera? Use my username and password").click()
        page.wait_for_url("**/sign-in/password")
        assert look_at(page, "empty") == []
        page.get_by_label("Your username or student number").fill("s00002")
        page.get_by_label("Your password").fill("not it")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("That's not right. Try again.")
        expect(page.get_by_label("Your username or student number")).to_have_value("s00002")
        assert look_at(page, "wrong") == []
        page.get_by_label("Your password").fill(password)
        page.get_by_label("Show my password").check()
        expect(page.get_by_label("Your password")).to_have_attribute("type", "text")  # a child checks the typing
        assert look_at(page, "shown") == []
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard")
        expect(page.locator("h1")).to_have_text("Hi, José!")
        assert errors == []
    finally:
        context.close()
