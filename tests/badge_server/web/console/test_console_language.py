"""The console in the staff member's language (their browser's, where we speak it): every word a
template shows is marked for the catalogues, and every page, rendered in Spanish and in Arabic,
shows none of its English."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest

from badge_printing.sheets import CoverWords
from badge_server.contract.words import catalogue
from badge_server.printing import cover_words
from badge_server.web.templating import WEB_DIR
from tests.support.district import District
from tests.support.oidc_app import browser_for, scan
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp

#: The staff console's templates and the child's pages (templates/docs is the IT guide, English).
PAGE_TEMPLATES = sorted((WEB_DIR / "templates" / "console").glob("*.html"))
PAGE_TEMPLATES += sorted((WEB_DIR / "templates" / "student").glob("*.html"))
#: Words left as they are in every language: product and protocol names, paper sizes, the time
#: zone's name, the audit log's outcome codes (what the filter matches), an enrolment code's shape.
NAMES = ("SAML", "NameID", "US Letter", "A4", "UTC", "ok, badge_replaced", "XXXXX-XXXXX")
SHOWN_ATTRIBUTES = ("alt", "aria-label", "placeholder", "title", "data-confirm")


class ShownText(HTMLParser):
    """The words a person sees (or hears, from a screen reader) on a page: text outside
    <code>, <pre>, <script> and <style>, and the attributes that are read out."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "pre", "script", "style"):
            self._hidden += 1
        self.shown += [value.strip() for name, value in attrs if name in SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre", "script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.shown.append(data.strip())


def shown_text(html: str) -> list[str]:
    parser = ShownText()
    parser.feed(html)
    return parser.shown


def words_left_unmarked(template: Path) -> list[str]:
    """A template's words outside {% trans %} blocks and ``_()``: with every Jinja tag, expression
    and comment taken out, what still has letters in it."""
    source = template.read_text()
    source = re.sub(r"\{%\s*block body_class\s*%\}.*?\{%\s*endblock\s*%\}", " ", source)  # a class name
    source = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", " ", source, flags=re.DOTALL)
    source = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.DOTALL)
    left = []
    for text in shown_text(source):
        for name in NAMES:
            text = text.replace(name, "")
        if re.search(r"[^\W\d_]", text):
            left.append(text)
    return left


@pytest.mark.parametrize("template", PAGE_TEMPLATES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_word_of_every_page_template_is_marked_for_translation(template: Path) -> None:
    assert words_left_unmarked(template) == []


def test_the_check_finds_an_unmarked_word(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('<h1>{{ _("Schools") }}</h1><p>{% trans %}All {{ n }}{% endtrans %} left</p><img alt="A chart">')
    assert words_left_unmarked(page) == ["left", "A chart"]


ADMIN_PAGES = [
    "/staff/classes",
    "/staff/classes/k-maple-kg",
    "/staff/classes/k-maple-kg/today",
    "/staff/classes/k-maple-kg/students/st-0001",
    "/staff/admin",
    "/staff/admin/today",
    "/staff/admin/people",
    "/staff/admin/devices",
    "/staff/admin/staff",
    "/staff/admin/badge-policy",
    "/staff/admin/home-sign-in",
    "/staff/admin/apps",
    "/staff/admin/apps/new",
    "/staff/admin/apps/starfall",
    "/staff/admin/sso",
    "/staff/admin/saml",
    "/staff/admin/audit",
    "/staff/account/password",
]


def english_left(page: str, language: str) -> list[str]:
    """The page's shown words that are one of the catalogue's English messages where the language
    has other words for it: a message the page did not translate."""
    translated = catalogue(language)
    return [text for text in shown_text(page) if re.search(r"[^\W\d_]{2}", text) and translated.gettext(text) != text]


@pytest.mark.parametrize(("language", "direction"), [("es", "ltr"), ("ar", "rtl")])
def test_every_console_page_speaks_the_browsers_language(
    server: LoopbackServer, district: District, language: str, direction: str
) -> None:
    add_staff(district, "it-admin", "district_admin")
    headers = {"Accept-Language": f"{language},en;q=0.5"}
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30, headers=headers) as admin:
        sign_in_setting_up_totp(admin, "it-admin")
        for path in ["/staff/login", *ADMIN_PAGES]:
            page = admin.get(path)
            assert page.status_code == 200, (path, page.status_code)
            assert f'<html lang="{language}" dir="{direction}">' in page.text, path
            assert english_left(page.text, language) == [], path


def test_the_printing_librarys_cover_words_are_the_catalogues_english() -> None:
    assert cover_words("en") == CoverWords()


@pytest.mark.parametrize("language", ["es", "ar"])
def test_a_class_sets_cover_page_is_in_the_teachers_language(
    server: LoopbackServer, district: District, language: str
) -> None:
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    headers = {"Accept-Language": language}
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60, headers=headers) as teacher:
        sign_in_setting_up_totp(teacher, "lrivera")
        page = teacher.get("/staff/classes/k-maple-kg")
        form = {"csrf": csrf_of(page), "template": "square-2in-letter"}
        printed = teacher.post("/staff/classes/k-maple-kg/print", data=form)
    assert printed.headers["content-type"] == "application/pdf"
    cover = pdfium.PdfDocument(printed.content)[0]
    text = cover.get_textpage()
    words = cover_words(language)
    if language == "es":
        assert words.how_to_print in text.get_text_range() and "hoja 1, fila 1, col. 1" in text.get_text_range()
    else:
        # Arabic lines start at the right margin (54 pt in from the edge): every line ends there.
        pieces = sorted(text.get_rect(index) for index in range(text.count_rects()))
        lines: list[list[float]] = []  # [middle, right end] of each line, its pieces merged
        for _left, bottom, right, top in sorted(pieces, key=lambda piece: piece[1] + piece[3]):
            middle = (bottom + top) / 2
            if lines and middle - lines[-1][0] < 4:
                lines[-1][1] = max(lines[-1][1], right)
            else:
                lines.append([middle, right])
        assert len(lines) > 3  # the title, two lines of instructions, a line per student
        assert all(abs(end - (cover.get_width() - 54)) < 2 for _middle, end in lines), lines


@pytest.mark.parametrize("language", ["es", "ar"])
def test_the_childs_pages_speak_the_browsers_language_too(
    server: LoopbackServer, district: District, language: str
) -> None:
    """The sign-in, signed-out, scanner and refusal pages, and a dashboard after a kiosk's launch
    (in the roster's language where the student has one, else the browser's)."""
    headers = {"Accept-Language": language}
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30, headers=headers) as browser:
        pages = [browser.get(path) for path in ("/sign-in/password", "/signed-out", "/scan", "/launch/no-such-code")]
    with browser_for(server.url, district) as scanner:  # a scanner's browser, set up; a badge held up
        scanner.headers["Accept-Language"] = language
        assert scan(scanner, district, "st-0002").status_code in (302, 303)
        pages.append(scanner.get("/dashboard"))
    for page in pages:
        spoken = re.search(r'<html lang="(\w+)"', page.text)
        assert spoken and spoken[1] in ("es", "ar"), page.url
        assert english_left(page.text, spoken[1]) == [], page.url
