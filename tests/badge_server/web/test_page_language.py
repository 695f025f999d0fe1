"""Which language a child's page speaks, and that a message from the code stays plain text in it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from starlette.requests import Request

from badge_server.store.db import transaction
from badge_server.store.models import Person
from badge_server.web.templating import page_language, templates
from tests.support.api import exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer


def request_with(accept: str) -> Request:
    return Request({"type": "http", "headers": [(b"accept-language", accept.encode())]})


@pytest.mark.parametrize(
    ("accept", "roster", "chosen"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", None, "es"),
        ("fr-FR, en;q=0.5, ar;q=0.7", None, "ar"),  # by weight, not by order
        ("fr-FR,de;q=0.9", None, "en"),  # nothing we speak: English
        ("en-US", "es-419", "es"),  # the roster's language first
        ("ar", "vi", "ar"),  # a roster language we do not speak yet: the browser's
        ("es;q=nonsense, ar", None, "ar"),
        ("", None, "en"),
    ],
)
def test_the_roster_language_then_the_browsers_then_english(accept: str, roster: str | None, chosen: str) -> None:
    assert page_language(request_with(accept), roster) == chosen


def test_a_message_from_the_code_is_translated_but_never_taken_as_markup() -> None:
    page = templates.env.from_string("<h1>{{ message | translate }}</h1><p>{{ _('Sign out') }}</p>")
    assert page.render(message="That's not right. Try again.", language="es") == (
        "<h1>No es correcto. Inténtalo otra vez.</h1><p>Salir</p>"
    )
    assert page.render(message="<img src=x onerror=alert(1)>", language="ar") == (
        "<h1>&lt;img src=x onerror=alert(1)&gt;</h1><p>خروج</p>"
    )


def test_an_empty_message_stays_empty_in_every_language() -> None:
    """A failure with no device to name: gettext("") would be the catalogue's header."""
    page = templates.env.from_string("<td>{{ place | translate }}</td>")
    assert {page.render(place="", language=language) for language in ("en", "es", "ar")} == {"<td></td>"}


def test_a_refusal_on_the_way_to_an_app_is_told_in_the_childs_language(server: LoopbackServer) -> None:
    """A hand-off link used up or made up (a kiosk tile's): the page a child sees, in Spanish."""
    with httpx.Client(base_url=server.url, timeout=20, headers={"Accept-Language": "es"}) as browser:
        page = browser.get("/handoff/no-such-code")
    assert page.status_code >= 400 and '<html lang="es" dir="ltr">' in page.text
    assert "Volver a mis aplicaciones" in page.text
    assert "<h1>No funcionó. Vuelve al quiosco y toca tu aplicación otra vez.</h1>" in page.text


def test_the_exchange_tells_the_kiosk_the_students_roster_language(
    server: LoopbackServer, district: District, http: httpx.Client
) -> None:
    with transaction(district.runtime.factory) as db:
        db.execute(update(Person).where(Person.id == "st-0001").values(language="es-MX"))
        db.execute(update(Person).where(Person.id == "st-0003").values(language="vi"))  # not one we speak yet
    languages = {
        person_id: exchange(http, district.device_token, district.payloads[person_id]).json()["user"]["language"]
        for person_id in ("st-0001", "st-0002", "st-0003")
    }
    assert languages == {"st-0001": "es", "st-0002": None, "st-0003": None}
