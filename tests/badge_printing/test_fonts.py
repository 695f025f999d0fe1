"""Right-to-left lines in display order: reordered by the Unicode bidi algorithm, brackets mirrored."""

from __future__ import annotations

from arabic_reshaper import reshape

from badge_printing.fonts import visual_order


def test_brackets_around_arabic_words_face_the_words() -> None:
    # "(الحجم الفعلي)" read right to left: drawn left to right, the bracket on the left must open
    # to the right, "(", and the one on the right must close, ")" (python-bidi alone gave ")...(").
    drawn = visual_order("اطبع (الحجم الفعلي) 100%")
    assert drawn.startswith("%100 (") and drawn.endswith(reshape("اطبع")[::-1])
    assert drawn.index("(") < drawn.index(")")


def test_a_latin_name_and_its_reference_stay_in_their_own_order_inside_arabic() -> None:
    drawn = visual_order("الورقة 1، José García (R0)")
    assert drawn.startswith("José García (R0) ")


def test_left_to_right_text_is_drawn_as_it_is() -> None:
    assert visual_order("Ana (R3) [a] «b»") == "Ana (R3) [a] «b»"


def test_an_isolated_date_keeps_its_order_after_arabic_words_and_its_marks_are_not_drawn() -> None:
    assert visual_order("طبعت في \u20662026-12-04\u2069.").startswith(".2026-12-04 ")
    assert visual_order("طبعت في 2026-12-04.").startswith(".04-12-2026 ")  # why the isolate is needed
    assert visual_order("Printed \u20662026-12-04\u2069.") == "Printed 2026-12-04."
