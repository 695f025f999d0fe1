"""A teacher's own app dashboard over real HTTP: password + TOTP, "My apps", the apps for their
role, single sign-on with their own claims, and console sign-out ending the dashboard too."""

from __future__ import annotations

import httpx

from badge_server.store.db import transaction
from badge_server.store.models import SignInMethod, StudentSession
from tests.support.district import District
from tests.support.oidc_app import RelyingParty, register_app
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp


def test_a_teacher_opens_their_apps_signs_in_to_one_and_signing_out_ends_both(
    server: LoopbackServer, district: District
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    app = RelyingParty(server.url, register_app(district.runtime, scopes=("profile", "roster")))
    with httpx.Client(base_url=server.url, timeout=20) as browser:
        console = browser.get("/staff/classes")
        assert console.status_code == 303  # not signed in yet
        sign_in_setting_up_totp(browser, "lrivera")
        console = browser.get("/staff/classes", follow_redirects=True)
        assert "My apps" in console.text
        opened = browser.post("/staff/my-apps", data={"csrf": csrf_of(console)})
        assert opened.status_code == 303 and opened.headers["location"] == "/dashboard"
        dashboard = browser.get("/dashboard")
        assert "Hi, Lucía!" in dashboard.text and 'href="/staff/classes"' in dashboard.text
        assert "Gradebook" in dashboard.text and "District email" in dashboard.text
        assert "Starfall" not in dashboard.text  # a kindergarten's app (grades), not a teacher's
        back = browser.get(app.authorize_url(scope="openid profile roster"))
        assert back.status_code == 302, back.text  # the dashboard's session signs the teacher in at once
        assert "code=" in back.headers["location"], back.headers["location"]
        claims = app.redeem(app.callback(back.headers["location"])["code"])["id_token"]
        assert claims["name"] == "Lucía Rivera" and "teacher" in claims["roles"]
        signed_out = browser.post("/staff/logout", data={"csrf": csrf_of(console)})
        assert signed_out.status_code == 303
        assert browser.get("/dashboard").status_code == 303  # the dashboard ended with the console
    with transaction(district.runtime.factory) as session:
        (record,) = session.query(StudentSession).all()
        assert (record.client, record.method, record.end_reason) == ("staff", SignInMethod.STAFF, "logout")


def test_an_account_without_a_roster_record_is_told_why(server: LoopbackServer, district: District) -> None:
    add_staff(district, "admin", "district_admin")
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=True) as browser:
        console = sign_in_setting_up_totp(browser, "admin")
        assert "My apps" not in browser.get("/staff/classes").text
        refused = browser.post("/staff/my-apps", data={"csrf": csrf_of(console)})
    assert refused.status_code == 409 and "not linked to a roster record" in refused.text
