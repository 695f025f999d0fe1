"""The authorisation matrix: every route of the server, tried as everyone who must not use it.

Every route in the OpenAPI schema must be classified below, so a new route cannot ship without
saying who may call it. "Refused" means: a staff page sends the signed-out to the sign-in page
and answers another teacher or school 404 (the same as nothing there); an API route answers 401.
"""

from __future__ import annotations

import re
from contextlib import closing
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from badge_server import enrol_links, roster_jobs
from badge_server.store.db import transaction
from badge_server.store.models import StaffUser
from tests.support.api import exchange, sign_in
from tests.support.district import District
from tests.support.oidc_app import register_app
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, sign_in_setting_up_totp
from tests.support.staff import sign_in as staff_sign_in

# Reachable by anyone (each tested for what it does elsewhere): no authorisation to check.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/scan"),
    ("GET", "/signed-out"),
    ("GET", "/apps/{app_id}/icon"),
    ("GET", "/staff/login"),
    ("POST", "/staff/login"),
    ("POST", "/api/v1/devices/enroll"),  # spends an enrolment code, which is the credential
    ("POST", "/scan/enrol-link"),  # spends a cart enrolment link, which is the credential
    ("GET", "/dashboard"),  # without a student session: the signed-out page
    ("POST", "/logout"),  # without a student session: nothing to end
    ("GET", "/staff/mfa"),  # the half-signed-in steps check their own pending session
    ("POST", "/staff/mfa"),
    ("GET", "/staff/mfa/setup"),
    ("POST", "/staff/mfa/setup"),
    ("GET", "/staff/invite/{token}"),  # the link's secret is the credential
    ("POST", "/staff/invite/{token}"),
    ("GET", "/staff/login/district"),  # leaves for the district's own sign-in (404 where none is set up)
    ("GET", "/staff/login/district/return"),  # its answer, checked against this browser's sealed state
}
# A student's browser pages: without a student session, back to the scanner or the goodbye page.
STUDENT_PAGES = {("GET", "/apps/{app_id}/open")}
# OpenID Connect: discovery and keys are public; the token endpoint and userinfo answer only an
# app's own credentials (a client secret, an access token), never a session, device or staff cookie.
OIDC_PUBLIC = {("GET", "/.well-known/openid-configuration"), ("GET", "/oidc/jwks")}
OIDC_APP_CREDENTIALS = {("POST", "/token"), ("GET", "/userinfo"), ("POST", "/userinfo")}
STUDENT_API = {
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/me/apps"),
    ("GET", "/api/v1/me/tiles"),
    ("PUT", "/api/v1/me/tiles"),
    ("POST", "/api/v1/logout"),
}
DEVICE_API = {
    ("GET", "/api/v1/devices/me"),
    ("POST", "/api/v1/exchange"),
    ("POST", "/api/v1/launch"),
    ("POST", "/scan/device"),
    ("GET", "/launch/{code}"),
}
# Needs both a student's kiosk session (bearer) and that kiosk's device token (X-Device-Token).
KIOSK_STUDENT_API = {("POST", "/api/v1/handoff")}
# Staff pages any signed-in staff member may open (each shows only what the role may see).
OWN_STAFF = {
    ("GET", "/staff/classes"),
    ("POST", "/staff/logout"),
    ("POST", "/staff/my-apps"),
    ("GET", "/staff/account/password"),
    ("POST", "/staff/account/password"),
}
SCHOOL_ADMIN_OWN = {
    ("GET", "/staff/admin"),
    ("GET", "/staff/admin/people"),
    ("GET", "/staff/admin/staff"),
    ("GET", "/staff/admin/devices"),
    ("POST", "/staff/admin/staff"),  # creating accounts: scoped by the form's teacher/school
    ("GET", "/staff/admin/badge-policy"),
    ("GET", "/staff/admin/home-sign-in"),
    ("GET", "/staff/admin/today"),
    ("GET", "/staff/admin/today.csv"),
    ("POST", "/staff/admin/staff/invite-roster"),  # accounts for their own school's teachers
}


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


def routes(server: LoopbackServer) -> list[tuple[str, str]]:
    """Every route the app serves (not only the API's schema: the console's pages are not in it),
    but those declared out of any listing (include_in_schema=False)."""
    app = cast(FastAPI, server.server.config.app)
    everything = get_openapi(title=app.title, version=app.version, routes=app.routes)
    return sorted((method.upper(), path) for path, item in everything["paths"].items() for method in item)


def staff_client(server: LoopbackServer, district: District, username: str, role: str, **where: str) -> httpx.Client:
    add_staff(district, username, role, **where)
    client = httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)
    sign_in_setting_up_totp(client, username)  # admins set up their second factor first
    client.follow_redirects = False
    return client


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/staff/classes")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found[1]


def call(client: httpx.Client, method: str, path: str, ids: dict[str, str], csrf: str = "") -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], path)
    if method == "GET":
        return client.get(url)
    # Forms filled as if the caller meant it, with the caller's own valid CSRF token: a refusal
    # must come from who they are, not from a missing field.
    form = {
        "csrf": csrf,
        "confirm": "1",
        "confirm_title": "Kindergarten – Ms. Rivera",
        "template": "square-2in-letter",
        "school_id": "s-maple",
        "password": "a brand new password 123",
        "username": "intruder",
        "role": "teacher",
        "person_id": "t-rivera",
        "name": "x",
        "launch_url": "https://example.org/",
        "code": "000000",
    }
    if path.startswith("/staff"):
        return client.request(
            method, url, data=form, files={"files": ("users.csv", b"x")} if "roster" in path else None
        )
    body = {
        "/api/v1/exchange": {"badge": ids["badge"]},
        "/api/v1/launch": {"launch_code": ids["code"]},
        "/api/v1/handoff": {"app_id": ids["app_id"]},
    }
    return client.request(method, url, json=body.get(path, {}))


def test_every_route_refuses_everyone_it_is_not_for(server: LoopbackServer, district: District) -> None:
    with httpx.Client(base_url=server.url) as kiosk:
        launch_code = exchange(kiosk, district.device_token, district.payloads["st-0011"]).json()["launch_code"]
        student_token = sign_in(kiosk, district.device_token, district.payloads["st-0002"])
    rivera = staff_client(server, district, "lrivera", "teacher", person_id="t-rivera")  # the target's teacher
    rivera.close()
    with transaction(district.runtime.factory) as session:
        rivera_id = session.query(StaffUser).filter_by(username="lrivera").one().id
        link_id = enrol_links.create_link(session, "s-maple", server.url, actor="test").link_id
        job_id = roster_jobs.start_job(session, started_by="it-admin", source="test", preview=True).id
    client_id = register_app(district.runtime).client_id
    ids = {
        "job_id": job_id,
        "link_id": link_id,
        "client_id": client_id,
        "class_id": "k-maple-kg",
        "person_id": "st-0001",
        "staff_id": rivera_id,
        "device_id": district.device_id,
        "app_id": "starfall",
        "code": launch_code,
        "badge": district.payloads["st-0001"],
        "sp_id": "no-such-sp",
        "org_id": "s-maple",
        "token": "not-an-invitation",
    }
    anonymous = httpx.Client(base_url=server.url, timeout=30)
    student = httpx.Client(
        base_url=server.url,
        timeout=30,
        headers={"Authorization": f"Bearer {student_token}"},
        cookies={"badge_session": student_token},
    )
    device = httpx.Client(
        base_url=server.url,
        timeout=30,
        headers={"Authorization": f"Bearer {district.device_token}"},
        cookies={"badge_device": district.device_token},
    )
    other_teacher = staff_client(server, district, "lhaddad", "teacher", person_id="t-haddad")
    other_admin = staff_client(server, district, "lake-admin", "school_admin", school_id="s-lake")
    teacher_csrf, admin_csrf = csrf_of(other_teacher), csrf_of(other_admin)
    unclassified, wrong = [], []
    for method, path in routes(server):
        if (method, path) in PUBLIC or (method, path) in OIDC_PUBLIC:
            continue
        if (method, path) in OIDC_APP_CREDENTIALS:
            for name, client in (("anonymous", anonymous), ("student", student), ("device", device)):
                answer = call(client, method, path, ids)
                if answer.status_code not in (400, 401) or "access_token" in answer.text or "sub" in answer.text:
                    wrong.append(f"{name} {method} {path} -> {answer.status_code}")
            continue
        if path.startswith("/staff"):
            for name, client in (("anonymous", anonymous), ("student", student), ("device", device)):
                answer = call(client, method, path, ids)
                if not (answer.status_code == 303 and answer.headers["location"] == "/staff/login"):
                    wrong.append(f"{name} {method} {path} -> {answer.status_code}")
            if (method, path) in OWN_STAFF:
                continue
            answer = call(other_teacher, method, path, ids, teacher_csrf)
            if answer.status_code != 404:
                wrong.append(f"teacher of another class {method} {path} -> {answer.status_code}")
            answer = call(other_admin, method, path, ids, admin_csrf)
            if (method, path) in SCHOOL_ADMIN_OWN:
                if (
                    answer.status_code not in (200, 303, 400, 404)
                    or "Maple Street" in answer.text
                    or "José" in answer.text
                ):
                    wrong.append(f"school admin of another school {method} {path} shows another school")
            elif answer.status_code != 404:
                wrong.append(f"school admin of another school {method} {path} -> {answer.status_code}")
        elif (method, path) in STUDENT_PAGES:
            for name, client in (("anonymous", anonymous), ("device", device), ("staff", other_admin)):
                answer = call(client, method, path, ids)
                if answer.status_code != 303 or answer.headers["location"] not in ("/scan", "/signed-out"):
                    wrong.append(f"{name} {method} {path} -> {answer.status_code}")
        elif (method, path) in STUDENT_API:
            for name, client in (("anonymous", anonymous), ("device", device), ("staff", other_admin)):
                if (status := call(client, method, path, ids).status_code) != 401:
                    wrong.append(f"{name} {method} {path} -> {status}")
        elif (method, path) in KIOSK_STUDENT_API:  # neither credential alone is enough
            for name, client in (
                ("anonymous", anonymous),
                ("student", student),
                ("device", device),
                ("staff", other_admin),
            ):
                if (status := call(client, method, path, ids).status_code) != 401:
                    wrong.append(f"{name} {method} {path} -> {status}")
        elif (method, path) in DEVICE_API:
            for name, client in (("anonymous", anonymous), ("student", student), ("staff", other_admin)):
                if (status := call(client, method, path, ids).status_code) != 401:
                    wrong.append(f"{name} {method} {path} -> {status}")
        else:
            unclassified.append(f"{method} {path}")
    for client in (anonymous, student, device, other_teacher, other_admin):
        client.close()
    assert unclassified == [], "classify these routes in this test"
    assert wrong == [], "\n".join(wrong)
    # Nothing was changed by all of that: the target's badge still works, the device still enabled.
    with httpx.Client(base_url=server.url) as kiosk:
        assert exchange(kiosk, district.device_token, district.payloads["st-0001"]).status_code == 200


def test_every_console_form_refuses_a_forged_csrf_token(server: LoopbackServer, district: District) -> None:
    """Each form route checks the token (its ``*Form`` parameter) before acting on anything."""
    staff_client(server, district, "lrivera", "teacher", person_id="t-rivera").close()
    add_staff(district, "new-admin", "district_admin")
    with transaction(district.runtime.factory) as session:
        rivera_id = session.query(StaffUser).filter_by(username="lrivera").one().id
        link_id = enrol_links.create_link(session, "s-maple", server.url, actor="test").link_id
    ids = {"class_id": "k-maple-kg", "person_id": "st-0001", "staff_id": rivera_id, "device_id": district.device_id}
    ids["link_id"], ids["client_id"] = link_id, register_app(district.runtime).client_id
    ids["sp_id"], ids["org_id"], ids["app_id"] = "no-such-sp", "s-maple", "starfall"
    ids["token"] = "not-an-invitation"
    # The sign-in form has its own double-submit token; an invitation's link secret is its own
    # (a page that knows it could set the password itself, so forging the form gains nothing).
    unsigned = ("/staff/login", "/staff/invite/{token}")
    forms = [(m, p) for m, p in routes(server) if m == "POST" and p.startswith("/staff") and p not in unsigned]
    wrong = []
    with (
        closing(staff_client(server, district, "it-admin", "district_admin")) as admin,
        httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as pending,
    ):
        assert staff_sign_in(pending, "new-admin").url.path == "/staff/mfa/setup"  # between the two steps
        for method, path in forms:
            answer = call(pending if path.startswith("/staff/mfa") else admin, method, path, ids, "forged")
            if answer.status_code != 403 or "This form has expired" not in answer.text:
                wrong.append(f"{method} {path} -> {answer.status_code}")
        assert admin.get("/staff/classes").status_code == 200  # not even signed out
        assert exchange(admin, district.device_token, district.payloads["st-0001"]).status_code == 200
    assert len(forms) >= 17 and wrong == []
