"""Dashboards people arrange, over HTTP against the real server on SQLite and PostgreSQL: the order
kept per person across sessions and devices, hidden apps, refusals, and a teacher's class pins."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from badge_server import clock
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.api import audit_count, sign_in
from tests.support.district import District
from tests.support.oidc_app import browser_for, scan
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp

JOSE, GRADE_2 = "st-0001", "st-0011"  # Kindergarten (k-maple-kg); Grade 2 (k-maple-2)


def signed_in(server: LoopbackServer, district: District, person_id: str = JOSE) -> httpx.Client:
    """A kiosk session for the student: the API with their session token."""
    with httpx.Client(base_url=server.url, timeout=20) as kiosk:
        token = sign_in(kiosk, district.device_token, district.payloads[person_id])
    return httpx.Client(base_url=server.url, timeout=20, headers={"Authorization": f"Bearer {token}"})


def app_ids(client: httpx.Client) -> list[str]:
    return [app["id"] for app in client.get("/api/v1/me/apps").json()["apps"]]


def test_the_order_is_kept_per_person_across_sessions_and_hidden_apps_are_left_out(
    server: LoopbackServer, district: District
) -> None:
    with signed_in(server, district) as kiosk:
        catalog_order = app_ids(kiosk)
        assert len(catalog_order) >= 4
        wanted = [catalog_order[2], catalog_order[0]]
        saved = kiosk.put("/api/v1/me/tiles", json={"order": wanted, "hidden": [catalog_order[1]]})
        assert saved.status_code == 200, saved.text
        tiles = saved.json()["tiles"]
        assert [t["id"] for t in tiles if not t["hidden"]][:2] == wanted
        assert [t["id"] for t in tiles if t["hidden"]] == [catalog_order[1]]
    with signed_in(server, district) as later:  # another session, another day, another device
        shown = app_ids(later)
    assert shown[:2] == wanted and catalog_order[1] not in shown
    assert sorted(shown) == sorted(set(catalog_order) - {catalog_order[1]})
    with signed_in(server, district, GRADE_2) as other:  # another person's dashboard is untouched
        tiles = other.get("/api/v1/me/tiles").json()["tiles"]
        assert not any(t["hidden"] for t in tiles) and [t["id"] for t in tiles] == app_ids(other)


def test_unknown_apps_are_refused_by_name_and_another_site_cannot_rearrange(
    server: LoopbackServer, district: District
) -> None:
    with signed_in(server, district) as kiosk:
        refused = kiosk.put("/api/v1/me/tiles", json={"order": ["starfall", "scratch", "nope"], "hidden": []})
        assert refused.status_code == 400
        assert "not apps on this dashboard: nope, scratch" in refused.json()["error"]["message"]  # scratch: grades 3-5
        before = app_ids(kiosk)
        token = kiosk.headers["Authorization"].split()[1]
    with httpx.Client(base_url=server.url, timeout=20, cookies={"badge_session": token}) as browser:
        forged = browser.put(
            "/api/v1/me/tiles", json={"order": [], "hidden": before}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403
    with signed_in(server, district) as kiosk:
        assert app_ids(kiosk) == before


def test_a_teacher_pins_an_app_first_for_their_class_for_today(server: LoopbackServer, district: District) -> None:
    with signed_in(server, district) as kiosk:
        assert kiosk.put("/api/v1/me/tiles", json={"order": [], "hidden": ["starfall"]}).status_code == 200
        assert "starfall" not in app_ids(kiosk)
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    add_staff(district, "cokafor", "teacher", person_id="t-okafor")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as teacher:
        sign_in_setting_up_totp(teacher, "lrivera")
        page = teacher.get("/staff/classes/k-maple-kg")
        pinned = teacher.post("/staff/classes/k-maple-kg/pins", data={"csrf": csrf_of(page), "app_id": "starfall"})
        assert pinned.status_code == 200 and "today only" in pinned.text
        not_for_class = teacher.post(
            "/staff/classes/k-maple-kg/pins", data={"csrf": csrf_of(page), "app_id": "scratch"}
        )
        assert not_for_class.status_code == 404
    with signed_in(server, district) as kiosk:
        assert app_ids(kiosk)[0] == "starfall"  # pinned shows first, even for a student who hid it
        first = kiosk.get("/api/v1/me/tiles").json()["tiles"][0]
        assert (first["id"], first["pinned"], first["hidden"]) == ("starfall", True, False)
    with signed_in(server, district, GRADE_2) as other_class:
        assert app_ids(other_class)[0] != "starfall"
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as other_teacher:
        sign_in_setting_up_totp(other_teacher, "cokafor")
        page = other_teacher.get("/staff/classes")
        refused = other_teacher.post("/staff/classes/k-maple-kg/pins", data={"csrf": csrf_of(page), "app_id": "epic"})
        assert refused.status_code == 404
    assert audit_count(district.runtime, "tiles.pin") == 1
    now = clock.utcnow()
    clock.advance(timedelta(hours=24 - now.hour, minutes=1))  # past midnight UTC: "today" is over
    with signed_in(server, district) as kiosk:
        assert "starfall" not in app_ids(kiosk)  # hidden again, as José chose


def test_the_dashboard_speaks_the_language_of_the_roster_record_then_the_browsers(
    server: LoopbackServer, district: District
) -> None:
    """Issue 18: a child whose SIS record says Spanish reads a Spanish dashboard in any browser;
    without one, the browser's language chooses (Arabic, right to left), else English."""
    with transaction(district.runtime.factory) as db:
        db.execute(update(Person).where(Person.id == "st-0001").values(language="es-MX"))
    for person_id, accept, words, direction in (
        ("st-0001", "en-US,en;q=0.9", "¡Hola, José!", "ltr"),
        ("st-0002", "fr-CA, ar;q=0.8, en;q=0.5", "مرحبًا يا Zoë!", "rtl"),
        ("st-0002", "fr-CA", "Hi, Zoë!", "ltr"),
    ):
        with browser_for(server.url, district) as browser:
            browser.headers["Accept-Language"] = accept
            assert scan(browser, district, person_id).status_code in (302, 303)
            page = browser.get("/dashboard")
            assert f"<h1>{words}</h1>" in page.text, page.text[:400]
            assert f'dir="{direction}"' in page.text
