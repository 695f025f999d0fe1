"""Persistence: the engine and transactions, the ORM models, and the Alembic migrations."""

# Every table on Base.metadata wherever the models are imported (migrations, tests, the app).
from badge_server.store import account_models, models, sso_models

__all__ = ["account_models", "models", "sso_models"]
