"""Student passwords for tests: give one as a teacher would, and sign in on the real page."""

from __future__ import annotations

import re

import httpx

from badge_server import student_passwords
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.district import District


def give(district: District, person_id: str, *, grade: str | None = None, identifier: str | None = None) -> str:
    """A teacher's generated password for the student (optionally in another grade, or with a
    student number, which the demo roster does not have)."""
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        person = session.get(Person, person_id)
        assert person is not None
        if grade is not None:
            person.grade = grade
        if identifier is not None:
            person.identifier = identifier
        return student_passwords.give_password(session, runtime.keys, runtime.settings, person, actor="test")


def form_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found[1]


def post_form(browser: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """Open the page as a browser does (which gives it the form token), then submit the form."""
    page = browser.get(path)
    assert page.status_code == 200, page.text[:500]
    return browser.post(path, data={"csrf": form_token(page), **fields})


def sign_in(browser: httpx.Client, username: str, password: str) -> httpx.Response:
    return post_form(browser, "/sign-in/password", username=username, password=password)
