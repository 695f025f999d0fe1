"""Issue 15's findings against the staff sign-in and console, each attacked the way it was found."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select

from badge_server import clock, staff
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, StaffUser
from tests.support.api import exchange_while_held
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import PASSWORD, add_staff, csrf_of, sign_in, sign_in_setting_up_totp

JOSE = "st-0001"


@pytest.fixture
def browser(server: LoopbackServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as client:
        yield client


def fresh_minute() -> None:
    now = clock.utcnow()
    clock.advance(timedelta(seconds=60 - now.second - now.microsecond / 1e6 + 0.01))


def refusals(district: District) -> list[tuple[str, dict[str, Any], str | None]]:
    with transaction(district.runtime.factory) as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind == "staff.sign_in", AuditEvent.outcome != "ok")
            .order_by(AuditEvent.id)
        )
        return [(row.outcome, dict(row.detail), row.source_ip) for row in rows]


def test_a_kiosk_exchange_goes_through_while_a_staff_password_is_being_checked(
    server: LoopbackServer, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: the argon2 check ran inside the request's transaction, which on SQLite holds the
    write lock: here the check waits for the exchange, so that would never end."""
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as teacher:
        answer, landed = exchange_while_held(
            monkeypatch,
            "badge_server.staff_sign_in.verify_staff_password",
            lambda: sign_in(teacher, "lrivera").url.path,
            server.url,
            district.device_token,
            district.payloads[JOSE],
        )
    assert answer.status_code == 200, answer.text
    assert landed == ["/staff/classes"]


def test_a_flood_of_made_up_usernames_is_throttled_per_address_before_any_password_is_checked(
    browser: httpx.Client, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: the throttle counted per address *and username*, so a new username each time
    dodged it and every try cost an argon2 check."""
    checked: list[str | None] = []

    def counted_verify(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return staff.verify_staff_password(password_hash, password)

    monkeypatch.setattr("badge_server.staff_sign_in.verify_staff_password", counted_verify)
    fresh_minute()
    limit = district.runtime.settings.rate_staff_login_per_address_per_minute
    statuses = [sign_in(browser, f"nobody{n}", "guess").status_code for n in range(limit + 5)]
    assert statuses == [401] * limit + [429] * 5
    assert len(checked) == limit, "a throttled try costs no argon2 check"
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    assert sign_in(browser, "lrivera").status_code == 429  # the address waits out its minute...
    clock.advance(timedelta(seconds=61))
    assert sign_in(browser, "lrivera").url.path == "/staff/classes"  # ...and no one is locked out


def test_every_failed_staff_sign_in_is_audited_with_the_username_and_address(
    browser: httpx.Client, district: District
) -> None:
    """Finding 3: wrong password, unknown user, wrong code and throttled tries left no audit row."""
    add_staff(district, "admin", "district_admin")
    fresh_minute()
    assert sign_in(browser, "  Admin ", "wrong password").status_code == 401
    assert sign_in(browser, "ghost", "whatever").status_code == 401
    step = sign_in(browser, "admin")  # right password: on to the second factor (set-up here)
    assert step.url.path == "/staff/mfa/setup"
    per_user = district.runtime.settings.rate_staff_login_per_user_per_minute
    for _ in range(per_user):
        sign_in(browser, "ghost", "again")
    rows = refusals(district)
    assert rows[0] == ("refused", {"username": "admin", "step": "password"}, "127.0.0.1")
    assert rows[1] == ("refused", {"username": "ghost", "step": "password"}, "127.0.0.1")
    assert ("throttled", {"username": "ghost", "step": "password"}, "127.0.0.1") in rows
    assert all(PASSWORD not in str(detail) and "wrong password" not in str(detail) for _, detail, _ in rows)
    setup = browser.post("/staff/mfa/setup", data={"code": "000000", "csrf": csrf_of(step)})
    assert setup.status_code == 401
    assert refusals(district)[-1] == ("refused", {"username": "admin", "step": "code"}, "127.0.0.1")


def admin_with_totp(browser: httpx.Client, district: District) -> tuple[str, list[str]]:
    """A district admin with TOTP set up: its secret and recovery codes."""
    add_staff(district, "admin", "district_admin")
    setup = sign_in(browser, "admin")
    secret = re.search(r'<code class="big">([A-Z2-7]+)</code>', setup.text)
    assert secret
    codes_page = browser.post("/staff/mfa/setup", data={"code": code_at(secret[1], 0), "csrf": csrf_of(setup)})
    codes = re.findall(r'<code class="big">([a-z2-7-]+)</code>', codes_page.text)
    return secret[1], codes


def code_at(secret: str, steps_from_now: int) -> str:
    """The TOTP code of the server's clock (tests move it), some 30-second steps from now."""
    return pyotp.TOTP(secret).at(clock.utcnow() + timedelta(seconds=30 * steps_from_now))


def second_step(server: LoopbackServer, code: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as fresh:
        step = sign_in(fresh, "admin")
        assert step.url.path == "/staff/mfa"
        return fresh.post("/staff/mfa", data={"code": code, "csrf": csrf_of(step)})


def test_a_totp_code_works_once_even_within_its_window(
    browser: httpx.Client, server: LoopbackServer, district: District
) -> None:
    """Finding 9: a code seen over a shoulder could be typed again in the same 30 seconds."""
    secret, _ = admin_with_totp(browser, district)
    clock.advance(timedelta(seconds=30))  # the set-up's own code is used: a new step
    code = code_at(secret, 0)
    assert second_step(server, code).url.path == "/staff/classes"
    again = second_step(server, code)
    assert again.status_code == 401, "the same code a second time"
    assert second_step(server, code_at(secret, -1)).status_code == 401, "nor an older step's code"
    assert second_step(server, code_at(secret, 1)).url.path == "/staff/classes", "the next step's code works"


def test_guessing_codes_across_new_sign_ins_is_paused_for_longer_each_time_and_admins_are_told(
    browser: httpx.Client, server: LoopbackServer, district: District
) -> None:
    """Finding 2: wrong codes were counted per pending sign-in, and each password sign-in made a
    new one: guesses grew without bound. Now they are counted per account."""
    secret, _ = admin_with_totp(browser, district)
    clock.advance(timedelta(seconds=30))
    fresh_minute()
    pause_after = staff.PAUSE_AFTER_WRONG_CODES
    statuses = []
    for n in range(pause_after + 1):
        statuses.append(second_step(server, f"{n:06d}").status_code)  # a new sign-in for every guess
    assert statuses == [401] * pause_after + [429]
    paused = second_step(server, code_at(secret, 0))
    assert paused.status_code == 429 and "Too many wrong codes" in paused.text, "even the right code waits"
    assert 0 < int(paused.headers["retry-after"]) <= 60
    clock.advance(timedelta(minutes=1, seconds=1))
    assert second_step(server, "111111").status_code == 401  # one more wrong: a pause twice as long
    clock.advance(timedelta(minutes=1, seconds=1))
    assert second_step(server, code_at(secret, 0)).status_code == 429
    with transaction(district.runtime.factory) as session:
        alerts = session.scalars(select(AuditEvent).where(AuditEvent.kind == "staff.alert")).all()
        assert [a.detail["paused_minutes"] for a in alerts] == [1, 2]
    # Another admin sees it on the console's first page.
    add_staff(district, "other", "district_admin")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as other:
        sign_in_setting_up_totp(other, "other")
        first_page = other.get("/staff/admin")
        assert "Someone may be guessing a second-factor code" in first_page.text
        assert re.search(
            r"<strong>admin</strong>: 6 wrong codes in a row; codes paused until \d\d:\d\d UTC", first_page.text
        )
    clock.advance(timedelta(minutes=2, seconds=1))
    assert second_step(server, code_at(secret, 0)).url.path == "/staff/classes"  # the right code ends it
    with transaction(district.runtime.factory) as session:
        assert session.scalars(select(StaffUser).where(StaffUser.username == "admin")).one().wrong_codes == 0


def test_recovery_codes_hold_80_bits_or_more_and_are_stored_keyed(
    browser: httpx.Client, server: LoopbackServer, district: District
) -> None:
    """Finding 10: codes held 48 bits each, stored as unsalted SHA-256."""
    _, codes = admin_with_totp(browser, district)
    assert len(codes) == staff.RECOVERY_CODES and len(set(codes)) == len(codes)
    for code in codes:
        letters = code.replace("-", "")
        assert len(letters) * 5 >= 80 and set(letters) <= set("abcdefghijklmnopqrstuvwxyz234567")
    with transaction(district.runtime.factory) as session:
        stored = session.scalars(select(StaffUser).where(StaffUser.username == "admin")).one().recovery_code_digests
    plain = {hashlib.sha256(c.encode()).hexdigest() for c in codes} | {
        hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes
    }
    assert not plain & set(stored), "not a plain hash a stolen database could test guesses against"
    typed = codes[0].upper().replace("-", " ")  # read off paper: any case, spaces for dashes
    assert second_step(server, typed).url.path == "/staff/classes"
    assert second_step(server, codes[0]).status_code == 401, "each works once"


def roster_zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_anonymous_roster_upload_is_refused_before_its_body_is_read(server: LoopbackServer) -> None:
    """Finding 8: the upload's body (up to 100 MB, spooled to a temp file) was read before the
    caller was known. Now an anonymous caller is answered with only the headers sent."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            b"POST /staff/admin/roster HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=a\r\n"
            + f"Content-Length: {50 * 2**20}\r\n\r\n".encode()
        )
        head = raw.recv(4096)  # times out (socket.timeout) if the server waits for 50 MB first
    assert head.startswith(b"HTTP/1.1 303") and b"location: /staff/login" in head.lower()


def test_damaged_zip_members_are_refused_by_name_not_a_500(server: LoopbackServer, district: District) -> None:
    """Finding 11: a bad CRC, an encrypted member or a cut-off member made the upload a 500."""
    users = b"sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName\n"
    good = roster_zip(**{"users.csv": users * 50})
    start = good.index(b"users.csv") + len("users.csv")  # the local header's name; the data follows
    bad_crc = bytearray(good)
    bad_crc[start + 5] ^= 0xFF
    encrypted = bytearray(good)
    encrypted[6] |= 0x1  # the local header's "encrypted" flag
    central = good.rindex(b"PK\x01\x02")
    encrypted[central + 8] |= 0x1  # and the central directory's
    cut = good[: start + 20] + good[central:]
    add_staff(district, "it-admin", "district_admin")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as admin:
        sign_in_setting_up_totp(admin, "it-admin")
        csrf = csrf_of(admin.get("/staff/admin"))
        for label, data, why in (
            ("bad CRC", bytes(bad_crc), "cannot be unpacked"),
            ("encrypted", bytes(encrypted), "is encrypted"),
            ("cut off", cut, "cannot be unpacked"),
        ):
            answer = admin.post("/staff/admin/roster", data={"csrf": csrf}, files={"files": ("roster.zip", data)})
            assert answer.status_code == 400, (label, answer.status_code)
            shown = re.sub(r"\s+", " ", answer.text.split("<main>")[-1])
            assert "users.csv in roster.zip" in shown and why in shown, (label, shown[:400])
            assert "Nothing was changed" in answer.text
        forged = admin.post("/staff/admin/roster", data={"csrf": "forged"}, files={"files": ("roster.zip", good)})
        assert forged.status_code == 403


def test_a_school_admin_cannot_take_over_another_schools_account_through_its_roster_record(
    server: LoopbackServer, district: District
) -> None:
    """Finding 6: an account kept both a person_id and a school_id whatever its role, and was
    manageable when either matched: a Lake admin who is also a Maple teacher in the roster (a
    "My apps" link) could be reset by a Maple admin, who then signed in as them."""
    add_staff(district, "maple-admin", "school_admin", school_id="s-maple")
    add_staff(district, "lake-admin", "school_admin", school_id="s-lake", person_id="t-rivera")
    add_staff(district, "rivera", "teacher", person_id="t-rivera", school_id="s-lake")  # the form sent both
    with transaction(district.runtime.factory) as session:
        users = {u.username: u for u in session.scalars(select(StaffUser))}
        assert users["rivera"].school_id is None, "a teacher keeps no school of its own"
        lake_admin = users["lake-admin"].id
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as maple:
        sign_in_setting_up_totp(maple, "maple-admin")
        listed = maple.get("/staff/admin/staff")
        assert "lake-admin" not in listed.text and "rivera" in listed.text  # Rivera teaches at Maple
        csrf = csrf_of(listed)
        for action, data in (("password", {"password": "taken over by maple"}), ("reset-mfa", {}), ("disable", {})):
            answer = maple.post(f"/staff/admin/staff/{lake_admin}/{action}", data={"csrf": csrf, **data})
            assert answer.status_code == 404, action
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=10) as lake:
        assert sign_in(lake, "lake-admin").url.path == "/staff/mfa/setup", "their password is still theirs"
