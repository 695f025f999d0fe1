"""The staff console in Arabic, in real Chromium: a district admin whose browser asks for Arabic
signs in (second factor and all) with the Arabic words, and every page reads right to left,
fits the window, passes axe-core and has no script error. The screenshots are for a person to
look at (BADGE_SCREENSHOT_DIR keeps them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from badge_server.contract.words import catalogue
from tests.badge_server.web.console.test_console_language import ADMIN_PAGES
from tests.support.browser import js_errors, new_page
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import PASSWORD, add_staff

pytestmark = pytest.mark.runs_long(30)

ARABIC = catalogue("ar").gettext


def test_every_console_page_in_arabic_reads_right_to_left_and_fits(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    add_staff(district, "it-admin", "district_admin")
    context, page = new_page(chromium, server, locale="ar")
    try:
        page.goto("/staff/login")
        assert look_at(page, "login") == []
        page.get_by_label(ARABIC("Username")).fill("it-admin")
        page.get_by_label(ARABIC("Password")).fill(PASSWORD)
        page.get_by_role("button", name=ARABIC("Sign in")).click()
        expect(page.get_by_role("heading", name=ARABIC("Set up two-step sign-in"))).to_be_visible()
        secret = page.locator("code.big").text_content() or ""
        page.get_by_label(ARABIC("6-digit code"), exact=True).fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name=ARABIC("Turn on")).click()
        expect(page.get_by_role("heading", name=ARABIC("Your recovery codes"))).to_be_visible()
        for path in ADMIN_PAGES:
            page.goto(path)
            assert page.evaluate("document.documentElement.dir") == "rtl", path
            # Nothing pushed past the window's edge by the mirrored layout.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
            assert look_at(page, path.strip("/").replace("/", "-")) == [], path
        assert js_errors(page) == []
    finally:
        context.close()
