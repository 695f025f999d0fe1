"""The badge payload contract of DESIGN.md, property by property."""

from __future__ import annotations

import re
from typing import cast

import pytest
import segno

from badge_server.contract.payload import (
    PAYLOAD_LENGTH,
    BadgeKind,
    BadgePayload,
    looks_like_badge,
    new_payload,
    parse_payload,
)

QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")


def test_payload_uses_only_qr_alphanumeric_characters_and_round_trips() -> None:
    for kind in BadgeKind:
        for generation in (1, 7, 999):
            text = str(new_payload(kind, generation))
            assert QR_ALPHANUMERIC.fullmatch(text), text
            assert len(text) == PAYLOAD_LENGTH
            parsed = parse_payload(text)
            assert parsed is not None and str(parsed) == text
            assert parsed.kind is kind and parsed.generation == generation


def test_payload_fits_qr_version_3_at_error_correction_h() -> None:
    qr = segno.make(str(new_payload(BadgeKind.TEMPORARY, 999)), error="h", boost_error=False, micro=False)
    assert qr.mode == "alphanumeric"
    assert qr.error == "H"
    assert cast(int, qr.version) <= 3  # an int: not a Micro QR code


def test_secret_carries_at_least_128_random_bits() -> None:
    secrets_seen = {new_payload().secret for _ in range(2000)}
    assert len(secrets_seen) == 2000
    # 26 base32 characters = 130 bits; every position must vary across draws.
    for position in range(26):
        assert len({s[position] for s in secrets_seen}) > 16


def test_no_personal_data_and_the_secret_never_reaches_repr() -> None:
    payload = new_payload()
    assert payload.secret not in repr(payload)
    assert "hidden" in repr(payload)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://example.com/app",
        "BL1:B001",
        "BL1:B001" + "A" * 25,  # one short
        "BL1:B001" + "A" * 27,  # one long
        "BL1:X001" + "A" * 26,  # unknown kind
        "BL1:B0A1" + "A" * 26,  # generation not digits
        "BL1:B001" + "a" * 26,  # lower case is not ours
        "BL1:B001" + "1" * 26,  # 1 is not base32
        "BL2:B001" + "A" * 26,  # a future format version
        "BL1:B001" + "A" * 25 + "\x00",
        "BL1:B001" + "A" * 25 + "Ä",
        "X" * 100_000,
        "BL1:B\u0661\u0662\u0663" + "A" * 26,  # Arabic-Indic digits: \d and int() take them
        "BL1:B\uff10\uff10\uff11" + "A" * 26,  # full-width digits
    ],
)
def test_anything_else_is_not_a_badge(text: str) -> None:
    assert parse_payload(text) is None
    assert not looks_like_badge(text)


def test_generation_zero_is_not_a_badge_and_bad_fields_are_refused() -> None:
    assert parse_payload("BL1:B000" + "A" * 26) is None
    with pytest.raises(ValueError, match="generation"):
        BadgePayload(BadgeKind.BADGE, 1000, "A" * 26)
    with pytest.raises(ValueError, match="secret"):
        BadgePayload(BadgeKind.BADGE, 1, "a" * 26)
