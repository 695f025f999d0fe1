"""Fonts for every script a roster holds, with per-character fallback and right-to-left shaping.

The fonts come from Debian packages that scripts/install installs (fonts-noto-core for Latin,
Greek, Cyrillic, Vietnamese, Arabic and Hebrew; fonts-wqy-microhei for Chinese, Japanese and
Korean). They are TrueType-outline fonts, which reportlab can embed (it cannot embed CFF ones
such as Noto CJK). ``BADGE_FONT_DIRS`` adds folders to search first.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from arabic_reshaper import reshape
from bidi import get_display
from bidi.mirror import MIRRORED
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from badge_printing.errors import FontsMissing

SEARCH_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/truetype/wqy"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/local/share/fonts"),
)
# (reportlab name, regular file, bold file, sub-font index): tried in this order for each character.
CHAIN = (
    ("BadgeSans", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", 0),
    ("BadgeArabic", "NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", 0),
    ("BadgeHebrew", "NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", 0),
    ("BadgeCJK", "wqy-microhei.ttc", "wqy-microhei.ttc", 0),
)
INSTALL_HINT = "install the Debian packages fonts-noto-core and fonts-wqy-microhei (scripts/install does)"


@dataclass(frozen=True)
class Run:
    """A piece of text drawn in one font."""

    text: str
    font: str


def _find(file_name: str) -> Path:
    extra = [Path(p) for p in os.environ.get("BADGE_FONT_DIRS", "").split(os.pathsep) if p]
    for folder in (*extra, *SEARCH_DIRS):
        if (folder / file_name).is_file():
            return folder / file_name
    raise FontsMissing(f"font {file_name} not found; {INSTALL_HINT}")


@cache
def _registered() -> tuple[tuple[str, str, frozenset[int]], ...]:
    """Register every font once; return (regular name, bold name, code points covered)."""
    fonts = []
    for name, regular, bold, index in CHAIN:
        regular_font = TTFont(name, str(_find(regular)), subfontIndex=index)
        pdfmetrics.registerFont(regular_font)
        bold_name = f"{name}-Bold"  # WenQuanYi has no bold face: its "bold" is the regular one
        pdfmetrics.registerFont(TTFont(bold_name, str(_find(bold)), subfontIndex=index))
        fonts.append((name, bold_name, frozenset(regular_font.face.charToGlyph)))
    return tuple(fonts)


def ensure_fonts() -> None:
    """Fail early, with what to install, if a font is missing."""
    _registered()


def visual_order(text: str) -> str:
    """Shape Arabic letters and reorder right-to-left text for drawing left to right."""
    if any("\u0590" <= ch <= "\u08ff" for ch in text):
        text = _reordered(reshape(text))
    return text.translate(_UNDRAWN)


#: The bidi algorithm's controls (marks, embeddings, isolates): they steer the order, they are
#: not drawn (a font has no glyph for them).
_UNDRAWN = dict.fromkeys([0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")


def _reordered(text: str) -> str:
    """One line in display order, by the Unicode bidi algorithm (UAX #9 rules L2 and L4).

    python-bidi's Rust core resolves the levels well (bracket pairs included) but leaves out L4:
    its display order keeps "(" and ")" of a right-to-left run as they are, so "(نص)" came out
    as ")نص(". Its levels (reported per UTF-8 byte, in its debug form) are reordered here, and
    a mirrored character at an odd level takes its mirror image (the package's own table)."""
    report = str(get_display(text, debug=True))
    per_byte = [int(level) for level in _LEVEL.findall(report.split("levels:", 1)[1].split("]", 1)[0])]
    levels, offset = [], 0
    for ch in text:
        levels.append(per_byte[offset])
        offset += len(ch.encode())
    chars = [MIRRORED.get(ch, ch) if level % 2 else ch for ch, level in zip(text, levels, strict=True)]
    # L2: from the highest level down to the lowest odd one, reverse each run at or above it.
    order = list(range(len(chars)))
    lowest_odd = min((level for level in levels if level % 2), default=None)
    if lowest_odd is not None:
        for level in range(max(levels), lowest_odd - 1, -1):
            start = 0
            while start < len(order):
                if levels[order[start]] >= level:
                    end = start
                    while end < len(order) and levels[order[end]] >= level:
                        end += 1
                    order[start:end] = reversed(order[start:end])
                    start = end
                else:
                    start += 1
    return "".join(chars[index] for index in order)


def runs(text: str, *, bold: bool = False) -> list[Run]:
    """Split text (already in visual order) into runs, each in the first font that has it."""
    fonts = _registered()
    first = fonts[0]
    if first[2].issuperset(map(ord, text)):  # the common case: one font has every character
        return [Run(text, first[1] if bold else first[0])]
    result: list[Run] = []
    for ch in text:
        chosen = next((f for f in fonts if ord(ch) in f[2] or ch.isspace()), fonts[0])
        font = chosen[1] if bold else chosen[0]
        if result and result[-1].font == font:
            result[-1] = Run(result[-1].text + ch, font)
        else:
            result.append(Run(ch, font))
    return result


def width(text_runs: list[Run], size: float) -> float:
    return float(sum(pdfmetrics.stringWidth(run.text, run.font, size) for run in text_runs))
