"""The words children read, in every language the kiosk and the scanner speak (issue 18): every
message translated, the placeholders kept, Spanish in neutral wording, Arabic set right to left."""

from __future__ import annotations

import re

from badge_server.contract.words import ENGLISH, LANGUAGES, RIGHT_TO_LEFT, STRINGS, text


def test_every_message_is_translated_into_every_language_with_its_placeholders() -> None:
    assert LANGUAGES == ("en", "es", "ar")
    for language in LANGUAGES:
        assert set(STRINGS[language]) == set(ENGLISH)
        for key, english in ENGLISH.items():
            words = STRINGS[language][key]
            assert re.findall(r"\{\w+\}", words) == re.findall(r"\{\w+\}", english), (language, key)
            if language != "en":
                assert words != english, f"{language}: {key!r} is still English"
    assert all(re.search(r"[\u0600-\u06ff]", words) for words in STRINGS["ar"].values()), "Arabic script"
    assert {"ar"} == RIGHT_TO_LEFT


def test_spanish_does_not_assume_the_teacher_is_a_woman() -> None:
    spanish = " ".join(STRINGS["es"].values()).lower()
    assert "maestra" not in spanish and "maestro" not in spanish and "docente" in spanish
    assert "un adulto" not in spanish


def test_a_language_no_catalogue_has_falls_back_to_english() -> None:
    assert text("fr", "welcome", name="Zoë") == "Hi, Zoë!"
    assert text("ar", "welcome", name="Zoë") == "مرحبًا يا Zoë!"
