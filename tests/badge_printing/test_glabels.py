"""Reading gLabels template files: the same geometry as our built-ins, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from badge_printing import BUILT_IN, TemplateError, render_sheets
from badge_printing.glabels import read_glabels
from tests.support.cards import cards
from tests.support.pdf import payloads_by_label

SAMPLE = Path(__file__).parent / "data" / "glabels-sample.xml"


@pytest.mark.parametrize(
    ("part", "built_in"), [("5395", "avery-5395"), ("Avery 8395", "avery-5395"), ("L4785", "avery-l4785")]
)
def test_glabels_geometry_matches_the_built_in_template(part: str, built_in: str) -> None:
    read = read_glabels(SAMPLE, part)
    ours = BUILT_IN[built_in]
    for field in (
        "page_width",
        "page_height",
        "columns",
        "rows",
        "label_width",
        "label_height",
        "left",
        "top",
        "pitch_x",
        "pitch_y",
        "corner_radius",
    ):
        assert getattr(read, field) == pytest.approx(getattr(ours, field), abs=0.05), field
    assert "gLabels template file glabels-sample.xml" in read.source


def test_a_glabels_template_prints_badges_that_scan_back() -> None:
    template = read_glabels(SAMPLE, "5395")
    batch = cards(8)
    pdf = render_sheets(batch, template)
    assert payloads_by_label(pdf, 1, template, 150) == {i: c.payload for i, c in enumerate(batch)}


@pytest.mark.parametrize(
    ("part", "message"),
    [("ROUND", "only rectangular labels"), ("OVERLAP", "labels overlap across"), ("9999", "no template for part")],
)
def test_unusable_templates_are_refused_with_the_reason(part: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        read_glabels(SAMPLE, part)


def test_not_xml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.xml"
    bad.write_text("<Glabels-templates><Template", encoding="utf-8")
    with pytest.raises(TemplateError, match="not readable XML"):
        read_glabels(bad, "5395")
