"""The one Jinja environment every page renders with, and the two ways a page is rendered.

Staff console pages live in ``templates/console/``, the pages a child sees in
``templates/student/``; both are sent with ``Cache-Control: no-store``, because on a shared
computer the back button must not show the last person's page from the cache.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_skeleton
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from badge_server.contract.words import LANGUAGES, RIGHT_TO_LEFT, catalogue
from badge_server.staff_words import StaffMessage
from badge_server.store.models import StaffSession

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


@pass_context
def _local_time(context: Context, moment: datetime | None, skeleton: str = "Hm") -> str:
    """A stored (UTC) time as the district's clock shows it (``BADGE_TIMEZONE``), in the page's
    language: ``skeleton`` names the parts (CLDR: ``Hm`` the time, ``MMMEd`` the day, ``MMMEd Hm``
    both), and each language orders and words them its own way. A ``%`` layout is kept as it is,
    for the audit log's sortable times."""
    if moment is None:
        return ""
    zone = context["request"].app.state.runtime.settings.zone
    if skeleton.startswith("%"):
        return moment.astimezone(zone).strftime(skeleton)
    language = context.get("language", "en")
    return " ".join(format_skeleton(part, moment, tzinfo=zone, locale=language) for part in skeleton.split())


@pass_context
def _long_day(context: Context, day: date) -> str:
    """A calendar day in full, in the page's language ("Thursday, December 3, 2026")."""
    return format_date(day, "full", locale=context.get("language", "en"))


def _shown(value: object, language: str) -> object:
    return format_date(value, "medium", locale=language) if isinstance(value, date) else value


templates.env.filters["local"] = _local_time
templates.env.filters["long_day"] = _long_day


# A child's pages speak the child's language: the catalogues the kiosk uses (contract/locale),
# chosen per page (``language`` in the page's context), so one environment serves every language.
@pass_context
def _translate(context: Context, message: str | StaffMessage) -> str:
    """A message in the page's language. As ``_()``, the i18n extension marks the result safe (for
    a template's own words); as the ``translate`` filter (``{{ error | translate }}``, a message
    from the code, perhaps a :class:`StaffMessage` with values) it is escaped like any text. A
    message no catalogue knows (an error naming a value) stays as it is."""
    if not message:  # gettext("") is the catalogue's header, not an empty message
        return ""
    language = context.get("language", "en")
    if isinstance(message, StaffMessage):
        values = {name: _shown(value, language) for name, value in message.values.items()}
        return catalogue(language).gettext(message.text) % values
    return catalogue(language).gettext(message)


@pass_context
def _translate_plural(context: Context, singular: str, plural: str, count: int) -> str:
    return catalogue(context.get("language", "en")).ngettext(singular, plural, count)


templates.env.filters["translate"] = _translate
templates.env.add_extension("jinja2.ext.i18n")
# A {% trans %} block's message is its words with the line breaks and indents of the template
# folded to single spaces, so a translator sees a sentence, not the template's layout.
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_gettext_callables(_translate, _translate_plural, newstyle=True)  # type: ignore[attr-defined]


def page_language(request: Request, preferred: str | None = None) -> str:
    """The roster's language for the student where we speak it, else the browser's first one we
    speak (``Accept-Language``, by its weights), else English."""
    wanted = [(preferred or "", 2.0)]
    for part in request.headers.get("accept-language", "").split(",")[:20]:
        tag, _, weight = part.strip().partition(";q=")
        try:
            wanted.append((tag, float(weight) if weight else 1.0))
        except ValueError:
            continue
    for tag, _weight in sorted(wanted, key=lambda pair: -pair[1]):
        language = tag.strip().lower()[:2]
        if language in LANGUAGES:
            return language
    return "en"


def _spoken_in(language: str) -> dict[str, str]:
    """What a page's base template needs of its language: the ``lang`` and its reading direction."""
    return {"language": language, "text_direction": "rtl" if language in RIGHT_TO_LEFT else "ltr"}


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


def render_page(
    request: Request, name: str, record: StaffSession | None = None, status: int = 200, **values: Any
) -> HTMLResponse:
    """A staff console page (``templates/console/NAME``), with the signed-in staff member and CSRF
    token, in the language of the staff member's browser where we speak it."""
    context = {
        "staff": record.staff if record and record.mfa_done else None,
        "csrf": record.csrf_token if record else values.pop("csrf", ""),
        **_spoken_in(page_language(request)),
        **values,
    }
    return _no_store(templates.TemplateResponse(request, f"console/{name}", context, status_code=status))


def student_page(
    request: Request, name: str, status: int = 200, *, language: str | None = None, **values: object
) -> HTMLResponse:
    """A page a child sees (``templates/student/NAME``), in their language (``language``: the
    roster's, where the page knows the student)."""
    values.update(_spoken_in(page_language(request, language)))
    return _no_store(templates.TemplateResponse(request, f"student/{name}", values, status_code=status))
