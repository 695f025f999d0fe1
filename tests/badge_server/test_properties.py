"""Property-based tests (hypothesis): the badge payload parser and the roster importer hold
their promises for any input, not only the ones we thought of."""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badge_server.contract.payload import PAYLOAD_LENGTH, BadgeKind, BadgePayload, looks_like_badge, parse_payload
from badge_server.errors import RosterImportError
from badge_server.exchange import not_a_badge
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.database import DEMO_ROSTER, snapshot

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
payloads = st.builds(
    BadgePayload,
    kind=st.sampled_from(list(BadgeKind)),
    generation=st.integers(1, 999),
    secret=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=26, max_size=26),
)


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_the_parser_never_raises_and_agrees_with_the_kiosk_check(text: str) -> None:
    parsed = parse_payload(text)
    assert (parsed is not None) == looks_like_badge(text)
    if parsed is not None:
        assert str(parsed) == text


@given(payloads)
def test_every_payload_round_trips_in_qr_alphanumeric_at_fixed_length(payload: BadgePayload) -> None:
    text = str(payload)
    assert len(text) == PAYLOAD_LENGTH and set(text) <= QR_ALPHANUMERIC
    assert parse_payload(text) == payload and payload.secret not in repr(payload)


@given(payloads, st.integers(0, PAYLOAD_LENGTH - 1), st.characters())
def test_any_single_character_change_is_caught_or_still_well_formed(payload: BadgePayload, at: int, char: str) -> None:
    text = str(payload)
    changed = text[:at] + char + text[at + 1 :]
    parsed = parse_payload(changed)
    assert parsed is None or str(parsed) == changed  # never a different badge than the text says


@given(st.text(max_size=5000))
def test_the_not_a_badge_message_never_echoes_the_text(text: str) -> None:
    message = not_a_badge(text, Settings(_env_file=None)).message
    assert len(message) < 200
    if len(text) >= 8:
        assert text not in message


@pytest.fixture
def import_runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.start(settings)
    yield runtime
    runtime.engine.dispose()


USERS_COLUMNS = ["givenName", "familyName", "grades", "role", "orgSourcedIds", "enabledUser", "status", "username"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    row=st.integers(0, 40),
    column=st.sampled_from(USERS_COLUMNS),
    value=st.text(max_size=40)
    | st.sampled_from(["", "student", "teacher", "KG", "13", "s-nowhere", "false", "tobedeleted"]),
)
def test_any_cell_either_imports_or_is_refused_naming_it_and_changing_nothing(
    import_runtime: Runtime, row: int, column: str, value: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster"
        shutil.copytree(DEMO_ROSTER, roster)
        path = roster / "users.csv"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            names, rows = list(reader.fieldnames or []), list(reader)
        rows[row % len(rows)][column] = value
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)
        before = snapshot(import_runtime)
        try:
            from badge_server.roster import import_roster

            import_roster(import_runtime.factory, roster, import_runtime.keys, import_runtime.settings, actor="test")
        except RosterImportError as exc:
            assert exc.problems and all(p.file.endswith(".csv") for p in exc.problems)
            line = row % len(rows) + 2  # the header is line 1
            assert any(p.file == "users.csv" and p.line == line and p.column == column for p in exc.problems), (
                f"the refusal must name users.csv, line {line}, column {column}: {[str(p) for p in exc.problems]}"
            )
            assert snapshot(import_runtime) == before, "a refused import changes nothing"
        else:
            # Imported: the cell is what the database now says (names as given, trimmed).
            changed = rows[row % len(rows)]
            with transaction(import_runtime.factory) as session:
                person = session.get(Person, changed["sourcedId"])
                assert person is not None
                if column in ("givenName", "familyName"):
                    stored = person.given_name if column == "givenName" else person.family_name
                    assert stored == value.strip()
