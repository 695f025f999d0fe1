"""A teacher's "Sign in with Google", in real Chromium, across two sites: the console at 127.0.0.1,
the district's provider at localhost (tests/support/district_idp.py). The console's session cookie
is SameSite=Strict, which a browser withholds on a redirect that a cross-site page started: this
proves the teacher really lands in the console, not back at its login page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Playwright, expect

from badge_server.runtime import Runtime
from badge_server.settings import Settings
from kiosk_client.frames import write_badge_y4m
from tests.support.browser import js_errors, launch_chromium, new_page
from tests.support.district import build_district
from tests.support.district_idp import district_idp
from tests.support.pdf import printed_badge
from tests.support.servers import LoopbackServer, free_port
from tests.support.staff import add_staff

RIVERA_AT_PROVIDER = "st-0001"  # the badge that stands for Lucía Rivera's Google password


def test_sign_in_with_the_districts_account_lands_the_teacher_in_the_console(
    playwright: Playwright,
    settings: Settings,
    sqlite_template: Path,
    tmp_path: Path,
    look_at: Callable[..., list[dict[str, Any]]],
) -> None:
    port = free_port()
    with district_idp(tmp_path, sqlite_template, f"http://127.0.0.1:{port}") as idp:
        runtime = Runtime.start(idp.staff_settings(settings))
        try:
            add_staff(build_district(runtime), "lrivera", "teacher", person_id="t-rivera")
            video = tmp_path / "camera.y4m"
            card = printed_badge(idp.district.payloads[RIVERA_AT_PROVIDER], "Lucía Rivera")
            write_badge_y4m(str(video), card=card, empty_seconds=1.0, held_seconds=2.5)
            browser = launch_chromium(playwright, camera=video)
            with LoopbackServer(runtime, port=port) as console, browser:
                _, page = new_page(browser, console)
                page.goto("/staff/login")
                assert look_at(page, "login") == []
                page.get_by_role("link", name="Sign in with Riverside Google").click()
                page.wait_for_url(lambda url: url.startswith(f"{idp.issuer}/scan"))
                page.wait_for_url(f"{console.url}/staff/classes", timeout=30_000)
                expect(page.locator("h1")).to_contain_text("classes")
                expect(page.get_by_role("button", name="Sign out")).to_be_visible()
                assert look_at(page, "classes") == []
                assert js_errors(page) == []
        finally:
            runtime.engine.dispose()
