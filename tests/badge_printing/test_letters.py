"""The letter home as a family gets it: rasterised, its badge decoded, its words in their language."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from badge_printing.errors import LayoutError
from badge_printing.letters import PICTURES, LetterHome, render_letters
from kiosk_client.decoder import ZxingDecoder
from tests.support.cards import cards
from tests.support.pdf import page_count, page_text, rasterise

GIVEN = "tigermoon47"  # a generated student password, as a teacher gives it


def letter(name: str, language: str = "en", password: str | None = GIVEN) -> LetterHome:
    (card,) = cards(1)
    return LetterHome(
        card=card,
        student_name=name,
        school="Maple Street Elementary",
        sign_in_url="https://badges.riverside.example",
        username="s00002",
        password=password,
        language=language,
    )


def test_one_page_per_student_each_with_their_own_badge_and_password() -> None:
    letters = [letter("José García"), letter("Zoë Müller", "es"), letter("王小明"), letter("محمد العلي", password=None)]
    letters.append(letter("Maximilian-Alexander Featherstonehaugh-Worthington"))
    pdf = render_letters(letters, "a4")
    assert page_count(pdf) == len(letters)
    for page, sent in enumerate(letters):
        found = ZxingDecoder().decode(rasterise(pdf, page, 150))
        assert [code.text for code in found] == [sent.card.payload], page
        text = page_text(pdf, page)
        assert "https://badges.riverside.example/scan" in text and "s00002" in text
        assert ("tigermoon47" in text) == (sent.password is not None)
    assert "Entrar desde casa" in page_text(pdf, 1) and "Contraseña" in page_text(pdf, 1)
    assert "Signing in at home" in page_text(pdf, 0) and "the password" in page_text(pdf, 3)


def test_bad_letters_are_refused_by_name() -> None:
    with pytest.raises(LayoutError, match="no letter words for language 'xx'"):
        letter("Ana", "xx")
    with pytest.raises(LayoutError, match="no letters to print"):
        render_letters([])
    with pytest.raises(LayoutError, match="page size must be one of letter, a4"):
        render_letters([letter("Ana")], "legal")


def test_the_letters_pictures_hold_no_readable_code() -> None:
    """A letter carries one code, the child's own: the scanner's picture shows the demo badge,
    which a kiosk camera would read (mirrored too) and a test decoding the page sometimes did."""
    for picture in sorted(PICTURES.glob("*/*.png")):
        with Image.open(picture) as image:
            gray = image.convert("L")
            for view in (gray, gray.transpose(Image.Transpose.FLIP_LEFT_RIGHT)):
                assert zxingcpp.read_barcodes(view) == [], picture
