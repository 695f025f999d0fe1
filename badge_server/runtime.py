"""What a running server holds: settings, keys and the database, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from badge_server.keys import ServerKeys, load_keys
from badge_server.settings import Settings
from badge_server.store.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    keys: ServerKeys
    engine: Engine
    factory: sessionmaker[Session]

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Load keys (refusing unsafe ones) and open the database."""
        keys = load_keys(settings)
        engine = make_engine(settings.effective_database_url)
        return cls(settings, keys, engine, make_session_factory(engine))
