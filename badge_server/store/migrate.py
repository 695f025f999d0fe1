"""Create or upgrade the database schema with Alembic (``badge-server init``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


# Any fixed number: the PostgreSQL advisory lock that servers starting together queue on.
MIGRATION_LOCK = 0x6261646765  # "badge"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there.

    Several servers of a district start (and so migrate) at once after an upgrade; on
    PostgreSQL they take turns on an advisory lock, so one migrates and the rest find it done.
    (SQLite serves one machine, and its BEGIN IMMEDIATE already makes them take turns.)
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the newest revision (the server refuses to serve otherwise)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
