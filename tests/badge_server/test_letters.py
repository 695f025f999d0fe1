"""Letters home from the CLI and the console, against a real database: every badge decodes to
its student, the printed password signs in, a Spanish-speaking family gets Spanish, and a
student without a badge stops the print with nothing given."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import func, select

from badge_server import badges, student_passwords
from badge_server.store.account_models import StudentPassword
from badge_server.store.db import transaction
from badge_server.store.models import Person
from kiosk_client.decoder import ZxingDecoder
from tests.support.api import audit_count
from tests.support.cli import badge_server
from tests.support.district import District
from tests.support.pdf import page_count, page_text, rasterise
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp


def cli_env(district: District) -> dict[str, str]:
    settings = district.runtime.settings
    return {
        "BADGE_DATA_DIR": str(settings.data_dir),
        "BADGE_DATABASE_URL": settings.database_url or "",
        "BADGE_SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else "",
        "BADGE_PUBLIC_URL": "https://badges.riverside.example",
    }


def passwords_given(district: District) -> int:
    with transaction(district.runtime.factory) as session:
        return session.scalar(select(func.count()).select_from(StudentPassword)) or 0


def test_a_class_letter_per_student_whose_badge_and_password_work(district: District, tmp_path: Path) -> None:
    with transaction(district.runtime.factory) as session:
        person = session.get(Person, "st-0002")
        assert person is not None
        person.language = "es-MX"
    output = tmp_path / "kg.pdf"
    done = badge_server(["print-letters", "--class", "k-maple-kg", "-o", str(output), "--json"], cli_env(district))
    assert done.returncode == 0, done.stderr
    pdf = output.read_bytes()
    assert page_count(pdf) == 10 and passwords_given(district) == 10
    with transaction(district.runtime.factory) as session:
        by_payload = {payload: person_id for person_id, payload in district.payloads.items()}
        for page in range(10):
            (code,) = ZxingDecoder().decode(rasterise(pdf, page, 150))
            person = session.get(Person, by_payload[code.text])
            assert person is not None
            text = page_text(pdf, page)
            assert person.display_name in text and person.username in text
            spanish = "Entrar desde casa" in text
            assert spanish == (person.id == "st-0002")
            printed = re.search(r"(?:Password|Contraseña):\s*([a-z]+[2-9]{2})", text)
            assert printed, text
            check = student_passwords.load_sign_in(session, person.username)
            assert student_passwords.verify(check, printed[1])
    assert audit_count(district.runtime, "letters.print") == 10


def test_a_student_without_a_badge_stops_the_print_and_nothing_is_given(district: District, tmp_path: Path) -> None:
    with transaction(district.runtime.factory) as session:
        badge = badges.current_badge(session, "st-0003")
        assert badge is not None
        badges.revoke(session, badge, actor="test")
    output = tmp_path / "kg.pdf"
    done = badge_server(["print-letters", "--class", "k-maple-kg", "-o", str(output)], cli_env(district))
    assert done.returncode == 2 and "Nguyễn" in done.stderr and "has no badge: issue one first" in done.stderr
    assert not output.exists() and not output.with_name("kg.pdf.partial").exists()
    assert passwords_given(district) == 0 and audit_count(district.runtime, "letters.print") == 0
    no_url = {k: v for k, v in cli_env(district).items() if k != "BADGE_PUBLIC_URL"}
    refused = badge_server(["print-letters", "--person", "st-0001", "-o", str(output)], no_url)
    assert refused.returncode == 2 and "BADGE_PUBLIC_URL" in refused.stderr


def test_a_teacher_downloads_letters_for_the_class_and_one_student_only_their_own(
    server: LoopbackServer, district: District
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as teacher:
        sign_in_setting_up_totp(teacher, "lrivera")
        page = teacher.get("/staff/classes/k-maple-kg")
        letters = teacher.post("/staff/classes/k-maple-kg/letters", data={"csrf": csrf_of(page), "page_size": "a4"})
        assert letters.status_code == 200 and letters.headers["content-type"] == "application/pdf"
        assert letters.headers["x-badge-count"] == "10" and page_count(letters.content) == 10
        one = teacher.post("/staff/classes/k-maple-kg/students/st-0001/letter", data={"csrf": csrf_of(page)})
        assert page_count(one.content) == 1 and f"{server.url}/sign-in/password" in page_text(one.content, 0)
        other = teacher.post("/staff/classes/k-maple-2/letters", data={"csrf": csrf_of(page)})
        forged = teacher.post("/staff/classes/k-maple-kg/letters", data={"csrf": "forged"})
        assert other.status_code == 404 and forged.status_code == 403
