"""Staff accounts and the console's sign-in, as a person's browser does it (forms with CSRF, TOTP)."""

from __future__ import annotations

import re
import time

import httpx
import pyotp

from badge_server import clock
from badge_server.staff import create_staff
from badge_server.store.db import transaction
from tests.support.district import District

PASSWORD = "correct horse battery staple"


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found[1]


def sign_in(browser: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    form = browser.get("/staff/login")
    return browser.post("/staff/login", data={"username": username, "password": password, "csrf": csrf_of(form)})


def add_staff(district: District, username: str, role: str, password: str = PASSWORD, **where: str) -> None:
    with transaction(district.runtime.factory) as session:
        create_staff(session, username, password, role, actor="test", **where)


def sign_in_setting_up_totp(browser: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in; where the account must set up its second factor first, do so with a fresh code."""
    step = sign_in(browser, username, password)
    secret = re.search(r'<code class="big">([A-Z2-7]+)</code>', step.text)
    if secret:
        # The server's clock, which a test may have moved on.
        code = pyotp.TOTP(secret[1]).at(clock.utcnow())
        step = browser.post("/staff/mfa/setup", data={"code": code, "csrf": csrf_of(step)})
    return step


def until_imported(admin: httpx.Client, answer: httpx.Response, seconds: float = 120) -> httpx.Response:
    """A roster upload's answer followed to its end: the import's page, reloaded (as its own
    refresh does in a browser) until the import finished."""
    deadline = time.monotonic() + seconds
    while "data-running" in answer.text:
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.1)
        answer = admin.get(answer.url)
    return answer
