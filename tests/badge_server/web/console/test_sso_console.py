"""The console's single sign-on page: the URLs and certificate, key rotation, and OIDC apps
registered with the secret shown once — and that secret then works for a real relying party."""

from __future__ import annotations

import re

import httpx
import pytest
from cryptography import x509
from sqlalchemy import select

from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import App
from badge_server.store.sso_models import OidcClient
from tests.support.api import audit_count
from tests.support.district import District
from tests.support.oidc_app import CALLBACK, Registered, RelyingParty, browser_for, sign_in_through_scan
from tests.support.servers import LoopbackServer
from tests.support.staff import csrf_of


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


def register(client: httpx.Client, **form: str) -> httpx.Response:
    page = client.get("/staff/admin/sso")
    data = {"csrf": csrf_of(page), "name": "Reading Corner", "redirect_uris": CALLBACK, **form}
    return client.post("/staff/admin/sso/clients", data=data)


def test_the_page_gives_vendors_the_discovery_url_and_a_certificate_that_parses(
    district_admin: httpx.Client, server: LoopbackServer
) -> None:
    page = district_admin.get("/staff/admin/sso")
    assert f"{server.url}/.well-known/openid-configuration" in page.text
    pem = district_admin.get("/staff/admin/sso/certificate.pem")
    certificate = x509.load_pem_x509_certificate(pem.content)
    assert certificate.public_key().key_size >= 2048  # type: ignore[union-attr]
    assert pem.headers["content-disposition"].startswith("attachment")


def test_a_registered_apps_secret_is_shown_once_and_signs_a_student_in(
    district_admin: httpx.Client, district: District, runtime: Runtime, server: LoopbackServer
) -> None:
    made = register(district_admin, app_id="khan-kids")
    client_id = re.search(r'id="client-id">([^<]+)<', made.text)
    secret = re.search(r'id="client-secret">([^<]+)<', made.text)
    assert client_id and secret, made.text[-3000:]
    assert secret[1] not in district_admin.get("/staff/admin/sso").text  # shown once
    with transaction(runtime.factory) as db:
        row = db.get(OidcClient, client_id[1])
        assert row is not None and secret[1] not in str(row.secret_digest)  # stored as a digest only
        tile = db.get(App, "khan-kids")
        assert tile is not None and (tile.sso_protocol, tile.sso_ref) == ("oidc", client_id[1])

    app = RelyingParty(server.url, Registered(client_id[1], secret[1], CALLBACK))
    with browser_for(server.url, district) as browser:
        location = sign_in_through_scan(browser, district, "st-0001", app.authorize_url(scope="openid profile"))
    tokens = app.redeem(app.callback(location)["code"])
    id_token, userinfo = tokens["id_token"], app.userinfo()
    assert userinfo["given_name"] == "José" and id_token["aud"] == [client_id[1]]


def test_bad_input_is_named_and_nothing_is_registered(district_admin: httpx.Client, runtime: Runtime) -> None:
    refused = register(district_admin, redirect_uris="http://apps.example.org/cb")
    assert refused.status_code == 400 and "must use https" in refused.text
    unknown_app = register(district_admin, app_id="no-such-app")
    assert unknown_app.status_code == 400 and "no catalog app with id &#39;no-such-app&#39;" in unknown_app.text
    with transaction(runtime.factory) as db:
        assert db.scalars(select(OidcClient)).first() is None


def test_disable_and_rotate_are_audited(district_admin: httpx.Client, runtime: Runtime) -> None:
    made = register(district_admin)
    client_id = re.search(r'id="client-id">([^<]+)<', made.text)
    assert client_id
    disabled = district_admin.post(f"/staff/admin/sso/clients/{client_id[1]}/disable", data={"csrf": csrf_of(made)})
    assert "is disabled" in disabled.text
    rotated = district_admin.post("/staff/admin/sso/rotate", data={"csrf": csrf_of(disabled)})
    assert "published, signs later" in rotated.text and "signing now" in rotated.text
    assert audit_count(runtime, "oidc.client.disable") == 1 and audit_count(runtime, "sso.signing_key.rotate") == 1
