"""SAML sign-in end to end against the real server on loopback, checked by a Google-shaped SP
built on another library (signxml); on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
from lxml import etree
from sqlalchemy import select

from badge_server.clock import utcnow
from badge_server.sso.saml_providers import disable_provider
from badge_server.sso.subjects import subject_of
from badge_server.store.db import transaction
from badge_server.store.models import App, AuditEvent
from badge_server.store.sso_models import SsoSignIn
from tests.support.api import audit_count, exchange
from tests.support.district import District
from tests.support.saml import JOSE, JOSE_EMAIL, give_email, idp_of, register, signed_in_browser
from tests.support.saml_sp import EMAIL_FORMAT, PERSISTENT_FORMAT, GoogleShapedSp, SpKeys, posted_form, verified
from tests.support.servers import LoopbackServer


def test_redirect_binding_signs_a_student_with_a_session_in_to_google(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    assert entity_id == f"{server.url}/saml/metadata"
    request_id, xml = sp.authn_request()
    with signed_in_browser(server, district) as browser:
        page = browser.get("/saml/sso", params=sp.redirect_query(xml, relay_state="https://mail.google.com/a/x"))
    assert page.status_code == 200, page.text
    action, fields = posted_form(page.text)
    assert action == sp.acs_url
    assert fields["RelayState"] == "https://mail.google.com/a/x"
    validated = sp.validate(fields["SAMLResponse"], certificate, entity_id, request_id)
    assert validated.name_id == JOSE_EMAIL
    assert validated.name_id_format == EMAIL_FORMAT
    assert validated.attributes == {}  # Google needs none, and refuses non-ASCII ones (José)


GIVEN_NAME, FAMILY_NAME = "urn:oid:2.5.4.42", "urn:oid:2.5.4.4"  # eduPerson / X.500 attribute names


def _scan_in_browser(browser: httpx.Client, district: District, person_id: str = JOSE) -> httpx.Response:
    """What the scanner page does after reading a badge: exchange, then open the launch link."""
    browser.cookies.set("badge_device", district.device_token)
    answer = exchange(browser, district.device_token, district.payloads[person_id])
    assert answer.status_code == 200, answer.text
    return browser.get(f"/launch/{answer.json()['launch_code']}", follow_redirects=True)


def test_post_binding_without_a_session_waits_for_the_scan_then_goes_on_to_the_app(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    request_id, xml = sp.authn_request()
    with httpx.Client(base_url=server.url, timeout=20) as browser:
        waiting = browser.post("/saml/sso", data=sp.post_form(xml, relay_state="inbox"), follow_redirects=True)
        assert waiting.url.path == "/scan"  # the scanner, and nothing of the request in its URL
        assert "SAMLRequest" not in str(waiting.url)
        page = _scan_in_browser(browser, district)
    action, fields = posted_form(page.text)
    assert action == sp.acs_url and fields["RelayState"] == "inbox"
    assert sp.validate(fields["SAMLResponse"], certificate, entity_id, request_id).name_id == JOSE_EMAIL
    assert audit_count(district.runtime, "saml.sign_in", "ok") == 1
    with transaction(district.runtime.factory) as session:
        sign_ins = session.scalars(select(SsoSignIn)).all()
        assert [(s.protocol, s.saml_session_index is not None) for s in sign_ins] == [("saml", True)]


def test_persistent_name_id_is_the_stable_subject_and_other_sps_get_the_name_parts(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(
        f"{server.url}/saml/sso", entity_id="https://reading.example/saml", acs_url="https://reading.example/acs"
    )
    register(district, sp, nameid_format="persistent")
    entity_id, certificate = idp_of(http)
    names = []
    for _ in range(2):
        request_id, xml = sp.authn_request()
        with signed_in_browser(server, district) as browser:
            page = browser.get("/saml/sso", params=sp.redirect_query(xml))
        _action, fields = posted_form(page.text)
        validated = sp.validate(fields["SAMLResponse"], certificate, entity_id, request_id)
        assert validated.name_id_format == PERSISTENT_FORMAT
        assert validated.attributes[GIVEN_NAME] == ["José"] and validated.attributes[FAMILY_NAME] == ["García"], (
            validated.attributes
        )
        names.append(validated.name_id)
    with transaction(district.runtime.factory) as session:
        assert names == [subject_of(session, JOSE, utcnow())] * 2  # no email needed, same every time


def test_signed_requests_are_checked_when_the_sp_requires_them(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso", keys=SpKeys.generate())
    register(district, sp, require_signed_requests=True)
    give_email(district)
    entity_id, certificate = idp_of(http)
    with signed_in_browser(server, district) as browser:
        request_id, xml = sp.authn_request()
        page = browser.get("/saml/sso", params=sp.redirect_query(xml, "r", sign=True))
        assert page.status_code == 200, page.text
        sp.validate(posted_form(page.text)[1]["SAMLResponse"], certificate, entity_id, request_id)
        request_id, xml = sp.authn_request()
        page = browser.post("/saml/sso", data=sp.post_form(xml, sign=True))
        assert page.status_code == 200, page.text
        sp.validate(posted_form(page.text)[1]["SAMLResponse"], certificate, entity_id, request_id)
        for unsigned in (
            browser.get("/saml/sso", params=sp.redirect_query(sp.authn_request()[1])),
            browser.post("/saml/sso", data=sp.post_form(sp.authn_request()[1])),
        ):
            assert unsigned.status_code == 400 and "SAMLResponse" not in unsigned.text
        # Signed by someone else's key: refused too.
        impostor = GoogleShapedSp(sp.idp_sso_url, keys=SpKeys.generate())
        forged = browser.get("/saml/sso", params=impostor.redirect_query(impostor.authn_request()[1], sign=True))
        assert forged.status_code == 400
    assert _refusals(district) == ["request_signature_missing_or_invalid"] * 3


def test_is_passive_without_a_session_answers_no_passive_instead_of_the_scanner(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    _entity_id, certificate = idp_of(http)
    request_id, xml = sp.authn_request(is_passive=True)
    page = http.get("/saml/sso", params=sp.redirect_query(xml))
    action, fields = posted_form(page.text)
    assert action == sp.acs_url
    response = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    verified(etree.tostring(response), certificate, "./")
    codes = [c.get("Value") for c in response.iter("{urn:oasis:names:tc:SAML:2.0:protocol}StatusCode")]
    assert codes[-1] == "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
    assert response.find("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion") is None
    assert response.get("InResponseTo") == request_id


def test_a_tile_of_a_saml_app_signs_in_idp_initiated_and_lands_on_the_app(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    sp_id = register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    with transaction(district.runtime.factory) as session:
        app = session.scalars(select(App).order_by(App.position)).first()
        assert app is not None
        app.sso_protocol, app.sso_ref, app.launch_url = "saml", sp_id, "https://mail.google.com/a/riverside.example"
        app_id = app.id
    with signed_in_browser(server, district) as browser:
        tile = browser.get(f"/apps/{app_id}/open")
        assert tile.headers["location"].endswith(f"/saml/idp-initiated/{sp_id}")
        page = browser.get(tile.headers["location"])
    action, fields = posted_form(page.text)
    assert action == sp.acs_url and fields["RelayState"] == "https://mail.google.com/a/riverside.example"
    assert sp.validate(fields["SAMLResponse"], certificate, entity_id, None).name_id == JOSE_EMAIL
    assert "form-action 'self' https://www.google.com" in page.headers["content-security-policy"]


def _refusals(district: District) -> list[str]:
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind == "saml.sign_in", AuditEvent.outcome == "sso_refused")
            .order_by(AuditEvent.at)
        ).all()
        return [str(row.detail.get("reason")) for row in rows]


def test_every_bad_request_gets_an_error_page_an_audit_row_and_nothing_issued(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    register(district, sp)
    disabled = GoogleShapedSp(sp.idp_sso_url, entity_id="https://gone.example", acs_url="https://gone.example/acs")
    with transaction(district.runtime.factory) as session:
        disable_provider(session, register(district, disabled), actor="test")
    stranger = GoogleShapedSp(sp.idp_sso_url, entity_id="https://evil.example", acs_url="https://evil.example/acs")
    _replayed_id, replayed = sp.authn_request()
    now = datetime.now(UTC)
    bad = {
        "malformed_request": [sp.redirect_query(b"<not-saml/>"), {"SAMLRequest": "%%%"}, {}],
        "unknown_or_disabled_sp": [
            stranger.redirect_query(stranger.authn_request()[1]),
            disabled.redirect_query(disabled.authn_request()[1]),
        ],
        "acs_url_not_registered": [sp.redirect_query(sp.authn_request(acs_url="https://evil.example/acs")[1])],
        "stale_request": [
            sp.redirect_query(sp.authn_request(issued_at=now - timedelta(minutes=30))[1]),
            sp.redirect_query(sp.authn_request(issued_at=now + timedelta(minutes=30))[1]),
        ],
        "replayed_request": [sp.redirect_query(replayed)],
        "student_has_no_email": [sp.redirect_query(sp.authn_request()[1])],  # José has no email yet
    }
    with signed_in_browser(server, district) as browser:
        give_email(district)
        first = browser.get("/saml/sso", params=sp.redirect_query(replayed))
        assert first.status_code == 200
        give_email(district, email=None)
        expected = []
        for reason, attempts in bad.items():
            for params in attempts:
                page = browser.get("/saml/sso", params=params)
                assert page.status_code == 400, (reason, page.text)
                assert "text/html" in page.headers["content-type"]
                assert "SAMLResponse" not in page.text and "evil.example" not in page.text
                expected.append(reason)
        assert "ask your teacher" in page.text.lower()
    assert _refusals(district) == expected
    assert audit_count(district.runtime, "saml.sign_in", "ok") == 1  # the first, valid one only
    with transaction(district.runtime.factory) as session:
        assert len(session.scalars(select(SsoSignIn)).all()) == 1
        no_email = session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "sso_refused").order_by(AuditEvent.at.desc())
        ).first()
        assert no_email is not None and no_email.person_id == JOSE


def test_google_with_the_standard_issuer_and_the_accounts_acs_gets_the_email_and_no_attributes(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    # "Use a domain-specific issuer" unchecked: Google sends Issuer google.com; either ACS host works.
    sp = GoogleShapedSp(
        f"{server.url}/saml/sso", entity_id="google.com", acs_url="https://accounts.google.com/a/riverside.example/acs"
    )
    register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    request_id, xml = sp.authn_request()
    with signed_in_browser(server, district) as browser:
        page = browser.post("/saml/sso", data=sp.post_form(xml))
    _action, fields = posted_form(page.text)
    validated = sp.validate(fields["SAMLResponse"], certificate, entity_id, request_id)
    assert (validated.name_id, validated.name_id_format, validated.attributes) == (JOSE_EMAIL, EMAIL_FORMAT, {})


def test_idp_initiated_without_a_session_scans_first_and_a_disabled_or_unknown_sp_is_refused(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    sp = GoogleShapedSp(f"{server.url}/saml/sso")
    sp_id = register(district, sp)
    give_email(district)
    entity_id, certificate = idp_of(http)
    with httpx.Client(base_url=server.url, timeout=20) as browser:
        waiting = browser.get(f"/saml/idp-initiated/{sp_id}", follow_redirects=True)
        assert waiting.url.path == "/scan"
        page = _scan_in_browser(browser, district)
        _action, fields = posted_form(page.text)
        assert sp.validate(fields["SAMLResponse"], certificate, entity_id, None).name_id == JOSE_EMAIL
        with transaction(district.runtime.factory) as session:
            disable_provider(session, sp_id, actor="test")
        for target in (sp_id, "no-such-sp"):
            refused = browser.get(f"/saml/idp-initiated/{target}")
            assert refused.status_code == 400 and "SAMLResponse" not in refused.text
    assert _refusals(district) == ["unknown_or_disabled_sp"] * 2
