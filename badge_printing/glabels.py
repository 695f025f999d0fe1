"""Read a template from a gLabels template file (the XML format of the gLabels project, which
describes thousands of label stocks), so a school can print on stock we never heard of.

Only rectangular labels with one regular grid (``Label-rectangle`` + ``Layout``) are badge stock;
anything else is refused with a reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from badge_printing.errors import TemplateError
from badge_printing.templates import A4, INCH, LETTER, MM, SheetTemplate

_UNITS = {"pt": 1.0, "in": INCH, "mm": MM, "cm": 10 * MM, "pc": 12.0, "": 1.0}
_PAGES = {"US-Letter": LETTER, "A4": A4}
MAX_FILE_BYTES = 5 * 1024 * 1024


def _length(value: str | None, what: str) -> float:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(pt|in|mm|cm|pc)?\s*", value or "")
    if match is None:
        raise TemplateError(f"gLabels {what}: {value!r} is not a length")
    return float(match[1]) * _UNITS[match[2] or ""]


def _templates(root: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {f"{t.get('brand', '')} {t.get('part', '')}".strip(): t for t in root.iter("Template")}


def read_glabels(path: Path, part: str) -> SheetTemplate:
    """The template for ``part`` (e.g. ``5395`` or ``Avery 5395``) in a gLabels XML file."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise TemplateError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not a gLabels template file")
    try:
        # The standard parser does not fetch external entities; the size check above bounds it.
        root = ElementTree.parse(path).getroot()  # noqa: S314
    except ElementTree.ParseError as exc:
        raise TemplateError(f"{path}: not readable XML ({exc})") from None
    templates = _templates(root)
    # Not `templates.get(part) or ...`: an Element with no children is falsy, and an
    # `equiv` entry has none.
    found = templates.get(part)
    if found is None:
        found = next((t for key, t in templates.items() if key.endswith(f" {part}")), None)
    if found is None:
        raise TemplateError(f"{path}: no template for part {part!r} ({len(templates)} templates in the file)")
    if found.get("equiv"):
        brand = found.get("brand", "")
        return read_glabels(path, f"{brand} {found.get('equiv')}".strip())
    name = f"{found.get('brand', '')} {found.get('part', '')}".strip()
    page = _PAGES.get(found.get("size", ""))
    if page is None:
        if found.get("size") == "Other":
            page = (_length(found.get("width"), "page width"), _length(found.get("height"), "page height"))
        else:
            raise TemplateError(f"{name}: page size {found.get('size')!r} is not supported (US-Letter, A4, Other)")
    label = found.find("Label-rectangle")
    if label is None:
        raise TemplateError(f"{name}: only rectangular labels can carry a badge")
    layouts = label.findall("Layout")
    if len(layouts) != 1:
        raise TemplateError(f"{name}: has {len(layouts)} layouts; only one regular grid is supported")
    layout = layouts[0]
    margin = label.find("Markup-margin")
    return SheetTemplate(
        name=name.lower().replace(" ", "-"),
        description=f"{name}: {found.get('_description') or found.get('description') or 'labels'} (from gLabels)",
        page_width=page[0],
        page_height=page[1],
        columns=int(layout.get("nx", "0")),
        rows=int(layout.get("ny", "0")),
        label_width=_length(label.get("width"), "label width"),
        label_height=_length(label.get("height"), "label height"),
        left=_length(layout.get("x0"), "x0"),
        top=_length(layout.get("y0"), "y0"),
        pitch_x=_length(layout.get("dx"), "dx"),
        pitch_y=_length(layout.get("dy"), "dy"),
        corner_radius=_length(label.get("round", "0"), "round"),
        safe_margin=max(_length(margin.get("size"), "margin") if margin is not None else 0, 0.0625 * INCH),
        source=f"gLabels template file {path.name}, part {found.get('part')}",
    )
