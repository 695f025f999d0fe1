"""Coverage-guided fuzzing (atheris / libFuzzer) of the badge payload parser: the one function
that reads text from any QR code a camera sees, before anything else looks at it.

    .venv/bin/python fuzz/payload.py                  # until stopped (Ctrl+C); crashes saved as crash-*
    .venv/bin/python fuzz/payload.py -runs=200000     # a bounded run (the test suite does 20,000)
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from badge_server.contract.payload import PAYLOAD_LENGTH, looks_like_badge, parse_payload


def check(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(4 * PAYLOAD_LENGTH)
    parsed = parse_payload(text)  # must never raise
    if (parsed is not None) != looks_like_badge(text):
        raise AssertionError(f"the kiosk's check and the parser disagree on {text!r}")
    if parsed is not None:
        if str(parsed) != text:
            raise AssertionError(f"{text!r} parsed into a different badge {parsed!r}")
        if parsed.secret in repr(parsed):
            raise AssertionError("repr() shows the secret")


if __name__ == "__main__":
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
