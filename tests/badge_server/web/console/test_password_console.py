"""Student passwords in the teacher's console over real HTTP: set one (the old one and its
sign-ins stop), show a given one again, give a whole class theirs, and only for one's own class."""

from __future__ import annotations

import re

import httpx

from badge_server import student_passwords
from badge_server.store.db import transaction
from tests.support.api import audit_count
from tests.support.district import District
from tests.support.passwords import give, sign_in
from tests.support.servers import LoopbackServer
from tests.support.staff import csrf_of

JOSE = "st-0001"  # Kindergarten – Ms. Rivera (k-maple-kg)
GRADE_2 = "st-0011"  # Grade 2 – Mr. Okafor (k-maple-2)
STUDENT_PAGE = "/staff/classes/k-maple-kg/students/" + JOSE


def passwords_on(page: httpx.Response) -> list[str]:
    return re.findall(r'<td class="secret">([a-z]+[2-9]{2})</td>', page.text)


def test_a_new_password_ends_the_old_one_and_its_sign_ins(
    teacher: httpx.Client, server: LoopbackServer, district: District
) -> None:
    old = give(district, JOSE)
    with httpx.Client(base_url=server.url, timeout=20) as home:
        assert sign_in(home, "s00002", old).status_code == 303
        assert home.get("/dashboard").status_code == 200
        page = teacher.get(STUDENT_PAGE)
        assert "Password given by test" in page.text
        made = teacher.post(STUDENT_PAGE + "/password", data={"csrf": csrf_of(page)})
        assert made.status_code == 200 and "The old password no longer works" in made.text
        (new,) = passwords_on(made)
        assert new != old and "1 open sign-in with it was ended" in made.text
        assert home.get("/dashboard").status_code == 303  # signed out at once, not at the idle time-out
    with httpx.Client(base_url=server.url, timeout=20) as home:
        assert sign_in(home, "s00002", old).status_code == 401
        assert sign_in(home, "s00002", new).status_code == 303
    shown = teacher.post(STUDENT_PAGE + "/password/show", data={"csrf": csrf_of(teacher.get(STUDENT_PAGE))})
    assert passwords_on(shown) == [new]
    assert audit_count(district.runtime, "password.show", "ok") == 1
    assert audit_count(district.runtime, "password.set") == 2


def test_a_class_gets_passwords_for_everyone_who_has_none(teacher: httpx.Client, district: District) -> None:
    kept = give(district, JOSE)
    page = teacher.get("/staff/classes/k-maple-kg")
    listed = teacher.post("/staff/classes/k-maple-kg/passwords", data={"csrf": csrf_of(page)})
    assert listed.status_code == 200
    given = passwords_on(listed)
    assert len(given) == 10 and kept in given  # José keeps his; nine new ones
    assert audit_count(district.runtime, "password.set") == 10
    usernames = re.findall(r'<td class="secret">(s\d{5})</td>', listed.text)
    with transaction(district.runtime.factory) as session:
        checks = [student_passwords.load_sign_in(session, username) for username in usernames]
    assert all(student_passwords.verify(check, password) for check, password in zip(checks, given, strict=True))


def test_a_teacher_cannot_touch_another_class_or_forge_the_form(teacher: httpx.Client, district: District) -> None:
    page = teacher.get(STUDENT_PAGE)
    other_class = teacher.post(f"/staff/classes/k-maple-2/students/{GRADE_2}/password", data={"csrf": csrf_of(page)})
    not_in_class = teacher.post(f"/staff/classes/k-maple-kg/students/{GRADE_2}/password", data={"csrf": csrf_of(page)})
    forged = teacher.post(STUDENT_PAGE + "/password", data={"csrf": "forged"})
    whole_class = teacher.post("/staff/classes/k-maple-2/passwords", data={"csrf": csrf_of(page)})
    assert other_class.status_code == not_in_class.status_code == whole_class.status_code == 404
    assert forged.status_code == 403
    assert audit_count(district.runtime, "password.set") == 0
