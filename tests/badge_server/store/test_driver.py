"""Statements on the driver's cursor read and write as the same Core statements do, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from badge_server.runtime import Runtime
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.driver import DriverStatement
from badge_server.store.models import AuditEvent, LaunchCode

_EVENTS = AuditEvent.__table__
_WRITE = DriverStatement(insert(_EVENTS), columns=["at", "kind", "outcome", "actor", "detail"])
_READ = DriverStatement(
    select(_EVENTS.c.id, _EVENTS.c.at, _EVENTS.c.detail, _EVENTS.c.actor)
    .where(_EVENTS.c.kind == bindparam("kind"))
    .order_by(_EVENTS.c.id)
)


def test_rows_written_and_read_on_the_cursor_are_what_core_reads_and_writes(runtime: Runtime) -> None:
    at = datetime(2026, 12, 4, 7, 45, 12, 345678, tzinfo=UTC)
    with transaction(runtime.factory) as session:
        _WRITE.rows(session, {"at": at, "kind": "t.driver", "outcome": "ok", "actor": None, "detail": {"n": [1, "é"]}})
        session.execute(insert(_EVENTS), {"at": at, "kind": "t.driver", "outcome": "ok", "detail": {"n": [2]}})
    with transaction(runtime.factory) as session:
        core = session.execute(select(_EVENTS.c.id, _EVENTS.c.at, _EVENTS.c.detail, _EVENTS.c.actor)).all()
        on_cursor = _READ.rows(session, {"kind": "t.driver"})
    assert [tuple(row) for row in on_cursor] == [tuple(row) for row in core]
    assert on_cursor[0].at == at and isinstance(on_cursor[0].at, datetime)  # not SQLite's text
    assert on_cursor[0].detail == {"n": [1, "é"]} and on_cursor[1].detail == {"n": [2]}
    with runtime.engine.connect() as connection:  # a Connection works as a Session does
        first = _READ.first(connection, {"kind": "t.driver"})
        assert first is not None and first.id == on_cursor[0].id
        assert _READ.first(connection, {"kind": "t.none"}) is None


def test_a_database_error_is_sqlalchemys_and_rolls_back_the_transaction(runtime: Runtime) -> None:
    row = {"at": datetime(2026, 12, 4, tzinfo=UTC), "kind": "t.driver", "outcome": "ok", "actor": "me", "detail": {}}
    new_code = DriverStatement(
        insert(LaunchCode.__table__), columns=["id", "digest", "badge_id", "device_id", "expires_at"]
    )
    # The error handlers answer SQLAlchemy's errors (a locked database is its OperationalError).
    with pytest.raises(IntegrityError), transaction(runtime.factory) as session:
        _WRITE.rows(session, row)
        new_code.rows(
            session,
            {
                "id": "c1",
                "digest": "d",
                "badge_id": "no-such-badge",
                "device_id": "no-such-device",
                "expires_at": row["at"],
            },
        )
    with transaction(runtime.factory) as session:
        assert _READ.rows(session, {"kind": "t.driver"}) == [], "the audit row went with the failed transaction"


def test_statements_that_need_sqlalchemy_at_run_time_are_refused_when_first_run(runtime: Runtime) -> None:
    # LaunchCode.id has a Python default (new_id): without it given, the row would have no id.
    no_id = DriverStatement(insert(LaunchCode.__table__), columns=["digest", "badge_id", "device_id", "expires_at"])
    many = DriverStatement(select(_EVENTS.c.id).where(_EVENTS.c.kind.in_(bindparam("kinds", expanding=True))))
    with transaction(runtime.factory) as session:
        with pytest.raises(ValueError, match="every value given"):
            no_id.rows(
                session,
                {"digest": "d", "badge_id": "b", "device_id": "d", "expires_at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        with pytest.raises(ValueError, match="cannot expand"):
            many.rows(session, {"kinds": ["a"]})


def test_a_write_in_a_read_only_transaction_is_refused(runtime: Runtime) -> None:
    with read_only_transaction(runtime.factory) as reading, pytest.raises(RuntimeError, match="read-only"):
        _WRITE.rows(
            reading,
            {"at": datetime(2026, 12, 4, tzinfo=UTC), "kind": "t.x", "outcome": "ok", "actor": None, "detail": {}},
        )
