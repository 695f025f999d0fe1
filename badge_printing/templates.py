"""Sheet templates as validated data: page, grid, label size, pitch, margins, and where each
number came from. Geometry is in PostScript points (1/72 in), origin at the page's top left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from badge_printing.errors import TemplateError

MM = 72 / 25.4
INCH = 72.0
LETTER = (8.5 * INCH, 11 * INCH)
A4 = (210 * MM, 297 * MM)


@dataclass(frozen=True)
class SheetTemplate:
    """One kind of label or card stock."""

    name: str
    description: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    left: float  # page edge to the first label's left edge
    top: float  # page edge to the first label's top edge
    pitch_x: float  # left edge to left edge of neighbouring labels
    pitch_y: float
    corner_radius: float = 0.0
    safe_margin: float = 0.0625 * INCH  # keep print this far inside the label edge
    plain_paper: bool = False  # cut by hand: draw cut marks
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def label_origin(self, index: int) -> tuple[float, float]:
        """Top-left corner of label ``index`` (row by row), in points from the page's top left."""
        row, column = divmod(index, self.columns)
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y

    def validate(self) -> None:
        def fail(why: str) -> None:
            raise TemplateError(f"template {self.name!r}: {why}")

        if self.columns < 1 or self.rows < 1:
            fail(f"needs at least one row and column, has {self.rows} x {self.columns}")
        for label, value in (
            ("page width", self.page_width),
            ("page height", self.page_height),
            ("label width", self.label_width),
            ("label height", self.label_height),
        ):
            if value <= 0:
                fail(f"{label} must be positive, is {value:g} pt")
        if self.columns > 1 and self.pitch_x < self.label_width - 0.01:
            fail(f"labels overlap across: pitch {self.pitch_x:.2f} pt < width {self.label_width:.2f} pt")
        if self.rows > 1 and self.pitch_y < self.label_height - 0.01:
            fail(f"labels overlap down: pitch {self.pitch_y:.2f} pt < height {self.label_height:.2f} pt")
        right = self.left + (self.columns - 1) * self.pitch_x + self.label_width
        bottom = self.top + (self.rows - 1) * self.pitch_y + self.label_height
        if self.left < 0 or self.top < 0 or right > self.page_width + 0.01 or bottom > self.page_height + 0.01:
            fail(
                f"labels leave the page: they span x {self.left:.1f}..{right:.1f} and y {self.top:.1f}..{bottom:.1f} "
                f"pt on a {self.page_width:.1f} x {self.page_height:.1f} pt page"
            )
        if not 0 <= self.safe_margin < min(self.label_width, self.label_height) / 3:
            fail(f"safe margin {self.safe_margin:.2f} pt leaves no room on the label")
        if not 0 <= self.corner_radius <= min(self.label_width, self.label_height) / 2:
            fail(f"corner radius {self.corner_radius:.2f} pt is larger than half the label")


def _centred(
    name: str,
    description: str,
    page: tuple[float, float],
    columns: int,
    rows: int,
    width: float,
    height: float,
    gutter: float,
    **more: Any,
) -> SheetTemplate:
    left = (page[0] - columns * width - (columns - 1) * gutter) / 2
    top = (page[1] - rows * height - (rows - 1) * gutter) / 2
    return SheetTemplate(
        name,
        description,
        page[0],
        page[1],
        columns,
        rows,
        width,
        height,
        left,
        top,
        width + gutter,
        height + gutter,
        **more,
    )


_GLABELS = "gLabels template database (glabels-qt templates/{file}), part {part}"
_SQUARE_NOTE = (
    "2-inch square 12-up stocks do not share one geometry: published sheets differ in gutter "
    "(about 0.3 to 0.6 in) and margins. This centres the grid with 0.5 in gutters; print the "
    "calibration page over your stock and set --offset-x/--offset-y if it is off."
)

BUILT_IN: dict[str, SheetTemplate] = {
    t.name: t
    for t in (
        _centred(
            "square-2in-letter",
            "2 in square labels, 12 per US Letter sheet (3 x 4)",
            LETTER,
            3,
            4,
            2 * INCH,
            2 * INCH,
            0.5 * INCH,
            corner_radius=0.125 * INCH,
            source="derived: 2 in labels centred on Letter with 0.5 in gutters (the 12-up format of common badge PDFs)",
            notes=_SQUARE_NOTE,
        ),
        SheetTemplate(
            "avery-5395",
            "Name badge labels 3 3/8 x 2 1/3 in, 8 per Letter sheet (Avery 5395, 8395)",
            *LETTER,
            2,
            4,
            3.375 * INCH,
            2.333333 * INCH,
            0.6875 * INCH,
            0.583333 * INCH,
            3.75 * INCH,
            2.5 * INCH,
            corner_radius=0.1875 * INCH,
            source=_GLABELS.format(file="avery-us-templates.xml", part="5395"),
        ),
        SheetTemplate(
            "avery-5371",
            "Business cards 3 1/2 x 2 in, 10 per Letter sheet (Avery 5371, 8371)",
            *LETTER,
            2,
            5,
            3.5 * INCH,
            2 * INCH,
            0.75 * INCH,
            0.5 * INCH,
            3.5 * INCH,
            2 * INCH,
            source=_GLABELS.format(file="avery-us-templates.xml", part="5371"),
            notes="Perforated card stock: cards touch, so nothing is printed within the safe margin of an edge.",
        ),
        _centred(
            "large-card-letter",
            "One large card per half Letter page (7 x 4.75 in), for a bigger code",
            LETTER,
            1,
            2,
            7 * INCH,
            4.75 * INCH,
            0.5 * INCH,
            plain_paper=True,
            safe_margin=0.25 * INCH,
            source="derived: two cards centred on plain Letter paper, cut on the marks",
        ),
        _centred(
            "square-50mm-a4",
            "50 mm square labels, 12 per A4 sheet (3 x 4)",
            A4,
            3,
            4,
            50 * MM,
            50 * MM,
            12 * MM,
            corner_radius=3 * MM,
            safe_margin=1.6 * MM,
            source="derived: A4 equivalent of square-2in-letter, centred with 12 mm gutters",
            notes=_SQUARE_NOTE.replace("0.3 to 0.6 in", "8 to 15 mm").replace("0.5 in", "12 mm"),
        ),
        SheetTemplate(
            "avery-l4785",
            "Name badge labels 80 x 50 mm, 10 per A4 sheet (Avery L4785 family)",
            *A4,
            2,
            5,
            80 * MM,
            50 * MM,
            18 * MM,
            13 * MM,
            95 * MM,
            55 * MM,
            corner_radius=4 * MM,
            safe_margin=1.6 * MM,
            source=_GLABELS.format(file="avery-iso-templates.xml", part="L4785"),
        ),
        SheetTemplate(
            "avery-l7414",
            "Business cards 90 x 52 mm, 10 per A4 sheet (Avery L7414 family)",
            *A4,
            2,
            5,
            255.1,
            147.4,
            42.51,
            52.44,
            255.1,
            147.4,
            safe_margin=1.6 * MM,
            source=_GLABELS.format(file="avery-iso-templates.xml", part="7414"),
        ),
        _centred(
            "large-card-a4",
            "One large card per half A4 page (180 x 125 mm), for a bigger code",
            A4,
            1,
            2,
            180 * MM,
            125 * MM,
            15 * MM,
            plain_paper=True,
            safe_margin=6 * MM,
            source="derived: two cards centred on plain A4 paper, cut on the marks",
        ),
    )
}


def get_template(name: str) -> SheetTemplate:
    try:
        return BUILT_IN[name]
    except KeyError:
        raise TemplateError(f"no template named {name!r}; choose one of: {', '.join(BUILT_IN)}") from None
