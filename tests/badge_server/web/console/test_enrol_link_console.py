"""Cart enrolment links in the admin console: made (shown once, with a QR code), used, revoked;
a school admin only for their own school."""

from __future__ import annotations

import re

import httpx
import pytest

from badge_server.settings import Settings
from tests.badge_server.web.console.test_console import qr_in_page
from tests.support.api import audit_count, error_code
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp

PUBLIC_URL = "https://badges.example.org"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": PUBLIC_URL})


def make_link(client: httpx.Client, school_id: str = "s-maple", **form: str) -> httpx.Response:
    page = client.get("/staff/admin/devices")
    data = {"csrf": csrf_of(page), "school_id": school_id, "uses": "3", "hours": "8", "name_prefix": "Cart A", **form}
    return client.post("/staff/admin/devices/enrol-link", data=data)


def link_row(page: httpx.Response, prefix: str) -> str:
    row = re.search(rf"<tr><td>{prefix} 1, 2, ...</td>.*?</tr>", page.text, re.S)
    assert row, page.text[:2000]
    return row[0]


def test_an_admin_makes_a_link_shown_once_with_its_qr_then_revokes_it(
    district_admin: httpx.Client, district: District
) -> None:
    made = make_link(district_admin)
    assert made.status_code == 200
    url = re.search(r'id="enrol-link-url" value="([^"]+)"', made.text)
    assert url and url[1].startswith(f"{PUBLIC_URL}/scan/enrol#")
    assert qr_in_page(made) == url[1]  # the QR code an admin holds up reads as the link itself
    assert "3 of 3" in link_row(made, "Cart A") and "Maple Street Elementary" in link_row(made, "Cart A")
    token = url[1].split("#")[1]
    assert token not in district_admin.get("/staff/admin/devices").text  # shown once

    used = district_admin.post("/scan/enrol-link", json={"token": token})
    assert used.status_code == 200 and used.json()["name"] == "Cart A 1"
    page = district_admin.get("/staff/admin/devices")
    assert "2 of 3" in link_row(page, "Cart A") and "<td>Cart A 1</td>" in page.text

    link_id = re.search(r"/staff/admin/devices/enrol-links/(\w+)/revoke", page.text)
    assert link_id
    revoked = district_admin.post(f"/staff/admin/devices/enrol-links/{link_id[1]}/revoke", data={"csrf": csrf_of(page)})
    assert "is revoked" in revoked.text and ">revoked by an admin<" in link_row(revoked, "Cart A")
    assert "/revoke" not in link_row(revoked, "Cart A")
    refused = district_admin.post("/scan/enrol-link", json={"token": token})
    assert refused.status_code == 403 and error_code(refused) == "enrol_link_not_accepted"
    again = district_admin.post(f"/staff/admin/devices/enrol-links/{link_id[1]}/revoke", data={"csrf": csrf_of(page)})
    assert "already revoked" in again.text
    assert audit_count(district.runtime, "enrol_link.create", "ok") == 1
    assert audit_count(district.runtime, "enrol_link.use", "ok") == 1
    assert audit_count(district.runtime, "enrol_link.use", "enrol_link_not_accepted") == 1
    assert audit_count(district.runtime, "enrol_link.revoke", "ok") == 1
    assert audit_count(district.runtime, "enrol_link.revoke", "refused") == 1


def test_bad_numbers_are_refused_on_the_page_and_audited(district_admin: httpx.Client, district: District) -> None:
    refused = make_link(district_admin, uses="900")
    assert refused.status_code == 200 and "uses must be between 1 and 500, not 900" in refused.text
    assert "No enrolment links yet." in refused.text and 'id="enrol-link-url"' not in refused.text
    too_long = make_link(district_admin, hours="169")
    assert "at most 168 (7 days)" in too_long.text
    assert audit_count(district.runtime, "enrol_link.create", "refused") == 2


def test_a_school_admin_makes_and_revokes_only_their_schools_links(
    server: LoopbackServer, district: District, district_admin: httpx.Client
) -> None:
    maple = make_link(district_admin, name_prefix="Maple cart")
    maple_id = re.search(r"/staff/admin/devices/enrol-links/(\w+)/revoke", maple.text)
    assert maple_id
    add_staff(district, "lake-admin", "school_admin", school_id="s-lake")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as lake:
        sign_in_setting_up_totp(lake, "lake-admin")
        page = lake.get("/staff/admin/devices")
        assert "Maple cart" not in page.text and "No enrolment links yet." in page.text
        assert make_link(lake, "s-maple").status_code == 404
        forged = lake.post(f"/staff/admin/devices/enrol-links/{maple_id[1]}/revoke", data={"csrf": csrf_of(page)})
        assert forged.status_code == 404
        own = make_link(lake, "s-lake", name_prefix="Lake cart")
        assert own.status_code == 200 and "3 of 3" in link_row(own, "Lake cart")
        assert "Maple cart" not in own.text
    still = district_admin.get("/staff/admin/devices")
    assert "works" in link_row(still, "Maple cart")  # untouched by the other school's admin
