"""Staff sign in with the district's own account (Google Workspace or Microsoft Entra), over real
HTTP: the console is an OpenID Connect client of a real provider on loopback (this project's own,
as a separate server and district, tests/support/district_idp.py). The email the provider vouches
for opens the matching account, or makes one for a roster teacher; everything else is refused
with a reason, audited, and signs no one in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from badge_server.errors import StaffSsoRefused
from badge_server.settings import Settings
from badge_server.staff import disable_staff
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import AuditEvent, StaffUser
from tests.support.api import audit_count
from tests.support.district import District
from tests.support.district_idp import DistrictIdp, district_idp
from tests.support.oidc_app import browser_for, sign_in_through_scan
from tests.support.servers import LoopbackServer, free_port
from tests.support.staff import add_staff, sign_in, sign_in_setting_up_totp

RIVERA, OKAFOR, ELSEWHERE, NOBODY = "st-0001", "st-0002", "st-0003", "st-0004"  # their badges at the provider


@pytest.fixture
def console_port() -> int:
    return free_port()


@pytest.fixture
def idp(tmp_path: Path, sqlite_template: Path, console_port: int) -> Iterator[DistrictIdp]:
    with district_idp(tmp_path, sqlite_template, f"http://127.0.0.1:{console_port}") as running:
        yield running


@pytest.fixture
def settings(settings: Settings, idp: DistrictIdp) -> Settings:
    return idp.staff_settings(settings)


@pytest.fixture
def server(runtime: object, console_port: int) -> Iterator[LoopbackServer]:
    with LoopbackServer(runtime, port=console_port) as running:  # type: ignore[arg-type]
        yield running


@pytest.fixture
def console(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client


def leave_for_provider(console: httpx.Client) -> str:
    leave = console.get("/staff/login/district")
    assert leave.status_code == 303, leave.text
    return leave.headers["location"]


def back_from_provider(idp: DistrictIdp, person_id: str, authorize_url: str) -> str:
    """At the provider: no session there, so its scanner; the person's badge; back to the console."""
    with browser_for(idp.issuer, idp.district) as at_provider:  # a teacher at a school scanner, say
        return sign_in_through_scan(at_provider, idp.district, person_id, authorize_url)


def sign_in_with_district(console: httpx.Client, idp: DistrictIdp, person_id: str) -> httpx.Response:
    return console.get(back_from_provider(idp, person_id, leave_for_provider(console)))


def district_refusals(district: District) -> list[dict[str, object]]:
    with read_only_transaction(district.runtime.factory) as db:
        return [
            event.detail
            for event in db.scalars(select(AuditEvent).where(AuditEvent.kind == "staff.sign_in"))
            if event.outcome == "refused"
        ]


def test_the_login_page_offers_the_districts_sign_in_beside_the_password(console: httpx.Client) -> None:
    page = console.get("/staff/login")
    assert 'href="/staff/login/district">Sign in with Riverside Google</a>' in page.text
    assert 'name="password"' in page.text


def test_a_teacher_signs_in_with_the_districts_account_and_lands_on_their_class(
    console: httpx.Client, idp: DistrictIdp, district: District, server: LoopbackServer
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    authorize = leave_for_provider(console)
    assert authorize.startswith(f"{idp.issuer}/authorize?")
    for part in ("code_challenge_method=S256", "nonce=", "state=", "scope=openid+email+profile"):
        assert part in authorize, part
    back = back_from_provider(idp, RIVERA, authorize)
    assert back.startswith(f"{server.url}/staff/login/district/return?code=")

    landed = console.get(back)
    assert landed.status_code == 200, landed.text
    assert 'content="0; url=/staff/classes"' in landed.text, "on to the classes: a teacher without TOTP set up"
    classes = console.get("/staff/classes")
    assert classes.status_code == 200 and "Rivera" in classes.text and "Sign out" in classes.text
    assert audit_count(district.runtime, "staff.sign_in", "ok") == 1
    assert console.get(back).status_code == 403, "the same answer a second time signs no one in"


def test_a_roster_teacher_without_an_account_gets_one_at_the_first_sign_in(
    console: httpx.Client, idp: DistrictIdp, district: District
) -> None:
    landed = sign_in_with_district(console, idp, OKAFOR)
    assert landed.status_code == 200, landed.text
    assert "Okafor" in console.get("/staff/classes").text
    with read_only_transaction(district.runtime.factory) as db:
        made = db.scalars(select(StaffUser).where(StaffUser.person_id == "t-okafor")).one()
        assert (made.username, made.role) == ("cokafor", "teacher")
    assert audit_count(district.runtime, "staff.create") == 1
    with httpx.Client(base_url=console.base_url, follow_redirects=True, timeout=20) as other:
        assert sign_in(other, "cokafor", "any password at all").url.path == "/staff/login", "no password was set"


def test_a_second_factor_set_up_here_is_still_asked_unless_the_provider_vouches_for_one(
    console: httpx.Client, idp: DistrictIdp, district: District, server: LoopbackServer
) -> None:
    add_staff(district, "lrivera@riverside.example", "district_admin")  # matched by its username
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=20) as setting_up:
        sign_in_setting_up_totp(setting_up, "lrivera@riverside.example")
    landed = sign_in_with_district(console, idp, RIVERA)
    assert 'content="0; url=/staff/mfa"' in landed.text
    assert console.get("/staff/admin/audit").status_code in (302, 303), "not in before the code"

    provider = district.runtime.staff_identity_provider
    assert provider is not None
    provider.trusts_mfa = True  # BADGE_STAFF_OIDC_TRUSTS_MFA: the district's provider asks for a second factor
    landed = sign_in_with_district(console, idp, RIVERA)
    assert 'content="0; url=/staff/classes"' in landed.text
    assert console.get("/staff/admin/audit").status_code == 200


@pytest.mark.parametrize(
    ("person_id", "reason", "words"),
    [
        (ELSEWHERE, "domain", "mchen@elsewhere.example is not a district address (riverside.example)"),
        (NOBODY, "no_account", "There is no staff account for nobody@riverside.example"),
    ],
)
def test_an_address_the_district_does_not_know_is_refused_and_says_why(
    console: httpx.Client, idp: DistrictIdp, district: District, person_id: str, reason: str, words: str
) -> None:
    refused = sign_in_with_district(console, idp, person_id)
    assert refused.status_code == 403 and words in refused.text
    assert 'name="password"' in refused.text, "the password form is still there"
    assert console.get("/staff/classes", follow_redirects=False).status_code in (302, 303)
    assert district_refusals(district)[-1]["step"] == f"district:{reason}"
    with read_only_transaction(district.runtime.factory) as db:
        assert db.scalars(select(StaffUser)).all() == [], "no account was made"


def test_a_disabled_account_stays_out(console: httpx.Client, idp: DistrictIdp, district: District) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    with transaction(district.runtime.factory) as db:
        disable_staff(db, db.scalars(select(StaffUser)).one(), actor="test")
    refused = sign_in_with_district(console, idp, RIVERA)
    assert refused.status_code == 403 and "disabled" in refused.text
    assert district_refusals(district)[-1]["step"] == "district:disabled"


def test_an_answer_meant_for_another_browser_is_refused(
    console: httpx.Client, idp: DistrictIdp, district: District, server: LoopbackServer
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    back = back_from_provider(idp, RIVERA, leave_for_provider(console))
    with httpx.Client(timeout=20) as another:  # an attacker's login CSRF: their code, the victim's browser
        refused = another.get(back)
        assert refused.status_code == 403 and "not started in this browser" in refused.text
        another.get(f"{server.url}/staff/login/district")  # a sign-in of its own: the state still differs
        refused = another.get(back)
        assert refused.status_code == 403 and "not for this browser" in refused.text
    cancelled = console.get("/staff/login/district/return?error=access_denied&state=x")
    assert cancelled.status_code == 403 and "did not sign you in (access_denied)" in cancelled.text
    assert audit_count(district.runtime, "staff.sign_in", "ok") == 0


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"aud": "another-app"}, "another app"),
        ({"nonce": "not-the-one"}, "nonce"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
        ({"iss": "https://accounts.example"}, "iss"),
        ({"email_verified": None}, "has not verified"),
        ({"email": "lrivera@riverside.example.evil"}, "not a district address"),
    ],
)
def test_an_id_token_is_checked_against_the_providers_published_keys_and_claims(
    idp: DistrictIdp, district: District, claims: dict[str, object], words: str
) -> None:
    provider = district.runtime.staff_identity_provider
    assert provider is not None
    good = idp.id_token(nonce="the-nonce")
    assert provider.identity(provider.verified_claims(good, "the-nonce")).email == "lrivera@riverside.example"
    with pytest.raises(StaffSsoRefused, match=words):
        provider.identity(provider.verified_claims(idp.id_token(**{"nonce": "the-nonce", **claims}), "the-nonce"))


def test_a_token_signed_by_anyone_else_is_refused(idp: DistrictIdp, district: District) -> None:
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    provider = district.runtime.staff_identity_provider
    assert provider is not None
    forged = jwt.encode({"alg": "RS256", "kid": "forged"}, {"iss": idp.issuer, "aud": provider.client_id},
                        RSAKey.generate_key(2048))  # fmt: skip
    with pytest.raises(StaffSsoRefused, match="signature") as refused:
        provider.verified_claims(forged, "n")
    assert refused.value.reason == "signature"
    unsigned = forged.rsplit(".", 1)[0] + "."
    with pytest.raises(StaffSsoRefused, match="signature"):
        provider.verified_claims(unsigned, "n")
