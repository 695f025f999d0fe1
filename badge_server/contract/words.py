"""Words and looks of the kiosk's screens, in English and Spanish. Short: the readers are five.

Shared by the Qt kiosk and the server's browser scanner page, so both say the same thing, and
both show the same state for the same API error code.
"""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "ready": "Show your badge",
        "ready_hint": "Hold it in the box",
        "reading": "Reading…",
        "welcome": "Hi, {name}!",
        "not_a_badge": "That's not a login badge",
        "replaced": "This badge was replaced. Ask your teacher",
        "not_accepted": "This badge does not work. Ask your teacher",
        "expired": "This badge is too old. Ask your teacher",
        "too_many": "Too many tries. Wait {seconds}",
        "unreachable": "Can't reach the server. Trying again…",
        "no_camera": "No camera. Ask a grown-up",
        "too_dark": "Too dark. Turn on a light",
        "pin": "Type your secret number",
        "pin_wrong": "Not right. Try again",
        "sign_out": "Sign out",
        "signed_out": "Bye!",
        "not_enrolled": "This kiosk is not set up. Ask IT",
        "no_permission": "The camera is turned off. Ask a grown-up",
        "home_off": "Badges don't work at home here. Use your password",
        "pin_not_set": "Ask your teacher for your secret number",
    },
    "es": {
        "ready": "Muestra tu tarjeta",
        "ready_hint": "Ponla en el cuadro",
        "reading": "Leyendo…",
        "welcome": "¡Hola, {name}!",
        "not_a_badge": "Esa no es tu tarjeta de entrada",
        "replaced": "Esta tarjeta fue cambiada. Pregunta a tu maestra",
        "not_accepted": "Esta tarjeta no funciona. Pregunta a tu maestra",
        "expired": "Esta tarjeta ya venció. Pregunta a tu maestra",
        "too_many": "Demasiados intentos. Espera {seconds}",
        "unreachable": "No hay conexión. Intentando otra vez…",
        "no_camera": "No hay cámara. Pide ayuda a un adulto",
        "too_dark": "Está muy oscuro. Enciende una luz",
        "pin": "Escribe tu número secreto",
        "pin_wrong": "No es correcto. Inténtalo otra vez",
        "sign_out": "Salir",
        "signed_out": "¡Adiós!",
        "not_enrolled": "Este quiosco no está configurado. Pide ayuda a TI",
        "no_permission": "La cámara está apagada. Pide ayuda a un adulto",
        "home_off": "Aquí la tarjeta no funciona en casa. Usa tu contraseña",
        "pin_not_set": "Pide tu número secreto en la escuela",
    },
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
