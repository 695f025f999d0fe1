"""Badge cards laid out on label-sheet templates, rendered to PDF. A pure library: no database."""

from badge_printing.card import BadgeCard
from badge_printing.errors import BadgePrintingError, LayoutError, TemplateError
from badge_printing.sheets import render_calibration, render_sheets, write_groups_zip, write_sheets
from badge_printing.templates import BUILT_IN, SheetTemplate, get_template

__all__ = [
    "BUILT_IN",
    "BadgeCard",
    "BadgePrintingError",
    "LayoutError",
    "SheetTemplate",
    "TemplateError",
    "get_template",
    "render_calibration",
    "render_sheets",
    "write_groups_zip",
    "write_sheets",
]
