"""The browser badge scanner (/scan) in real Chromium with a fake webcam playing a video made
from a real printed badge: enrol the browser, read the badge, land on that student's dashboard."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, expect

from badge_server import badges, devices
from badge_server.store.db import transaction
from badge_server.store.models import Device, Person, StudentSession
from kiosk_client.frames import write_badge_y4m
from tests.support.browser import js_errors, launch_chromium, new_page
from tests.support.district import District
from tests.support.pdf import printed_badge
from tests.support.servers import LoopbackServer

JOSE = "st-0001"  # José García, Kindergarten, Maple Street


def enroll_code(district: District) -> str:
    with transaction(district.runtime.factory) as session:
        return devices.create_enroll_code(session, "s-maple", minutes=5, actor="test").code


@pytest.fixture
def camera_page(
    playwright: Playwright, server: LoopbackServer, tmp_path: Path
) -> Iterator[Callable[..., tuple[Page, list[Request]]]]:
    """A page in a Chromium whose webcam plays a badge scene; also every request the page made."""
    browsers: list[Browser] = []

    def open_with(payload: str, name: str = "José García", brightness: float = 1.0) -> tuple[Page, list[Request]]:
        video = tmp_path / f"camera-{len(browsers)}.y4m"
        card = printed_badge(payload, name)
        write_badge_y4m(str(video), card=card, empty_seconds=0.5, held_seconds=2.5, brightness=brightness)
        browser = launch_chromium(playwright, camera=video)
        browsers.append(browser)
        _, page = new_page(browser, server)
        sent: list[Request] = []
        page.on("request", lambda request: sent.append(request))
        return page, sent

    yield open_with
    for browser in browsers:
        browser.close()


def enrol(page: Page, code: str, name: str = "Room 4 Chromebook") -> None:
    page.goto("/scan/enrol")  # where IT sets a scanner up (plain /scan is a family's device)
    expect(page.locator("#enroll-panel")).to_be_visible()
    page.fill("#enroll-code", code)
    page.fill("#enroll-name", name)
    page.get_by_role("button", name="Set up").click()
    expect(page.locator("#enroll-panel")).to_be_hidden()
    expect(page.locator("#device-name")).to_contain_text(name)  # the token is proven and the cookie set


def test_a_chromebook_is_enrolled_then_reads_a_printed_badge_and_lands_on_the_dashboard(
    camera_page: Callable[..., tuple[Page, list[Request]]], district: District, look_at: Callable[..., Any]
) -> None:
    page, sent = camera_page(district.payloads[JOSE])
    page.goto("/scan/enrol")
    expect(page.locator("#enroll-panel")).to_be_visible()
    assert look_at(page, "enrol") == []
    enrol(page, enroll_code(district))
    # The fake camera plays the printed badge; the page decodes it itself and exchanges it.
    expect(page.locator("#welcome-text")).to_have_text("Hi, José!", timeout=20_000)
    # zxing-cpp as WebAssembly, in a Web Worker, read the badge (not BarcodeDetector, not jsQR).
    assert page.locator("#scanner").get_attribute("data-decoder") == "zxing-wasm"
    assert look_at(page, "welcome") == []
    page.wait_for_url("**/dashboard", timeout=10_000)
    expect(page.locator("h1")).to_have_text("Hi, José!")
    expect(page.locator(".tile", has_text="Starfall")).to_be_visible()

    exchanges = [r for r in sent if r.url.endswith("/api/v1/exchange")]
    assert len(exchanges) == 1, "one badge held still is one exchange"
    assert json.loads(exchanges[0].post_data or "") == {"badge": district.payloads[JOSE]}
    # Never uploads frames: no request carries more than a few hundred bytes.
    assert max(len(r.post_data_buffer or b"") for r in sent) < 300
    loaded = [r.url for r in sent]
    assert any(u.endswith("/static/scan-worker.js") for u in loaded)
    assert any(u.endswith("/static/vendor/zxing_reader.wasm") for u in loaded), "the .wasm comes from this server"
    assert all(u.startswith(page.url.split("/dashboard")[0]) for u in loaded), "nothing from a CDN"
    assert js_errors(page) == []

    with transaction(district.runtime.factory) as session:
        device = session.query(Device).filter_by(name="Room 4 Chromebook").one()
        assert device.school_id == "s-maple" and "Chrome" in (device.software or "")


def test_the_enrolment_survives_a_restart_and_a_replaced_badge_is_told_to_ask_the_teacher(
    camera_page: Callable[..., tuple[Page, list[Request]]], district: District, look_at: Callable[..., Any]
) -> None:
    old = district.payloads[JOSE]
    with transaction(district.runtime.factory) as session:
        person = session.get(Person, JOSE)
        assert person is not None
        badges.replace(session, district.runtime.keys, district.runtime.settings, person, actor="test")
    page, sent = camera_page(old)
    enrol(page, enroll_code(district))
    page.context.clear_cookies()  # a cleared cookie is renewed from the token in storage
    page.reload()
    expect(page.locator("#status-text")).to_have_text("This badge was replaced. Ask your teacher", timeout=20_000)
    assert page.locator("#scanner").get_attribute("data-state") == "replaced"
    assert look_at(page, "replaced") == []
    assert page.url.endswith("/scan")
    assert [r for r in sent if r.url.endswith("/api/v1/exchange")]


def test_a_qr_code_that_is_not_a_badge_is_never_sent(
    camera_page: Callable[..., tuple[Page, list[Request]]], district: District
) -> None:
    page, sent = camera_page("https://pbskids.org/games")
    enrol(page, enroll_code(district))
    expect(page.locator("#scanner")).to_have_attribute("data-state", "not_a_badge", timeout=20_000)
    expect(page.locator("#status-text")).to_have_text("That's not a login badge")
    assert not [r for r in sent if "/api/v1/exchange" in r.url]


def test_a_wrong_enrolment_code_says_so_and_a_computer_without_a_camera_says_ask_a_grown_up(
    chromium: Browser, server: LoopbackServer, district: District
) -> None:
    context, page = new_page(chromium, server)  # this Chromium has no camera at all
    try:
        page.goto("/scan/enrol")
        page.fill("#enroll-code", "AAAAA-BBBBB")
        page.fill("#enroll-name", "Library PC")
        page.get_by_role("button", name="Set up").click()
        expect(page.locator("#enroll-error")).to_contain_text("enrolment code")
        enrol(page, enroll_code(district), "Library PC")
        expect(page.locator("#scanner")).to_have_attribute("data-state", "no_camera")
        expect(page.locator("#status-text")).to_have_text("No camera. Ask a grown-up")
    finally:
        context.close()


def test_a_denied_camera_permission_says_how_to_fix_it(
    playwright: Playwright, server: LoopbackServer, district: District, tmp_path: Path, look_at: Callable[..., Any]
) -> None:
    video = tmp_path / "camera.y4m"
    write_badge_y4m(str(video), payload=district.payloads[JOSE], empty_seconds=0.2, held_seconds=0.2)
    browser = launch_chromium(playwright, camera=video, allow_camera=False)
    try:
        _, page = new_page(browser, server)
        enrol(page, enroll_code(district), "Library PC")
        expect(page.locator("#permission-panel")).to_be_visible()
        expect(page.locator("#permission-panel")).to_contain_text("VideoCaptureAllowedUrls")
        assert page.locator("#scanner").get_attribute("data-state") == "no_permission"
        assert look_at(page, "no-permission") == []
    finally:
        browser.close()


def test_a_disabled_scanner_asks_to_be_enrolled_again(
    chromium: Browser, server: LoopbackServer, district: District
) -> None:
    context, page = new_page(chromium, server)
    try:
        enrol(page, enroll_code(district), "Cart 2")
        with transaction(district.runtime.factory) as session:
            device = session.query(Device).filter_by(name="Cart 2").one()
            devices.disable_device(session, device.id, actor="test")
        page.reload()
        expect(page.locator("#enroll-error")).to_contain_text("no longer set up")
        assert page.evaluate("() => localStorage.getItem('badgeDeviceToken')") is None
    finally:
        context.close()


def test_a_dark_room_is_told_to_turn_on_a_light(
    camera_page: Callable[..., tuple[Page, list[Request]]], district: District
) -> None:
    page, _ = camera_page(district.payloads[JOSE], brightness=0.12)
    enrol(page, enroll_code(district))
    expect(page.locator("#scanner")).to_have_attribute("data-state", "too_dark", timeout=10_000)
    expect(page.locator("#status-text")).to_have_text("Too dark. Turn on a light")


def test_a_family_laptop_signs_in_at_home_and_lands_on_the_dashboard(
    camera_page: Callable[..., tuple[Page, list[Request]]], district: District, look_at: Callable[..., Any]
) -> None:
    """Never enrolled, no set-up: the page reads the printed badge and signs in at home."""
    page, sent = camera_page(district.payloads[JOSE])
    page.goto("/scan")
    expect(page.get_by_role("button", name="Setting up a school scanner?")).to_be_visible()
    expect(page.locator("#enroll-panel")).to_be_hidden()
    expect(page.locator("#welcome-text")).to_have_text("Hi, José!", timeout=20_000)
    assert look_at(page, "home-welcome") == []
    page.wait_for_url("**/dashboard", timeout=10_000)
    expect(page.locator("h1")).to_have_text("Hi, José!")
    homes = [r for r in sent if r.url.endswith("/scan/home")]
    assert len(homes) == 1 and json.loads(homes[0].post_data or "") == {"badge": district.payloads[JOSE]}
    assert not [r for r in sent if "/api/v1/exchange" in r.url]
    assert js_errors(page) == []
    with transaction(district.runtime.factory) as session:
        assert [s.client for s in session.query(StudentSession)] == ["home"]


def test_where_the_district_keeps_badges_at_school_the_page_says_so_kindly(
    camera_page: Callable[..., tuple[Page, list[Request]]], district: District, look_at: Callable[..., Any]
) -> None:
    from badge_server import home_sign_in

    with transaction(district.runtime.factory) as session:
        home_sign_in.set_policy(
            session, "d-riverside", home_sign_in=False, home_grades=None, home_pin_grades=None, actor="test"
        )
    page, sent = camera_page(district.payloads[JOSE])
    page.goto("/scan")
    expect(page.locator("#status-text")).to_have_text("Badges don't work at home here. Use your password")
    expect(page.get_by_role("link", name="No camera? Use my username and password")).to_be_visible()
    assert look_at(page, "home-off") == []
    # The camera is not even opened: nothing a badge shows could be sent.
    assert page.evaluate("() => document.getElementById('camera').srcObject === null")
    assert not [r for r in sent if r.url.endswith("/scan/home") or "/api/v1/exchange" in r.url]


def test_in_an_arabic_browser_the_scanner_speaks_arabic_right_to_left(
    playwright: Playwright, server: LoopbackServer, district: District, tmp_path: Path, look_at: Callable[..., Any]
) -> None:
    video = tmp_path / "camera.y4m"
    write_badge_y4m(str(video), card=printed_badge(district.payloads[JOSE], "José García"), empty_seconds=2.0,
                    held_seconds=2.5)  # fmt: skip
    browser = launch_chromium(playwright, camera=video)
    try:
        _, page = new_page(browser, server, locale="ar-EG")
        page.goto("/scan")
        expect(page.locator("#status-text")).to_have_text("اعرض بطاقتك", timeout=10_000)
        assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["rtl", "ar"]
        assert look_at(page, "arabic-ready") == []
        expect(page.locator("#welcome-text")).to_have_text("مرحبًا يا José!", timeout=20_000)
        assert look_at(page, "arabic-welcome") == []
        # On to the dashboard, in Arabic too (issue 18: a Spanish welcome once led to an English dashboard).
        page.wait_for_url("**/dashboard", timeout=10_000)
        expect(page.locator("h1")).to_have_text("مرحبًا يا José!")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        expect(page.get_by_role("button", name="خروج")).to_be_visible()
        page.get_by_role("button", name="ترتيب").click()
        expect(page.get_by_role("button", name="إخفاء Starfall")).to_be_visible()
        expect(page.get_by_role("button", name="تقديم Starfall")).to_have_text("▶")  # earlier is to the right
        assert look_at(page, "arabic-dashboard-arranging") == []
        assert js_errors(page) == []
    finally:
        browser.close()
