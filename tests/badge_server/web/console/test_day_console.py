"""Today, as staff see it, over real HTTP after real sign-ins (kiosk, browser scanner, an app
opened, a replaced badge held up, a wrong PIN), in the district's time zone: the class's day for
its teacher, and the counts per class (school admin) or per school (district admin) with a CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from badge_server import badges, clock
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.api import error_code, exchange, sign_in
from tests.support.district import District
from tests.support.oidc_app import browser_for, scan
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, sign_in_setting_up_totp

ZONE = "America/Chicago"
JOSE, ZOE, AN = "st-0001", "st-0002", "st-0003"  # Ms. Rivera's Kindergarten at Maple Street
GRADE_4 = "st-0031"  # Ms. Haddad's Grade 4 at Lakeview, where a PIN is asked (conftest: grade 04)
PIN = "482915"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"timezone": ZONE})


@pytest.fixture
def staff_browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as client:
        yield client


def to_half_past_local_midnight(settings: Settings, minutes_before: int) -> None:
    """Move the server's clock to ``minutes_before`` local midnight (tomorrow's, in the district)."""
    local_now = clock.utcnow().astimezone(settings.zone)
    midnight = datetime.combine(local_now.date() + timedelta(days=1), time(), tzinfo=settings.zone)
    clock.advance(midnight.astimezone(UTC) - clock.utcnow() - timedelta(minutes=minutes_before))


def test_a_teacher_sees_todays_sign_ins_failures_absentees_and_apps_in_the_districts_day(
    server: LoopbackServer, district: District, http: httpx.Client, staff_browser: httpx.Client
) -> None:
    runtime = district.runtime
    old_badge = district.payloads[AN]
    with transaction(runtime.factory) as session:
        student = session.get(Person, AN)
        assert student is not None
        badges.replace(session, runtime.keys, runtime.settings, student, actor="test")
    to_half_past_local_midnight(runtime.settings, minutes_before=30)
    sign_in(http, district.device_token, district.payloads[JOSE])  # 23:30 in Chicago: yesterday
    clock.advance(timedelta(hours=1))  # 00:30 in Chicago, a new school day
    with browser_for(server.url, district) as browser:  # the scanner page on a Chromebook
        assert scan(browser, district, ZOE).headers["location"] == "/dashboard"
        assert browser.get("/apps/starfall/open").status_code == 303
    refused = exchange(http, district.device_token, old_badge)
    assert error_code(refused) == "badge_replaced"

    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    sign_in_setting_up_totp(staff_browser, "lrivera")
    page = staff_browser.get("/staff/classes/k-maple-kg/today")
    assert page.status_code == 200
    text = page.text
    local_day = clock.utcnow().astimezone(runtime.settings.zone)
    assert f"{local_day.strftime('%A, %B %-d, %Y')} ({ZONE})" in text
    assert "<strong>1 of 10</strong> students signed in" in text
    assert "Nguyễn Văn An" in text and "held up an old badge that was replaced: give them their new one" in text
    signed_in = text.split('id="in-title"')[1].split("</section>")[0]
    assert "Zoë" in signed_in and "José" not in signed_in, "José signed in yesterday, district time"
    assert local_day.strftime("%H:%M") in signed_in or (local_day - timedelta(minutes=1)).strftime("%H:%M") in signed_in
    assert "Test kiosk" in signed_in, "where: the scanner's enrolled name"
    away = text.split('id="week-title"')[1].split("</section>")[0]
    assert "José" not in away and "Zoë" not in away and away.count("<li>") == 8
    apps = text.split('id="apps-title"')[1].split("</section>")[0]
    assert "Starfall" in apps and "<td>1</td><td>1</td>" in apps

    # Another teacher's class is not there for her, as any other page.
    assert staff_browser.get("/staff/classes/k-lake-4/today").status_code == 404


def test_admins_see_the_day_per_school_or_class_with_totals_and_a_csv(
    server: LoopbackServer, district: District, http: httpx.Client, staff_browser: httpx.Client
) -> None:
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        fourth_grader = session.get(Person, GRADE_4)
        assert fourth_grader is not None and fourth_grader.grade == "04"
        badges.set_pin(session, fourth_grader, PIN, actor="test")
    sign_in(http, district.device_token, district.payloads[JOSE])
    sign_in(http, district.device_token, district.payloads[ZOE])
    wrong = exchange(http, district.device_token, district.payloads[GRADE_4], pin="739164")
    assert error_code(wrong) == "pin_incorrect"

    add_staff(district, "admin", "district_admin")
    sign_in_setting_up_totp(staff_browser, "admin")
    page = staff_browser.get("/staff/admin/today")
    assert "Per school." in page.text
    rows = list(csv.reader(io.StringIO(staff_browser.get("/staff/admin/today.csv").text)))
    assert rows[0] == [
        "day",
        "school",
        "students",
        "signed in today",
        "sign-in failures today",
        "not signed in for 7 days",
        "app launches today",
    ]
    by_name = {row[1]: row[2:] for row in rows[1:]}
    assert by_name["Maple Street Elementary"] == ["20", "2", "0", "18", "0"]
    assert by_name["Lakeview Primary School"] == ["20", "0", "1", "20", "0"]
    assert by_name["Total"] == ["40", "2", "1", "38", "0"]

    staff_browser.post("/staff/logout", data={"csrf": page.text.split('name="csrf" value="')[1].split('"')[0]})
    add_staff(district, "lakeadmin", "school_admin", school_id="s-lake")
    sign_in_setting_up_totp(staff_browser, "lakeadmin")
    lake = list(csv.reader(io.StringIO(staff_browser.get("/staff/admin/today.csv").text)))
    assert lake[0][1] == "class"
    assert {row[1]: row[2:] for row in lake[1:]} == {
        "Grade 4 – Ms. Haddad": ["10", "0", "1", "10", "0"],
        "Pre-K – Mrs. Chen": ["10", "0", "0", "10", "0"],
        "Total": ["20", "0", "1", "20", "0"],
    }
    day = staff_browser.get("/staff/classes/k-lake-4/today").text
    assert "typed a wrong PIN" in day
