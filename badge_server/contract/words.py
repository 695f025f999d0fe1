"""Words and looks of the kiosk's screens, in English, Spanish and Arabic. Short: the readers are five.

Shared by the Qt kiosk and the server's browser scanner page, so both say the same thing, and
both show the same state for the same API error code.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path


def N_(message: str) -> str:
    """Marks an English message for the catalogues (scripts/translations extracts it); translated later."""
    return message


#: The English words, the catalogues' source (locale/badge.pot); each language's are in
#: locale/<language>/LC_MESSAGES/badge.po, compiled to .mo beside it (scripts/translations).
ENGLISH: dict[str, str] = {
    "ready": N_("Show your badge"),
    "ready_hint": N_("Hold it in the box"),
    "reading": N_("Reading…"),
    "welcome": N_("Hi, {name}!"),
    "not_a_badge": N_("That's not a login badge"),
    "replaced": N_("This badge was replaced. Ask your teacher"),
    "not_accepted": N_("This badge does not work. Ask your teacher"),
    "expired": N_("This badge is too old. Ask your teacher"),
    "too_many": N_("Too many tries. Wait {seconds}"),
    "unreachable": N_("Can't reach the server. Trying again…"),
    "no_camera": N_("No camera. Ask a grown-up"),
    "too_dark": N_("Too dark. Turn on a light"),
    "pin": N_("Type your secret number"),
    "pin_wrong": N_("Not right. Try again"),
    "sign_out": N_("Sign out"),
    "signed_out": N_("Bye!"),
    "not_enrolled": N_("This kiosk is not set up. Ask IT"),
    "no_permission": N_("The camera is turned off. Ask a grown-up"),
    "home_off": N_("Badges don't work at home here. Use your password"),
    "pin_not_set": N_("Ask your teacher for your secret number"),
    "use_password": N_("No camera? Use my username and password"),
    "setup_scanner": N_("Setting up a school scanner?"),
}

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "badge"
#: Every language the kiosk and the scanner speak; the first is the catalogues' source.
LANGUAGES = ("en", "es", "ar")
RIGHT_TO_LEFT = frozenset({"ar"})


def spoken(language: str | None) -> str | None:
    """A roster's language tag (``es-MX``, ``ar``, ``Spanish``...) as one of ours, else ``None``."""
    code = (language or "").strip().lower()[:2]
    return code if code in LANGUAGES else None


def catalogue(language: str) -> gettext.NullTranslations:
    """The language's compiled catalogue; English (the source) for any other."""
    return _read_catalogue(language if language in LANGUAGES else "en")


@cache  # one per language we speak: gettext finds the file again on every call (16 us), and a page asks per message
def _read_catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


#: Every key in every language, as the browser scanner page embeds them.
STRINGS: dict[str, dict[str, str]] = {
    language: {key: catalogue(language).gettext(english) for key, english in ENGLISH.items()} for language in LANGUAGES
}


# How each state looks: an icon and a shape as well as a colour, so no child depends on colour.
STATE_LOOKS: dict[str, tuple[str, str, str]] = {
    "ready": ("▣", "circle", "#30638e"),
    "reading": ("…", "circle", "#a86b00"),
    "welcome": ("✓", "circle", "#23857a"),
    "not_a_badge": ("?", "triangle", "#c4502f"),
    "replaced": ("✋", "octagon", "#d1495b"),
    "not_accepted": ("✋", "octagon", "#d1495b"),
    "expired": ("✋", "octagon", "#d1495b"),
    "too_many": ("⏳", "square", "#6a4c93"),
    "unreachable": ("⚡", "diamond", "#5c6770"),
    "no_camera": ("⊘", "diamond", "#5c6770"),
    "no_permission": ("⊘", "diamond", "#5c6770"),
    "too_dark": ("☀", "square", "#3d405b"),
    "pin": ("#", "circle", "#30638e"),
    "not_enrolled": ("⚙", "diamond", "#5c6770"),
    "dashboard": ("✓", "circle", "#23857a"),
    "home_off": ("⌂", "octagon", "#5c6770"),
    "pin_not_set": ("#", "octagon", "#d1495b"),
}


# The state a child sees for each API error code (``{"error": {"code": ...}}``, DESIGN.md).
ERROR_STATES: dict[str, str] = {
    "badge_replaced": "replaced",
    "badge_not_accepted": "not_accepted",
    "badge_expired": "expired",
    "rate_limited": "too_many",
    "pin_tries_used_up": "not_accepted",  # "This badge does not work. Ask your teacher": until tomorrow
    "not_a_badge": "not_a_badge",
    "device_not_authorized": "not_enrolled",
}

# The browser scanner also signs in at home (never the kiosk: it is always enrolled).
BROWSER_ERROR_STATES: dict[str, str] = {**ERROR_STATES, "home_sign_in_off": "home_off", "pin_not_set": "pin_not_set"}


def text(language: str, key: str, **values: object) -> str:
    return STRINGS.get(language, STRINGS["en"])[key].format(**values)
