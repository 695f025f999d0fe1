"""The staff console over real HTTP: two-step sign-in, scoping by role, CSRF, printing a class."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import datetime

import httpx
import pyotp
import pytest

from badge_printing import BUILT_IN
from badge_server.store.db import transaction
from tests.support.api import audit_count
from tests.support.district import District
from tests.support.pdf import payloads_by_label
from tests.support.servers import LoopbackServer
from tests.support.staff import PASSWORD, add_staff, csrf_of, sign_in, sign_in_setting_up_totp


@pytest.fixture
def browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as client:
        yield client


def test_admin_sets_up_totp_at_first_sign_in_then_needs_it(browser: httpx.Client, district: District) -> None:
    add_staff(district, "admin", "district_admin")
    setup = sign_in(browser, "admin")
    assert setup.url.path == "/staff/mfa/setup" and "<svg" in setup.text
    secret = re.search(r'<code class="big">([A-Z2-7]+)</code>', setup.text)
    assert secret
    assert browser.get("/staff/classes").url.path == "/staff/mfa/setup"  # not in before the second step
    wrong = browser.post("/staff/mfa/setup", data={"code": "000000", "csrf": csrf_of(setup)})
    assert wrong.status_code == 401
    codes_page = browser.post("/staff/mfa/setup", data={"code": pyotp.TOTP(secret[1]).now(), "csrf": csrf_of(setup)})
    assert codes_page.status_code == 200, codes_page.text[:800]
    codes = re.findall(r'<code class="big">([a-z2-7]{5}(?:-[a-z2-7]{5}){3})</code>', codes_page.text)
    assert len(codes) == 8
    classes = browser.get("/staff/classes")
    assert len(set(re.findall(r'href="/staff/classes/([^/"]+)"', classes.text))) == 4  # every class of the district

    with httpx.Client(base_url=browser.base_url, follow_redirects=True, timeout=60) as again:
        step = sign_in(again, "admin")
        assert step.url.path == "/staff/mfa"
        assert again.post("/staff/mfa", data={"code": "123456", "csrf": csrf_of(step)}).status_code == 401
        assert again.post("/staff/mfa", data={"code": codes[0], "csrf": csrf_of(step)}).url.path == "/staff/classes"
    with httpx.Client(base_url=browser.base_url, follow_redirects=True) as third:
        step = sign_in(third, "admin")
        used = third.post("/staff/mfa", data={"code": codes[0], "csrf": csrf_of(step)})
        assert used.status_code == 401  # a recovery code works once
    assert audit_count(district.runtime, "staff.sign_in") >= 4


def test_a_teacher_sees_only_their_class_and_prints_it(browser: httpx.Client, district: District) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    classes = sign_in(browser, "lrivera")
    assert classes.url.path == "/staff/classes"
    assert "Kindergarten – Ms. Rivera" in classes.text and "Grade 4" not in classes.text
    assert browser.get("/staff/classes/k-lake-4").status_code == 404  # another teacher's class, by URL
    roster = browser.get("/staff/classes/k-maple-kg")
    assert roster.text.count("<tr><td>") == 10 and "José García" in roster.text
    # Alphabetical as on the printed cover page: accents ignored, so Émile comes before José.
    assert (
        roster.text.index("Amara") < roster.text.index("Émile") < roster.text.index("José") < roster.text.index("Zoë")
    )
    pdf = browser.post("/staff/classes/k-maple-kg/print", data={"csrf": csrf_of(roster), "template": "avery-5395"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.headers["X-Badge-Count"] == "10"
    template = BUILT_IN["avery-5395"]
    scanned = payloads_by_label(pdf.content, 1, template, 150)
    assert set(scanned.values()) <= {district.payloads[f"st-{n:04d}"] for n in range(1, 11)} and len(scanned) == 8
    stolen = browser.post("/staff/classes/k-lake-4/print", data={"csrf": csrf_of(roster)})
    assert stolen.status_code == 404


def test_forms_without_the_session_csrf_token_are_refused(browser: httpx.Client, district: District) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    sign_in(browser, "lrivera")
    refused = browser.post("/staff/classes/k-maple-kg/print", data={"csrf": "forged"})
    assert refused.status_code == 403 and "This form has expired" in refused.text  # a page, not JSON
    with httpx.Client(base_url=browser.base_url) as login:
        assert login.post("/staff/login", data={"username": "x", "password": "y", "csrf": "z"}).status_code == 403


def test_password_guessing_is_throttled_without_locking_anyone_out(browser: httpx.Client, district: District) -> None:
    from datetime import timedelta

    from badge_server import clock

    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))
    statuses = [sign_in(browser, "lrivera", "wrong password!").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    clock.advance(timedelta(seconds=61))
    assert sign_in(browser, "lrivera").url.path == "/staff/classes"


def test_weak_passwords_and_unknown_teachers_are_refused(district: District) -> None:
    from badge_server.errors import NotFoundError, PolicyError

    with pytest.raises(PolicyError, match="at least 12 characters"):
        add_staff(district, "bob", "district_admin", password="short")
    with pytest.raises(NotFoundError, match="roster teacher"):
        add_staff(district, "bob", "teacher", person_id="st-0001")


def qr_in_page(page: httpx.Response) -> str:
    """Draw the page's SVG QR code (rectangles) into an image and decode it with the kiosk's decoder."""
    import numpy as np

    from kiosk_client.decoder import ZxingDecoder

    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    size = re.search(r'width="(\d+)"', svg)
    assert size is not None
    width = int(size[1])
    image = np.full((width, width), 255, np.uint8)
    for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+Z", svg):
        image[int(y) : int(y) + int(h), int(x) : int(x) + int(w)] = 0
    found = ZxingDecoder().decode(image)
    assert len(found) == 1
    return found[0].text


def test_teacher_replaces_a_lost_badge_and_makes_a_temporary_code(
    browser: httpx.Client, server: LoopbackServer, district: District
) -> None:
    from tests.support.api import error_code, exchange

    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    sign_in(browser, "lrivera")
    page = browser.get("/staff/classes/k-maple-kg/students/st-0001")
    assert "José García" in page.text and "<strong>active</strong>" in page.text
    unconfirmed = browser.post("/staff/classes/k-maple-kg/students/st-0001/replace", data={"csrf": csrf_of(page)})
    assert "Tick the box" in unconfirmed.text
    assert exchange(browser, district.device_token, district.payloads["st-0001"]).status_code == 200
    done = browser.post(
        "/staff/classes/k-maple-kg/students/st-0001/replace", data={"csrf": csrf_of(page), "confirm": "1"}
    )
    assert "The old badge no longer works" in done.text
    assert error_code(exchange(browser, district.device_token, district.payloads["st-0001"])) == "badge_replaced"

    code_page = browser.post("/staff/classes/k-maple-kg/students/st-0001/temporary", data={"csrf": csrf_of(page)})
    assert "minutes left" in code_page.text and "<?xml" not in code_page.text
    # Until when, on the district's clock (BADGE_TIMEZONE), not the server's.
    expires = datetime.fromisoformat(re.findall(r'data-expires="([^"]+)"', code_page.text)[0])
    shown = expires.astimezone(district.runtime.settings.zone).strftime("%H:%M")
    assert f"Works until <strong>{shown}</strong>" in code_page.text
    temporary = qr_in_page(code_page)
    assert temporary.startswith("BL1:T")
    answer = exchange(browser, district.device_token, temporary)
    assert answer.status_code == 200 and answer.json()["user"]["first_name"] == "José"

    assert browser.get("/staff/classes/k-maple-kg/students/st-0031").status_code == 404  # not in this class
    revoked = browser.post(
        "/staff/classes/k-maple-kg/students/st-0002/revoke", data={"csrf": csrf_of(page), "confirm": "1"}
    )
    assert "Revoked" in revoked.text
    assert error_code(exchange(browser, district.device_token, district.payloads["st-0002"])) == "badge_not_accepted"


ADMIN_PAGES = ["/staff/admin", "/staff/admin/people", "/staff/admin/staff", "/staff/admin/devices"]
DISTRICT_PAGES = ["/staff/admin/apps", "/staff/admin/apps/new", "/staff/admin/apps/starfall", "/staff/admin/audit"]


def test_admin_pages_are_refused_to_teachers_and_district_pages_to_school_admins(
    server: LoopbackServer, district: District
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    with httpx.Client(base_url=server.url, follow_redirects=False) as anonymous:
        for url in ADMIN_PAGES + DISTRICT_PAGES + ["/staff/admin/audit.csv"]:
            answer = anonymous.get(url)
            assert answer.status_code == 303 and answer.headers["location"] == "/staff/login", url
    with httpx.Client(base_url=server.url, follow_redirects=True) as teacher:
        sign_in(teacher, "lrivera")
        for url in ADMIN_PAGES + DISTRICT_PAGES + ["/staff/admin/audit.csv"]:
            assert teacher.get(url).status_code == 404, url
        page = teacher.get("/staff/classes")
        forged = teacher.post("/staff/admin/devices/enroll-code", data={"csrf": csrf_of(page), "school_id": "s-maple"})
        assert forged.status_code == 404
        upload = teacher.post("/staff/admin/roster", data={"csrf": csrf_of(page)}, files={"files": ("users.csv", b"x")})
        assert upload.status_code == 404


def test_a_school_admin_cannot_reach_another_school_by_forging_forms(
    server: LoopbackServer, district: District
) -> None:
    from badge_server.store.models import StaffUser

    add_staff(district, "lake-admin", "school_admin", school_id="s-lake")
    with httpx.Client(base_url=server.url, follow_redirects=True) as admin:
        sign_in_setting_up_totp(admin, "lake-admin")
        page = admin.get("/staff/admin/devices")
        csrf = csrf_of(page)
        assert (
            admin.post("/staff/admin/devices/enroll-code", data={"csrf": csrf, "school_id": "s-maple"}).status_code
            == 404
        )
        assert admin.post(f"/staff/admin/devices/{district.device_id}/disable", data={"csrf": csrf}).status_code == 404
        made = admin.post(
            "/staff/admin/staff",
            data={"csrf": csrf, "username": "sneaky", "password": PASSWORD, "role": "district_admin"},
        )
        assert made.status_code == 404
        other_teacher = admin.post(
            "/staff/admin/staff",
            data={
                "csrf": csrf,
                "username": "rivera2",
                "password": PASSWORD,
                "role": "teacher",
                "person_id": "t-rivera",
            },
        )
        assert other_teacher.status_code == 404
        for url in DISTRICT_PAGES:
            assert admin.get(url).status_code == 404, url
    with transaction(district.runtime.factory) as session:
        assert session.query(StaffUser).count() == 1


def test_broken_and_giant_roster_uploads_are_refused_clearly(server: LoopbackServer, district: District) -> None:
    add_staff(district, "it-admin", "district_admin")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as admin:
        sign_in_setting_up_totp(admin, "it-admin")
        csrf = csrf_of(admin.get("/staff/admin"))
        # A multipart body cut off in the middle (a dropped connection, a hostile client).
        broken = admin.post(
            "/staff/admin/roster",
            content=b'--XyZ\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
            + csrf.encode()
            + b"\r\n--XyZ\r\nContent-Dispo",
            headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        )
        assert 400 <= broken.status_code < 500
        # Announced as 500 MB: refused before a byte of it is read.
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(
                b"POST /staff/admin/roster HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=a\r\n"
                + f"Content-Length: {500 * 2**20}\r\n\r\n".encode()
                + b"x" * 1000
            )
            head = b""
            while b"larger than" not in head and (chunk := raw.recv(4096)):
                head += chunk
        assert head.startswith(b"HTTP/1.1 413") and b"larger than" in head
        # Not roster files at all, or a damaged ZIP: named, and nothing changes.
        for name, data in (("photo.jpg", b"\xff\xd8\xff"), ("roster.zip", b"PK\x03\x04broken")):
            answer = admin.post("/staff/admin/roster", data={"csrf": csrf}, files={"files": (name, data)})
            assert answer.status_code == 400 and name in answer.text and "Nothing was changed" in answer.text


def test_one_badge_of_a_student_whose_name_is_not_latin_prints_with_that_name(
    browser: httpx.Client, district: District
) -> None:
    """HTTP headers are Latin-1: "Nguyễn Văn An" once crashed the download with a 500."""
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    sign_in(browser, "lrivera")
    page = browser.get("/staff/classes/k-maple-kg/students/st-0003")
    pdf = browser.post("/staff/classes/k-maple-kg/students/st-0003/print", data={"csrf": csrf_of(page)})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert (
        "filename*=UTF-8''Nguy%E1%BB%85n-V%C4%83n-An.pdf" in disposition
        and 'filename="Nguy-n-V-n-An.pdf"' in disposition
    )
