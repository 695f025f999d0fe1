"""Persistence: the engine and transactions, the ORM models, and the Alembic migrations."""
