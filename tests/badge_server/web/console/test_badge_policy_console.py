"""Badge policy per school in the console over real HTTP: a school's lifetime, PIN grades and
temporary code hours override the district's, which override the server's settings; the kiosk's
exchange follows them at once; bad input names the field and changes nothing."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from badge_server import badges
from badge_server.badge_policy import BadgePolicy, badge_policy_for
from badge_server.clock import utcnow
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.api import audit_count, error_code, exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp

PAGE = "/staff/admin/badge-policy"
JOSE = "st-0001"  # Kindergarten, Maple Street
LAKE_STUDENT = "st-0021"  # Lakeview Primary
PIN = "482915"


@pytest.fixture
def browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as client:
        yield client


def policy(district: District, school_id: str | None) -> BadgePolicy:
    with transaction(district.runtime.factory) as session:
        return badge_policy_for(session, district.runtime.settings, school_id)


def new_badge_days_and_code_hours(district: District, person_id: str) -> tuple[int, float]:
    """Replace the student's badge and give them a temporary code: how long each lasts."""
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        person = session.get(Person, person_id)
        assert person is not None
        badge = badges.replace(session, runtime.keys, runtime.settings, person, actor="test").badge
        code = badges.temporary_code(session, runtime.keys, runtime.settings, person, actor="test").badge
        now = utcnow()
        return round((badge.expires_at - now) / timedelta(days=1)), round(
            (code.expires_at - now) / timedelta(hours=1), 1
        )


def test_a_school_overrides_the_district_which_overrides_the_server(
    browser: httpx.Client, http: httpx.Client, district: District
) -> None:
    with transaction(district.runtime.factory) as session:
        jose = session.get(Person, JOSE)
        assert jose is not None
        badges.set_pin(session, jose, PIN, actor="test")
        lake_school = session.get(Person, LAKE_STUDENT)
        assert lake_school is not None and lake_school.school_id == "s-lake"
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 200  # settings: grade 04
    add_staff(district, "admin", "district_admin")
    page = sign_in_setting_up_totp(browser, "admin")
    page = browser.get(PAGE)
    assert "Riverside Unified School District (district)" in page.text and "Maple Street Elementary" in page.text
    assert "new badges last <strong>365 days</strong>" in page.text

    district_form = {"csrf": csrf_of(page), "pin_mode": "set", "pin_grades": ["KG", "01"]}
    saved = browser.post(f"{PAGE}/d-riverside", data=district_form)
    assert saved.status_code == 200 and saved.url.path == PAGE
    refused = exchange(http, district.device_token, district.payloads[JOSE])
    assert refused.status_code == 423 and error_code(refused) == "pin_required", "the district's grades, at once"
    assert exchange(http, district.device_token, district.payloads[JOSE], pin=PIN).status_code == 200

    maple = {"csrf": csrf_of(saved), "expiry_mode": "set", "expiry_days": "30", "pin_mode": "set"}
    browser.post(f"{PAGE}/s-maple", data={**maple, "hours_mode": "set", "temp_code_hours": "2"})
    assert exchange(http, district.device_token, district.payloads[JOSE]).status_code == 200, "Maple: no PIN grades"
    assert policy(district, "s-maple") == BadgePolicy(30, (), 2.0)
    assert policy(district, "s-lake") == BadgePolicy(365, ("KG", "01"), 4.0), "Lakeview inherits the district"
    assert new_badge_days_and_code_hours(district, JOSE) == (30, 2.0)
    assert new_badge_days_and_code_hours(district, LAKE_STUDENT) == (365, 4.0)
    assert audit_count(district.runtime, "policy.badges") == 2

    shown = browser.get(PAGE).text
    assert "new badges last <strong>30 days</strong>; PIN at school scanners for <strong>no grade</strong>" in shown
    browser.post(f"{PAGE}/s-maple", data={"csrf": csrf_of(saved)})  # every field back to "as the district"
    assert policy(district, "s-maple") == BadgePolicy(365, ("KG", "01"), 4.0)


@pytest.mark.parametrize(
    ("field", "form", "message"),
    [
        ("lifetime", {"expiry_mode": "set", "expiry_days": "a year"}, "badge lifetime: 'a year' is not a number"),
        ("lifetime", {"expiry_mode": "set", "expiry_days": "0"}, "badge lifetime: 0 days is not between 1 and 3650"),
        ("lifetime", {"expiry_mode": "set", "expiry_days": "7.5"}, "7.5 is not a whole number of days"),
        (
            "hours",
            {"hours_mode": "set", "temp_code_hours": "13"},
            "temporary code: 13 hours is not more than 0 and at most 12 (BADGE_TEMP_CODE_MAX_HOURS)",
        ),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    browser: httpx.Client, district: District, field: str, form: dict[str, str], message: str
) -> None:
    add_staff(district, "admin", "district_admin")
    sign_in_setting_up_totp(browser, "admin")
    page = browser.get(PAGE)
    answer = browser.post(f"{PAGE}/s-maple", data={"csrf": csrf_of(page), **form})
    assert answer.status_code == 400 and message in html.unescape(answer.text), field
    assert policy(district, "s-maple") == policy(district, None)
    assert audit_count(district.runtime, "policy.badges") == 0


def test_a_school_admin_sets_only_their_own_school_and_a_teacher_none(
    browser: httpx.Client, district: District
) -> None:
    add_staff(district, "lakeadmin", "school_admin", school_id="s-lake")
    sign_in_setting_up_totp(browser, "lakeadmin")
    page = browser.get(PAGE)
    assert "Lakeview Primary School" in page.text and "Maple Street" not in page.text and "(district)" not in page.text
    for other in ("s-maple", "d-riverside"):
        refused = browser.post(
            f"{PAGE}/{other}", data={"csrf": csrf_of(page), "expiry_mode": "set", "expiry_days": "9"}
        )
        assert refused.status_code == 404
    browser.post(f"{PAGE}/s-lake", data={"csrf": csrf_of(page), "expiry_mode": "set", "expiry_days": "200"})
    assert policy(district, "s-lake").expiry_days == 200 and policy(district, "s-maple").expiry_days == 365
    browser.post("/staff/logout", data={"csrf": csrf_of(page)})
    add_staff(district, "rivera", "teacher", person_id="t-rivera")
    sign_in_setting_up_totp(browser, "rivera")
    assert browser.get(PAGE).status_code == 404
