"""Staff onboarding over real HTTP: accounts for the roster's teachers made in one go, each with a
single-use, expiring link where the person sets their own password; a used, expired or unknown
link says so; everyone can change their own password."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from badge_server import clock
from tests.support.api import audit_count
from tests.support.cli import run_against
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in, sign_in_setting_up_totp

NEW_PASSWORD = "a lantern by the river"


@pytest.fixture
def browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as client:
        yield client


def invite_the_roster(an_admin: httpx.Client) -> dict[str, str]:
    """Press the button on the staff page; each invited username and its link."""
    page = an_admin.get("/staff/admin/staff")
    made = an_admin.post("/staff/admin/staff/invite-roster", data={"csrf": csrf_of(page)})
    assert made.status_code == 200, made.text[:500]
    found = re.findall(r"Username: <code>([^<]+)</code><br>\s*<a href=\"([^\"]+)\">", made.text)
    assert made.text.count("<svg") == len(found), "a QR code for each link"
    return dict(found)


def test_the_roster_teachers_get_accounts_and_set_their_own_passwords(
    district_admin: httpx.Client, browser: httpx.Client, district: District
) -> None:
    links = invite_the_roster(district_admin)
    assert sorted(links) == ["cokafor", "lhaddad", "lrivera", "mchen"]
    assert audit_count(district.runtime, "staff.invite") == 4
    assert sign_in(browser, "lrivera", "anything at all, 12+").url.path == "/staff/login", "no password works yet"

    link = links["lrivera"]
    form = browser.get(link)
    assert form.status_code == 200 and "Set my password" in form.text
    mismatch = browser.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 400 and "the two passwords are not the same" in mismatch.text
    short = browser.post(link, data={"password": "lrivera12345678", "confirm": "lrivera12345678"})
    assert short.status_code == 400 and "must not contain the username" in short.text
    done = browser.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "Your password is set" in done.text
    assert audit_count(district.runtime, "staff.invite_accepted") == 1

    landed = sign_in(browser, "lrivera", NEW_PASSWORD)
    assert landed.url.path == "/staff/classes" and "Kindergarten – Ms. Rivera" in landed.text
    again = browser.get(link)
    assert again.status_code == 410 and "already used" in again.text
    assert (
        browser.post(link, data={"password": "another one entirely", "confirm": "another one entirely"}).status_code
        == 410
    )

    assert invite_the_roster(district_admin) == {}, "everyone has an account now"


def test_an_expired_or_unknown_link_says_so_and_a_new_one_replaces_the_old(
    district_admin: httpx.Client, browser: httpx.Client, server: LoopbackServer
) -> None:
    links = invite_the_roster(district_admin)
    clock.advance(timedelta(days=8))
    expired = browser.get(links["mchen"])
    assert expired.status_code == 410 and "This invitation has expired. Ask your admin for a new link." in expired.text
    unknown = browser.get(f"{server.url}/staff/invite/not-a-real-invitation")
    assert unknown.status_code == 404 and "not an invitation" in unknown.text


def test_a_school_admin_invites_only_their_schools_teachers(
    server: LoopbackServer, district: District, browser: httpx.Client
) -> None:
    add_staff(district, "lake-admin", "school_admin", school_id="s-lake")
    sign_in_setting_up_totp(browser, "lake-admin")
    assert sorted(invite_the_roster(browser)) == ["lhaddad", "mchen"]


def test_anyone_signed_in_changes_their_own_password(browser: httpx.Client, district: District) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    page = sign_in(browser, "lrivera", "correct horse battery staple")
    assert 'href="/staff/account/password"' in page.text
    form = browser.get("/staff/account/password")
    wrong = browser.post(
        "/staff/account/password",
        data={"csrf": csrf_of(form), "current": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and "Your current password is not right." in wrong.text
    done = browser.post(
        "/staff/account/password",
        data={
            "csrf": csrf_of(form),
            "current": "correct horse battery staple",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert done.status_code == 200 and "Your password is changed" in done.text
    assert browser.get("/staff/classes").url.path == "/staff/login", "this session ended with the old password"
    assert sign_in(browser, "lrivera", "correct horse battery staple").url.path == "/staff/login"
    assert sign_in(browser, "lrivera", NEW_PASSWORD).url.path == "/staff/classes"


def test_it_invites_the_roster_from_the_command_line_and_the_links_work(
    server: LoopbackServer, district: District, browser: httpx.Client
) -> None:
    runtime = district.runtime
    refused = run_against(runtime, "invite-staff", ok=False)
    assert "set BADGE_PUBLIC_URL" in refused.stderr
    made = run_against(runtime, "invite-staff", "--school", "s-maple", "--json", BADGE_PUBLIC_URL=server.url)
    rows = json.loads(made.stdout)
    assert [row["username"] for row in rows] == ["cokafor", "lrivera"]
    assert rows[0]["school"] == "Maple Street Elementary" and rows[0]["role"] == "teacher"
    done = browser.post(rows[1]["link"], data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "Your password is set" in done.text
    assert sign_in(browser, "lrivera", NEW_PASSWORD).url.path == "/staff/classes"
