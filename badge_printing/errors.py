"""Every error the printing library raises on purpose, under one base class.

The server turns ``BadgePrintingError`` into its own error in one place (``badge_server.printing``).
"""

from __future__ import annotations


class BadgePrintingError(Exception):
    """Base class of every error badge_printing raises deliberately."""


class TemplateError(BadgePrintingError, ValueError):
    """Raised when a sheet template is impossible (labels overlap or leave the page) or unknown."""


class LayoutError(BadgePrintingError, ValueError):
    """Raised when cards cannot be laid out readably on a template (e.g. QR modules too small)."""


class FontsMissing(BadgePrintingError, RuntimeError):
    """Raised when the fonts badges need are not installed."""


class CardFileError(BadgePrintingError, ValueError):
    """Raised when the cards CSV has a problem; names file, line and column."""
