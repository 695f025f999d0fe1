"""The badge payload: the text inside a badge's QR code. The only module that knows its format.

Format (34 characters, all in QR alphanumeric mode so the code fits version 3 at level H)::

    BL1:  B  001  ABCDEFGHIJKLMNOPQRSTUVWXYZ
    |     |  |    +-- secret: 130 random bits from ``secrets``, base32 (A-Z, 2-7), 26 chars
    |     |  +------- generation: 3 digits, 001 for a first badge, +1 on every replacement
    |     +---------- kind: B = printed badge, T = same-day temporary code
    +---------------- prefix with format version, so kiosks recognise our badges locally

No personal data is in the payload. The server stores only a keyed digest of the secret.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "BL1:"
SECRET_CHARS = 26
SECRET_BYTES = 17  # 136 bits drawn; base32 of 17 bytes is 28 chars, we keep 26 (130 bits)
MAX_GENERATION = 999
PAYLOAD_LENGTH = len(PREFIX) + 1 + 3 + SECRET_CHARS

_PAYLOAD_RE = re.compile(r"BL1:(?P<kind>[BT])(?P<gen>(?!000)[0-9]{3})(?P<secret>[A-Z2-7]{26})")
# The same check for the browser scanner's JavaScript (no named groups there; lookahead is fine).
BROWSER_PATTERN = "^" + re.sub(r"\?P<\w+>", "", _PAYLOAD_RE.pattern) + "$"


class BadgeKind(StrEnum):
    """What a payload unlocks: a printed badge or a same-day temporary code."""

    BADGE = "B"
    TEMPORARY = "T"


@dataclass(frozen=True)
class BadgePayload:
    """A parsed badge payload. ``str()`` gives back the exact QR text."""

    kind: BadgeKind
    generation: int
    secret: str

    def __post_init__(self) -> None:
        if not 1 <= self.generation <= MAX_GENERATION:
            raise ValueError(f"generation must be 1..{MAX_GENERATION}, got {self.generation}")
        if len(self.secret) != SECRET_CHARS or not re.fullmatch(r"[A-Z2-7]+", self.secret):
            raise ValueError("secret must be 26 base32 characters")

    def __str__(self) -> str:
        return f"{PREFIX}{self.kind.value}{self.generation:03d}{self.secret}"

    def __repr__(self) -> str:
        # Never let a secret reach a log line through repr().
        return f"BadgePayload(kind={self.kind.name}, generation={self.generation}, secret=<hidden>)"


def new_payload(kind: BadgeKind = BadgeKind.BADGE, generation: int = 1) -> BadgePayload:
    """A fresh payload with a new random secret."""
    raw = secrets.token_bytes(SECRET_BYTES)
    secret = base64.b32encode(raw).decode("ascii")[:SECRET_CHARS]
    return BadgePayload(kind=kind, generation=generation, secret=secret)


def looks_like_badge(text: str) -> bool:
    """Cheap local check a kiosk runs before sending anything: is this one of our badges?"""
    return len(text) == PAYLOAD_LENGTH and _PAYLOAD_RE.fullmatch(text) is not None


def parse_payload(text: str) -> BadgePayload | None:
    """Parse QR text; ``None`` when it is not one of our badges (never raises on any input)."""
    if not isinstance(text, str) or len(text) != PAYLOAD_LENGTH:
        return None
    match = _PAYLOAD_RE.fullmatch(text)
    if match is None:
        return None
    return BadgePayload(kind=BadgeKind(match["kind"]), generation=int(match["gen"]), secret=match["secret"])
