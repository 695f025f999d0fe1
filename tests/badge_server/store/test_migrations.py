"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from badge_server.store.db import make_engine
from badge_server.store.migrate import is_current, upgrade
from badge_server.store.models import Base
from tests.support.database import PG_URL


def test_migrated_schema_matches_the_models_and_upgrade_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)  # already at head: must be a no-op, as `badge-server init` on upgrade
        assert is_current(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not PG_URL:
        pytest.skip("!!! SKIPPING POSTGRESQL: BADGE_TEST_POSTGRES_URL is not set (scripts/test sets it)")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"badge_empty_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_servers_starting_together_after_an_upgrade_migrate_once(empty_database: str) -> None:
    # What `ExecStartPre=badge-server init` does on every server of a district at the same moment.
    engines = [make_engine(empty_database) for _ in range(4)]
    failures: list[BaseException] = []

    def migrate(engine: Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=migrate, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert failures == []
        assert all(is_current(engine) for engine in engines)
    finally:
        for engine in engines:
            engine.dispose()


def test_migration_0007_keeps_a_school_only_on_school_admin_accounts(empty_database: str) -> None:
    """Issue 15, finding 6: rows made before kept both a person and a school whatever the role."""
    from alembic import command

    from badge_server.store.migrate import alembic_config

    engine = make_engine(empty_database)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
            for n, (role, school) in enumerate(
                (("teacher", "s-lake"), ("school_admin", "s-lake"), ("district_admin", "s-maple"))
            ):
                connection.execute(
                    text(
                        "INSERT INTO staff_users (id, username, password_hash, role, person_id, school_id,"
                        " totp_enabled, recovery_code_digests, active, created_at)"
                        " VALUES (:id, :u, 'x', :role, 't-rivera', :school, false, '[]', true, '2026-01-01')"
                    ),
                    {"id": f"u{n}", "u": role, "role": role, "school": school},
                )
            command.upgrade(config, "head")
        with engine.connect() as connection:
            rows: dict[str, str | None] = {
                role: school for role, school in connection.execute(text("SELECT role, school_id FROM staff_users"))
            }
        assert rows == {"teacher": None, "school_admin": "s-lake", "district_admin": None}
    finally:
        engine.dispose()
