"""The staff console in real Chromium, as a teacher and an admin use it: TOTP sign-in, print a
class set (the PDF downloads and its codes decode), replace a badge, a temporary code read off
the screen, scoping by URL, device enrolment, the app catalog, the audit log, roster upload."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pyotp
import pytest
import zxingcpp
from playwright.sync_api import Browser, Page, expect

from badge_printing import BUILT_IN
from badge_server.settings import Settings
from badge_server.staff import create_staff
from badge_server.store.db import transaction
from badge_server.store.models import Device, Person
from tests.support.api import error_code, exchange, sign_in
from tests.support.browser import js_errors, new_page
from tests.support.database import DEMO_ROSTER
from tests.support.district import District
from tests.support.pdf import payloads_by_label
from tests.support.servers import LoopbackServer

pytestmark = pytest.mark.runs_long(36)

PASSWORD = "correct horse battery staple"
JOSE = "st-0001"
KINDERGARTEN = [f"st-{n:04d}" for n in range(1, 11)]  # Ms. Rivera's class


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"teacher_mfa_required": True})


def add_staff(district: District, username: str, role: str, **where: str) -> None:
    with transaction(district.runtime.factory) as session:
        create_staff(session, username, PASSWORD, role, actor="test", **where)


def sign_in_setting_up_totp(page: Page, username: str, look_at: Callable[..., Any] | None = None) -> None:
    page.goto("/staff/login")
    if look_at:
        assert look_at(page, "login") == []
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    if look_at:
        assert look_at(page, "totp-setup") == []
    secret = page.locator("code.big").text_content() or ""
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator("li code.big").count() == 8
    if look_at:
        assert look_at(page, "recovery-codes") == []
    page.get_by_role("link", name="Continue to my classes").click()


def download(page: Page, click: Callable[[], None]) -> bytes:
    with page.expect_download() as info:
        click()
    return Path(info.value.path()).read_bytes()


def test_a_teacher_prints_replaces_and_makes_a_temporary_code(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    context, page = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(page, "lrivera", look_at)
        assert look_at(page, "my-classes") == []
        page.get_by_role("link", name="Kindergarten – Ms. Rivera", exact=True).click()
        expect(page.locator("tbody tr")).to_have_count(10)
        assert look_at(page, "class-roster") == []

        # A look at the first sheet first, then print the class set on Avery 5395 from there: the PDF
        # downloads and every code on it decodes.
        page.get_by_label("Label stock").select_option("avery-5395")
        page.get_by_role("button", name="Preview the first sheet").click()
        expect(page.get_by_role("heading", name="Before you print")).to_be_visible()
        expect(page.get_by_role("img", name=re.compile(r"The first sheet: 8 badges on .*Avery 5395"))).to_be_visible()
        assert look_at(page, "print-preview") == []
        pdf = download(page, lambda: page.get_by_role("button", name="Print the class set (PDF)").click())
        page.get_by_role("link", name="Kindergarten – Ms. Rivera").click()
        template = BUILT_IN["avery-5395"]
        printed = set(payloads_by_label(pdf, 1, template, 150).values()) | set(
            payloads_by_label(pdf, 2, template, 150).values()
        )
        assert printed == {district.payloads[p] for p in KINDERGARTEN}

        # A lost badge: replace it (with the confirmation), then print the new one alone.
        page.get_by_role("row", name="José García").get_by_role("link").click()
        assert look_at(page, "student") == []
        page.get_by_label("I understand: the old badge stops working now").check()
        page.get_by_role("button", name="Replace the badge").click()
        expect(page.get_by_role("status")).to_contain_text("The old badge no longer works")
        new_pdf = download(page, lambda: page.get_by_role("button", name="Print (PDF)").click())
        (new_badge,) = payloads_by_label(new_pdf, 1, BUILT_IN["square-2in-letter"], 150).values()
        with httpx.Client(base_url=server.url) as kiosk:
            assert error_code(exchange(kiosk, district.device_token, district.payloads[JOSE])) == "badge_replaced"
            assert exchange(kiosk, district.device_token, new_badge).status_code == 200

        # Forgot the badge today: the code on the screen signs José in.
        page.get_by_role("button", name="Make a temporary code for today").click()
        expect(page.locator("#left")).to_contain_text("minutes left")
        assert look_at(page, "temporary-code") == []
        shot = np.frombuffer(page.locator("#temporary-code").screenshot(), np.uint8)
        (read,) = zxingcpp.read_barcodes(cv2.imdecode(shot, cv2.IMREAD_GRAYSCALE))
        with httpx.Client(base_url=server.url) as kiosk:
            answer = exchange(kiosk, district.device_token, read.text)
            assert answer.status_code == 200 and answer.json()["user"]["display_name"] == "José García"

        # The class's day: José signed in with his new badge, and his old one was held up once.
        with httpx.Client(base_url=server.url) as kiosk:
            sign_in(kiosk, district.device_token, new_badge)
        page.goto("/staff/classes")
        page.get_by_role("link", name="today in Kindergarten – Ms. Rivera").click()
        expect(page.get_by_role("heading", name="Kindergarten – Ms. Rivera: today")).to_be_visible()
        failed = page.locator("section", has=page.get_by_role("heading", name="Sign-ins that failed today"))
        expect(failed.get_by_role("row", name="José García")).to_contain_text("replaced: give them their new one")
        signed_in = page.locator("section", has=page.get_by_role("heading", name="Signed in today"))
        expect(signed_in.get_by_role("row", name="José García")).to_contain_text("Test kiosk")
        assert look_at(page, "class-today") == []

        # Another teacher's class, or a student of it, by URL: the same page as nothing at all.
        for url in ("/staff/classes/k-lake-4", "/staff/classes/k-maple-kg/students/st-0031"):
            response = page.goto(url)
            assert response is not None and response.status == 404
            expect(page.get_by_role("alert")).to_contain_text("There is no such page")
        assert look_at(page, "not-found") == []
        response = page.goto("/staff/admin/devices")
        assert response is not None and response.status == 404
        assert js_errors(page) == []
    finally:
        context.close()


def test_a_teacher_voids_the_class_at_year_end_only_when_typing_its_name(
    chromium: Browser, server: LoopbackServer, district: District
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    context, page = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(page, "lrivera")
        page.goto("/staff/classes/k-maple-kg")
        page.on("dialog", lambda dialog: dialog.accept())
        page.get_by_label("Type the class name").fill("Kindergarten")
        page.get_by_role("button", name="Void all badges of this class").click()
        expect(page.get_by_role("status")).to_contain_text("Nothing was voided")
        page.get_by_label("Type the class name").fill("Kindergarten – Ms. Rivera")
        page.get_by_role("button", name="Void all badges of this class").click()
        expect(page.get_by_role("status")).to_contain_text("10 badges voided")
        with httpx.Client(base_url=server.url) as kiosk:
            assert exchange(kiosk, district.device_token, district.payloads[JOSE]).status_code == 403
            assert exchange(kiosk, district.device_token, district.payloads["st-0011"]).status_code == 200
    finally:
        context.close()


def tiny_png(color: tuple[int, int, int]) -> bytes:
    ok, data = cv2.imencode(".png", np.full((64, 64, 3), color, np.uint8))
    assert ok
    return data.tobytes()


def test_an_admin_enrols_a_scanner_edits_the_catalog_and_reads_the_audit_log(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any], tmp_path: Path
) -> None:
    add_staff(district, "it-admin", "district_admin")
    context, page = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(page, "it-admin")
        page.get_by_role("link", name="Schools").click()
        expect(page.get_by_role("row", name="Maple Street Elementary")).to_contain_text("20")
        assert look_at(page, "schools") == []

        # Devices: make an enrolment code and use it on a browser scanner.
        page.get_by_role("link", name="Devices").click()
        page.get_by_label("School").select_option(label="Maple Street Elementary")
        page.get_by_role("button", name="Make a code").click()
        code = page.locator("#enroll-code").text_content() or ""
        assert look_at(page, "devices") == []
        scanner_context, scanner = new_page(chromium, server)
        scanner.goto("/scan/enrol")
        scanner.fill("#enroll-code", code)
        scanner.fill("#enroll-name", "Library Chromebook")
        scanner.get_by_role("button", name="Set up").click()
        expect(scanner.locator("#device-name")).to_contain_text("Library Chromebook")
        scanner_context.close()
        page.reload()
        row = page.get_by_role("row", name="Library Chromebook")
        expect(row).to_contain_text("Maple Street Elementary")
        expect(row).to_contain_text("Chrome")
        page.on("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button").click()
        expect(page.get_by_role("status")).to_contain_text("Library Chromebook is disabled")
        with transaction(district.runtime.factory) as session:
            assert session.query(Device).filter_by(name="Library Chromebook").one().disabled_at is not None

        # Catalog: a new app with an icon, for kindergarten only.
        page.get_by_role("link", name="Apps").click()
        page.get_by_role("link", name="Add an app").click()
        page.get_by_label("Name on the tile").fill("Reading Eggs")
        page.get_by_label("Opens (https address)").fill("javascript:alert(1)")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("alert")).to_contain_text("must start with https://")
        page.get_by_label("Opens (https address)").fill("https://readingeggs.com/login/")
        page.get_by_label("KG").check()
        icon = tmp_path / "eggs.png"
        icon.write_bytes(tiny_png((40, 160, 60)))
        page.get_by_label("Icon (PNG, JPEG or WebP").set_input_files(str(icon))
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("link", name="Reading Eggs")).to_be_visible()
        assert look_at(page, "apps") == []
        page.get_by_role("link", name="Reading Eggs").click()
        assert look_at(page, "app-edit") == []

        with httpx.Client(base_url=server.url) as kiosk:
            launch_url = exchange(kiosk, district.device_token, district.payloads[JOSE]).json()["launch_url"]
        student_context, student = new_page(chromium, server)
        student_context.add_cookies([{"name": "badge_device", "value": district.device_token, "url": server.url}])
        student.goto(launch_url)
        tile = student.locator(".tile", has_text="Reading Eggs")
        # The tile goes through the server (audited, SSO where the app has it) to the app's URL.
        expect(tile).to_have_attribute("href", "/apps/reading-eggs/open")
        opened = student_context.request.get(f"{server.url}/apps/reading-eggs/open", max_redirects=0)
        assert (opened.status, opened.headers["location"]) == (303, "https://readingeggs.com/login/")
        assert tile.locator("img").evaluate("img => img.complete && img.naturalWidth") == 64
        student_context.close()

        # Single sign-on: the URLs a vendor needs, and an OIDC app registered with its secret shown once.
        page.get_by_role("link", name="Single sign-on").click()
        expect(page.get_by_text(f"{server.url}/.well-known/openid-configuration")).to_be_visible()
        page.locator("#client-name").fill("Reading Eggs")
        page.locator("#redirect-uris").fill("https://readingeggs.com/oidc/callback")
        page.get_by_label("Its dashboard tile").select_option("reading-eggs")
        page.get_by_role("button", name="Register").click()
        expect(page.locator("#client-secret")).to_be_visible()
        assert look_at(page, "sso") == []
        page.get_by_role("link", name="SAML", exact=True).click()
        assert look_at(page, "saml") == []

        # Audit log: filter by kind, then export what is shown.
        page.get_by_role("link", name="Audit log").click()
        page.get_by_label("Kind").select_option("device.disable")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        assert look_at(page, "audit") == []
        exported = download(page, lambda: page.get_by_role("link", name="Export these rows as CSV").click())
        rows = list(csv.DictReader(io.StringIO(exported.decode())))
        assert [r["kind"] for r in rows] == ["device.disable"] and rows[0]["actor"] == "staff:it-admin"
        assert js_errors(page) == []
    finally:
        context.close()


def roster_zip(changes: dict[str, Callable[[str], str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in DEMO_ROSTER.glob("*.csv"):
            text = path.read_text(encoding="utf-8-sig")
            archive.writestr(f"export/{path.name}", changes[path.name](text) if path.name in changes else text)
    return buffer.getvalue()


def test_an_admin_uploads_a_roster_and_a_broken_one_changes_nothing(
    chromium: Browser, server: LoopbackServer, district: District, tmp_path: Path, look_at: Callable[..., Any]
) -> None:
    add_staff(district, "it-admin", "district_admin")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(
        roster_zip({"users.csv": lambda t: t.replace("José", "Josefina").replace(",student,", ",pupil,", 1)})
    )
    renamed = tmp_path / "roster.zip"
    renamed.write_bytes(roster_zip({"users.csv": lambda t: t.replace("José", "Josefina")}))
    context, page = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(page, "it-admin")
        page.goto("/staff/admin")
        page.get_by_label("Roster files").set_input_files(str(broken))
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
        expect(page.locator("tbody")).to_contain_text("users.csv")
        assert look_at(page, "roster-refused") == []
        with transaction(district.runtime.factory) as session:
            assert session.get_one(Person, JOSE).given_name == "José"
        page.goto("/staff/admin")
        page.get_by_label("Roster files").set_input_files(str(renamed))
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("status")).to_contain_text("Imported")
        assert look_at(page, "roster-imported") == []
        with transaction(district.runtime.factory) as session:
            assert session.get_one(Person, JOSE).given_name == "Josefina"
        page.goto("/staff/admin")
        expect(page.locator("main")).to_contain_text("upload by it-admin")
    finally:
        context.close()


def test_a_school_admin_sees_only_their_school(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    add_staff(district, "lake-admin", "school_admin", school_id="s-lake")
    context, page = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(page, "lake-admin")
        expect(page.get_by_role("link", name="Pre-K – Mrs. Chen", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Kindergarten – Ms. Rivera", exact=True)).to_have_count(0)
        page.goto("/staff/admin/people")
        expect(page.locator("main")).not_to_contain_text("José García")
        expect(page.locator("main")).to_contain_text("Mrs. Chen")
        assert look_at(page, "people") == []
        for url in ("/staff/classes/k-maple-kg", "/staff/admin/apps", "/staff/admin/audit"):
            response = page.goto(url)
            assert response is not None and response.status == 404, url
        page.goto("/staff/admin/devices")
        assert page.get_by_label("School").locator("option").all_text_contents() == ["Lakeview Primary School"]
        page.get_by_role("link", name="Today").click()
        expect(page.get_by_role("row", name="Total")).to_contain_text("20")
        expect(page.get_by_role("link", name="Pre-K – Mrs. Chen")).to_have_attribute(
            "href", "/staff/classes/k-lake-pk/today"
        )
        assert look_at(page, "today") == []
        # Their school's badge policy: a shorter lifetime for new badges, then back to the district's.
        page.get_by_role("link", name="Badge policy").click()
        expect(page.get_by_role("heading", name="Lakeview Primary School")).to_be_visible()
        expect(page.get_by_role("heading", name="Maple Street Elementary")).to_have_count(0)
        # Typing a number picks "This many days": a value next to "As the district" would be lost.
        page.get_by_label("Days a new badge lasts at Lakeview Primary School").fill("180")
        expect(page.get_by_label("This many days:")).to_be_checked()
        page.get_by_role("button", name="Save for Lakeview Primary School").click()
        expect(page.locator("main")).to_contain_text("new badges last 180 days")
        expect(page.get_by_label("This many days:")).to_be_checked()
        assert look_at(page, "badge-policy") == []
        page.get_by_label("Days a new badge lasts at Lakeview Primary School").fill("0")
        page.get_by_role("button", name="Save for Lakeview Primary School").click()  # the browser refuses 0
        expect(page.locator("main")).to_contain_text("new badges last 180 days")
    finally:
        context.close()


def test_an_admin_creates_a_teacher_account_and_resets_its_second_factor(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    add_staff(district, "it-admin", "district_admin")
    admin_context, admin = new_page(chromium, server)
    teacher_context, teacher = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(admin, "it-admin")
        admin.get_by_role("link", name="Staff").click()
        admin.get_by_label("Username").fill("okafor")
        admin.get_by_label("First password").fill("short")
        admin.get_by_label("Role").select_option("teacher")
        admin.get_by_label("Teacher in the roster").select_option("t-okafor")
        admin.get_by_role("button", name="Create the account").click()
        # The browser's own check (minlength) stops the form first; the server's rule is the same.
        assert admin.get_by_label("First password").evaluate("field => field.validity.tooShort")
        assert admin.url.endswith("/staff/admin/staff")
        admin.get_by_label("First password").fill(PASSWORD)
        admin.get_by_role("button", name="Create the account").click()
        expect(admin.get_by_role("status")).to_contain_text("Account okafor created")
        expect(admin.get_by_role("row", name="okafor")).to_have_count(1)  # made once, by the second try
        assert look_at(admin, "staff") == []

        sign_in_setting_up_totp(teacher, "okafor")
        expect(teacher.get_by_role("link", name="Grade 2 – Mr. Okafor", exact=True)).to_be_visible()

        admin.on("dialog", lambda dialog: dialog.accept())
        admin.reload()
        row = admin.get_by_role("row", name="okafor")
        expect(row).to_contain_text("set up")
        row.get_by_text("Change okafor").click()
        row.get_by_role("button", name="Reset the second factor (lost phone)").click()
        expect(admin.get_by_role("status")).to_contain_text("okafor sets up a new authenticator app")
        teacher.reload()
        assert teacher.url.endswith("/staff/login"), "a reset ends the account's sessions"
        sign_in_setting_up_totp(teacher, "okafor")  # a new secret, set up again
    finally:
        admin_context.close()
        teacher_context.close()


def test_an_admin_invites_the_roster_and_a_teacher_opens_her_printed_qr_code(
    chromium: Browser, server: LoopbackServer, district: District, look_at: Callable[..., Any]
) -> None:
    add_staff(district, "it-admin", "district_admin")
    admin_context, admin = new_page(chromium, server)
    teacher_context, teacher = new_page(chromium, server)
    try:
        sign_in_setting_up_totp(admin, "it-admin")
        admin.get_by_role("link", name="Staff").click()
        admin.get_by_role("button", name="Make accounts and invitations").click()
        expect(admin.get_by_role("heading", name="Invitations")).to_be_visible()
        cards = admin.locator("ul.invitations li")
        expect(cards).to_have_count(4)
        assert look_at(admin, "invitations") == []
        # The printed card's QR code is the link: read it off the screen, as a phone would.
        rivera = cards.filter(has_text="Lucía Rivera")
        shot = np.frombuffer(rivera.locator(".qr").screenshot(), np.uint8)
        (read,) = zxingcpp.read_barcodes(cv2.imdecode(shot, cv2.IMREAD_GRAYSCALE))
        assert read.text == rivera.get_by_role("link").get_attribute("href")

        teacher.goto(read.text)
        teacher.get_by_label("New password").fill("a lantern by the river")
        teacher.get_by_label("The same again").fill("a lantern by the river")
        assert look_at(teacher, "invitation") == []
        teacher.get_by_role("button", name="Set my password").click()
        expect(teacher.get_by_role("status")).to_contain_text("Your password is set")
        teacher.get_by_role("link", name="Sign in as lrivera").click()
        teacher.get_by_label("Username").fill("lrivera")
        teacher.get_by_label("Password").fill("a lantern by the river")
        teacher.get_by_role("button", name="Sign in").click()
        # This district asks teachers for a second factor too: set up next, as for any account.
        expect(teacher.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
        assert js_errors(admin) == [] and js_errors(teacher) == []
    finally:
        admin_context.close()
        teacher_context.close()
