"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from badge_server.db import make_engine
from badge_server.migrate import is_current, upgrade
from badge_server.models import Base


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
