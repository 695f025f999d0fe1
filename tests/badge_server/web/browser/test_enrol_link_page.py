"""A cart of Chromebooks enrolled with one link, in real Chromium: the link enrols the scanner page
(the next numbered name), which then reads a printed badge from a fake camera and signs the
student in; a revoked link says so kindly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, expect
from sqlalchemy import select

from badge_server import devices, enrol_links
from badge_server.store.db import transaction
from badge_server.store.models import Device
from badge_server.store.sso_models import EnrolLink
from kiosk_client.frames import write_badge_y4m
from tests.support.api import audit_count
from tests.support.browser import js_errors, launch_chromium, new_page
from tests.support.district import District
from tests.support.pdf import printed_badge
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # José García, Kindergarten, Maple Street


def make_link(district: District, server: LoopbackServer, uses: int = 30) -> enrol_links.EnrolLinkGrant:
    with transaction(district.runtime.factory) as session:
        return enrol_links.create_link(
            session, "s-maple", server.url, actor="test", max_uses=uses, name_prefix="Cart A"
        )


def uses_of(district: District, link_id: str) -> int:
    with transaction(district.runtime.factory) as session:
        link = session.get(EnrolLink, link_id)
        assert link is not None
        return link.uses


@pytest.fixture
def badge_camera(playwright: Playwright, tmp_path: Path) -> Iterator[Callable[[str], Browser]]:
    """A Chromium whose webcam shows this printed badge."""
    browsers: list[Browser] = []

    def launch(payload: str) -> Browser:
        video = tmp_path / f"camera-{len(browsers)}.y4m"
        write_badge_y4m(str(video), card=printed_badge(payload, "José García"), empty_seconds=0.5, held_seconds=2.5)
        browsers.append(launch_chromium(playwright, camera=video))
        return browsers[-1]

    yield launch
    for browser in browsers:
        browser.close()


def test_opening_the_link_enrols_the_page_which_then_signs_a_student_in(
    badge_camera: Callable[[str], Browser], server: LoopbackServer, district: District
) -> None:
    grant = make_link(district, server)
    token = grant.url.split("#")[1]
    _, page = new_page(badge_camera(district.payloads[JOSE]), server)
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    page.goto(grant.url)
    expect(page.locator("#device-name")).to_have_text("Cart A 1 · Maple Street Elementary")
    assert page.url == f"{server.url}/scan"  # the token left the address bar (and history)
    expect(page.locator("#welcome-text")).to_have_text("Hi, José!", timeout=20_000)
    page.wait_for_url("**/dashboard", timeout=10_000)
    expect(page.locator("h1")).to_have_text("Hi, José!")

    # The token travelled once, in a POST body: never in a URL the server logs, nor a Referer.
    assert [r.url for r in sent if token in (r.post_data or "")] == [f"{server.url}/scan/enrol-link"]
    assert not [r for r in sent if token in r.url or token in (r.headers.get("referer") or "")]
    assert js_errors(page) == []
    assert uses_of(district, grant.link_id) == 1
    assert audit_count(district.runtime, "enrol_link.use", "ok") == 1


def test_a_second_chromebook_gets_the_next_name_and_a_reopened_link_spends_nothing(
    chromium: Browser, server: LoopbackServer, district: District
) -> None:
    grant = make_link(district, server)
    contexts: list[BrowserContext] = []
    try:
        pages: list[Page] = []
        for number in (1, 2):
            context, page = new_page(chromium, server)  # no camera: enrolled, then "No camera"
            contexts.append(context)
            pages.append(page)
            page.goto(grant.url)
            expect(page.locator("#device-name")).to_have_text(f"Cart A {number} · Maple Street Elementary")
        first = pages[0]
        # The sign-in screen URL opened again after a reboot: the same scanner, no use spent.
        first.goto(grant.url)
        expect(first.locator("#device-name")).to_have_text("Cart A 1 · Maple Street Elementary")
        assert uses_of(district, grant.link_id) == 2
        # Storage wiped but the 400-day cookie kept (or the reverse): still the same scanner.
        first.evaluate("() => localStorage.clear()")
        first.goto("/scan")
        expect(first.locator("#device-name")).to_have_text("Cart A 1 · Maple Street Elementary")
        second = pages[1]
        second.context.clear_cookies()
        second.goto("/scan")
        expect(second.locator("#device-name")).to_have_text("Cart A 2 · Maple Street Elementary")
        assert any(c["name"] == "badge_device" for c in second.context.cookies())  # renewed
        assert uses_of(district, grant.link_id) == 2
    finally:
        for context in contexts:
            context.close()


def test_a_revoked_link_says_so_kindly_and_offers_the_code(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    grant = make_link(district, server)
    with transaction(district.runtime.factory) as session:
        enrol_links.revoke_link(session, grant.link_id, actor="test")
    context, page = new_page(chromium, server)
    try:
        page.goto(grant.url)
        expect(page.locator("#enroll-error")).to_have_text(
            "This set-up link was turned off by IT. Ask IT for a new one."
        )
        expect(page.locator("#enroll-panel")).to_be_visible()
        expect(page.locator("#scanner")).to_have_attribute("data-state", "not_enrolled")
        assert look_at(page, "revoked-link") == []
        assert page.evaluate("() => localStorage.getItem('badgeDeviceToken')") is None
        assert audit_count(district.runtime, "enrol_link.use", "enrol_link_not_accepted") == 1
    finally:
        context.close()


def test_a_used_up_link_says_how_many_it_set_up(chromium: Browser, server: LoopbackServer, district: District) -> None:
    grant = make_link(district, server, uses=1)
    contexts = [new_page(chromium, server) for _ in range(2)]
    try:
        contexts[0][1].goto(grant.url)
        expect(contexts[0][1].locator("#device-name")).to_contain_text("Cart A 1")
        contexts[1][1].goto(grant.url)
        expect(contexts[1][1].locator("#enroll-error")).to_contain_text("already set up 1 computers")
    finally:
        for context, _ in contexts:
            context.close()


def test_an_admin_makes_a_link_in_the_console_a_chromebook_uses_it_then_the_admin_revokes_it(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any], tmp_path: Path
) -> None:
    from tests.badge_server.web.browser.test_console_pages import sign_in_setting_up_totp
    from tests.support.staff import add_staff

    add_staff(district, "it-admin", "district_admin")
    context, admin = new_page(chromium, server)
    scanner_context, scanner = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(admin, "it-admin")
        admin.goto("/staff/admin/devices")
        admin.get_by_label("Cart belongs to").select_option(label="Maple Street Elementary")
        admin.get_by_label("Name the devices").fill("Cart 3B")
        admin.get_by_label("How many devices").fill("2")
        admin.get_by_role("button", name="Make a link").click()
        url = admin.locator("#enrol-link-url").input_value()
        expect(admin.locator("#enrol-link-qr svg")).to_be_visible()
        expect(admin.get_by_role("row", name="Cart 3B")).to_contain_text("2 of 2")
        admin.get_by_role("button", name="Copy the link").click()
        expect(admin.get_by_role("button", name="Copied")).to_be_visible()
        assert look_at(admin, "link-made") == []
        admin.emulate_media(media="print")  # the set-up sheet: the QR code and little else
        expect(admin.locator("header")).to_be_hidden()
        expect(admin.get_by_role("button", name="Make a link")).to_be_hidden()
        expect(admin.locator("#enrol-link-qr svg")).to_be_visible()
        admin.screenshot(path=str(tmp_path / "set-up-sheet.png"))
        admin.emulate_media(media="screen")

        scanner.goto(url)
        expect(scanner.locator("#device-name")).to_have_text("Cart 3B 1 · Maple Street Elementary")
        admin.goto("/staff/admin/devices")
        expect(admin.get_by_role("row", name="Cart 3B 1, 2")).to_contain_text("1 of 2")
        expect(admin.get_by_role("row", name="Cart 3B 1 Maple")).to_contain_text("active")
        admin.once("dialog", lambda dialog: dialog.accept())
        admin.get_by_role("button", name="Revoke the link for Cart 3B").click()
        expect(admin.get_by_role("status")).to_contain_text("is revoked")
        expect(admin.get_by_role("row", name="Cart 3B 1, 2")).to_contain_text("revoked")
        assert look_at(admin, "link-revoked") == []
        assert js_errors(admin) == [] and js_errors(scanner) == []
    finally:
        scanner_context.close()
        context.close()


def test_at_a_sign_in_screen_holding_the_links_qr_code_to_the_camera_enrols_it(
    playwright: Playwright, server: LoopbackServer, district: District, tmp_path: Path
) -> None:
    """Where nobody can open a link (a Chromebook's sign-in screen shows only the IdP page), the
    unenrolled scanner reads the set-up sheet's QR code itself; after that the same code is just
    'not a badge', never sent anywhere."""
    grant = make_link(district, server)
    video = tmp_path / "setup-sheet.y4m"
    write_badge_y4m(str(video), width=1280, height=720, payload=grant.url, empty_seconds=0.5, held_seconds=2.5)
    browser = launch_chromium(playwright, camera=video)
    try:
        _, page = new_page(browser, server)
        sent: list[Request] = []
        page.on("request", lambda request: sent.append(request))
        page.goto("/scan")  # the sign-in screen URL: not a scanner yet, so at first a "home" page
        expect(page.locator("#device-name")).to_have_text("Cart A 1 · Maple Street Elementary", timeout=20_000)
        expect(page.locator("#scanner")).to_have_attribute("data-state", "not_a_badge", timeout=20_000)
        assert uses_of(district, grant.link_id) == 1
        assert len([r for r in sent if r.url.endswith("/scan/enrol-link")]) == 1
        assert not [r for r in sent if "/api/v1/exchange" in r.url]
        assert js_errors(page) == []
    finally:
        browser.close()


def test_a_scanner_an_admin_disabled_is_not_re_enrolled_by_its_link_opened_again(
    chromium: Browser, server: LoopbackServer, district: District
) -> None:
    grant = make_link(district, server)
    context, page = new_page(chromium, server)
    try:
        page.goto(grant.url)
        expect(page.locator("#device-name")).to_have_text("Cart A 1 · Maple Street Elementary")
        with transaction(district.runtime.factory) as session:
            device = session.scalars(select(Device).where(Device.name == "Cart A 1")).one()
            devices.disable_device(session, device.id, actor="test")
        page.goto(grant.url)  # e.g. the sign-in screen URL pushed again after a reboot
        expect(page.locator("#enroll-error")).to_contain_text("no longer set up")
        assert uses_of(district, grant.link_id) == 1
    finally:
        context.close()
