"""Badges at home in the console over real HTTP: the district's policy and a school's override,
who may set which, an app kept at school, and the teacher's list of home sign-ins."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from badge_server import home_sign_in
from badge_server.store.db import transaction
from badge_server.store.models import App
from tests.support.api import audit_count
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp

PAGE = "/staff/admin/home-sign-in"


@pytest.fixture
def browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as client:
        yield client


def policy(district: District, school_id: str) -> home_sign_in.HomePolicy:
    with transaction(district.runtime.factory) as session:
        return home_sign_in.policy_for(session, district.runtime.settings, school_id)


def test_a_district_admin_turns_it_off_and_a_school_back_on_with_a_pin(
    browser: httpx.Client, district: District
) -> None:
    add_staff(district, "admin", "district_admin")
    sign_in_setting_up_totp(browser, "admin")
    page = browser.get(PAGE)
    assert "Riverside Unified School District (district)" in page.text and "Lakeview Primary School" in page.text
    saved = browser.post(f"{PAGE}/d-riverside", data={"csrf": csrf_of(page), "allowed": "off"})
    assert saved.status_code == 200 and saved.url.path == PAGE
    assert not policy(district, "s-maple").allowed and not policy(district, "s-lake").allowed
    form = {"csrf": csrf_of(saved), "allowed": "on", "grades_mode": "set", "grades": ["KG", "01"], "pin_mode": "set"}
    browser.post(f"{PAGE}/s-maple", data={**form, "pin_grades": ["01"]})
    maple = policy(district, "s-maple")
    assert maple.allowed and maple.grades == ("KG", "01") and maple.pin_grades == ("01",)
    assert not policy(district, "s-lake").allowed
    assert audit_count(district.runtime, "policy.home_sign_in") == 2
    forged = browser.post(f"{PAGE}/s-lake", data={"csrf": "forged", "allowed": "on"})
    assert forged.status_code == 403 and not policy(district, "s-lake").allowed


def test_a_school_admin_sets_only_their_own_school(browser: httpx.Client, district: District) -> None:
    add_staff(district, "lakeadmin", "school_admin", school_id="s-lake")
    sign_in_setting_up_totp(browser, "lakeadmin")
    page = browser.get(PAGE)
    assert "Lakeview Primary School" in page.text and "Maple Street" not in page.text and "(district)" not in page.text
    for other in ("s-maple", "d-riverside"):
        refused = browser.post(f"{PAGE}/{other}", data={"csrf": csrf_of(page), "allowed": "off"})
        assert refused.status_code == 404
    assert policy(district, "s-maple").allowed
    browser.post(f"{PAGE}/s-lake", data={"csrf": csrf_of(page), "allowed": "off"})
    assert not policy(district, "s-lake").allowed and policy(district, "s-maple").allowed


def test_an_app_kept_at_school_and_a_teacher_sees_who_signed_in_from_home(
    browser: httpx.Client, server: LoopbackServer, district: District
) -> None:
    add_staff(district, "admin", "district_admin")
    sign_in_setting_up_totp(browser, "admin")
    edit = browser.get("/staff/admin/apps/starfall")
    assert 'name="home_allowed"' in edit.text
    form = {"csrf": csrf_of(edit), "app_id": "starfall", "name": "Starfall", "active": "1", "color": "#3566c8"}
    browser.post("/staff/admin/apps/save", data={**form, "launch_url": "https://www.starfall.com/h/"})
    with transaction(district.runtime.factory) as session:
        app = session.get(App, "starfall")
        assert app is not None and app.active and not app.home_allowed
    own_page = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    with httpx.Client(base_url=server.url, timeout=20, headers=own_page) as home:
        assert home.post("/scan/home", json={"badge": district.payloads["st-0001"]}).status_code == 200
        assert "Starfall" not in home.get("/dashboard").text
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as teacher:
        sign_in_setting_up_totp(teacher, "lrivera")
        roster = teacher.get("/staff/classes/k-maple-kg")
    section = roster.text[roster.text.index("Signed in from home") :]
    assert "José García" in section and "badge" in section
