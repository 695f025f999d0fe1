"""The words of the letter home, per language. Plain and short: the reader may be a parent who
reads the language of the letter slowly. Spanish is neutral (no "tu maestra"): "la escuela",
"el maestro o la maestra". Placeholders: {name}, {school}, {url}."""

from __future__ import annotations

# ruff: noqa: E501 - whole sentences, easier to translate and review than wrapped strings

LETTER_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Signing in at home",
        "for": "For {name}",
        "intro": "{name} can use their school apps at home with this badge. No typing is needed.",
        "cut": "Cut out the badge. Keep it safe, like a key.",
        "step1": "On a computer, tablet or phone with a camera, open:",
        "step2": "Allow the camera if the browser asks. Hold the badge up to the camera.",
        "step3": "{name}'s apps open. Tap an app to start.",
        "no_camera": "No camera? Use a username and password",
        "open": "Open:",
        "username": "Username:",
        "password": "Password:",
        "chosen": "the password {name} chose",
        "trouble": "If it does not work",
        "trouble1": "The camera: when the browser asks, choose Allow. If you said no, click the camera icon in the address bar.",
        "trouble2": "Light and distance: use a bright room, hold the badge flat about one arm's length away, and keep it still.",
        "trouble3": "Still no luck? Use the username and password above.",
        "trouble4": "Lost the badge or the password? Ask {school}: a new one can be printed and the old one stops working.",
        "footer": "This badge and password open {name}'s school apps. Do not share them or post a photo of them.",
        "picture_scan": "The sign-in page",
        "picture_apps": "The apps",
    },
    "es": {
        "title": "Entrar desde casa",
        "for": "Para {name}",
        "intro": "{name} puede usar sus aplicaciones de la escuela en casa con esta tarjeta. No hace falta escribir.",
        "cut": "Recorte la tarjeta. Guárdela bien, como una llave.",
        "step1": "En una computadora, tableta o teléfono con cámara, abra:",
        "step2": "Si el navegador lo pide, permita la cámara. Muestre la tarjeta a la cámara.",
        "step3": "Se abren las aplicaciones de {name}. Toque una para empezar.",
        "no_camera": "¿No tiene cámara? Use un usuario y una contraseña",
        "open": "Abra:",
        "username": "Usuario:",
        "password": "Contraseña:",
        "chosen": "la contraseña que eligió {name}",
        "trouble": "Si no funciona",
        "trouble1": "La cámara: cuando el navegador pregunte, elija Permitir. Si dijo que no, haga clic en el icono de la cámara en la barra de direcciones.",
        "trouble2": "Luz y distancia: use un lugar con buena luz, sostenga la tarjeta derecha a un brazo de distancia y sin moverla.",
        "trouble3": "¿Sigue sin funcionar? Use el usuario y la contraseña de arriba.",
        "trouble4": "¿Perdió la tarjeta o la contraseña? Pregunte en {school}: se puede imprimir una nueva y la anterior deja de funcionar.",
        "footer": "Esta tarjeta y la contraseña abren las aplicaciones escolares de {name}. No las comparta ni publique fotos de ellas.",
        "picture_scan": "La página para entrar",
        "picture_apps": "Las aplicaciones",
    },
}


def letter_language(preferred: str | None, school_default: str = "en") -> str:
    """The family's language where the roster has one we print ("es-MX" -> "es"), else the school's."""
    for candidate in (preferred, school_default):
        code = (candidate or "").strip().lower().replace("_", "-").split("-")[0]
        if code in LETTER_WORDS:
            return code
    return "en"
