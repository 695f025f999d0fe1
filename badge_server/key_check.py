"""The server key's check value, kept in the database: a lost, replaced or unmounted key is named
at start, instead of every badge quietly becoming "not accepted".

The check value is an HMAC of a fixed label under the key's digest key: it identifies the key
without revealing anything about it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from badge_server.errors import ConfigError
from badge_server.keys import ServerKeys
from badge_server.settings import Settings
from badge_server.store.db import read_only_transaction, transaction
from badge_server.store.models import ServerFact

FACT = "server_key_check"


def stored_check(factory: sessionmaker[Session]) -> str | None:
    with read_only_transaction(factory) as db:
        fact = db.get(ServerFact, FACT)
        return fact.value if fact else None


def record_check(factory: sessionmaker[Session], keys: ServerKeys) -> None:
    """Remember this key as the database's key (``badge-server init``, first run only)."""
    with transaction(factory) as db:
        if db.get(ServerFact, FACT) is None:
            db.add(ServerFact(name=FACT, value=keys.check_value()))


def refuse_other_key(factory: sessionmaker[Session], keys: ServerKeys, settings: Settings) -> None:
    """Raise :class:`ConfigError` when the database was set up with another server key."""
    stored = stored_check(factory)
    if stored is not None and stored != keys.check_value():
        raise ConfigError(wrong_key_message(settings, stored, keys.check_value()))


def wrong_key_message(settings: Settings, stored: str, found: str | None) -> str:
    where = "BADGE_SECRET_KEY" if settings.secret_key is not None else str(settings.effective_secret_key_file)
    found_text = f"the key at {where} (check value {found})" if found else f"there is no key at {where}"
    return (
        f"this database was set up with another server key (check value {stored}), but {found_text}. "
        "Every badge would be refused as 'not accepted'. Mount or restore the original key "
        "(it is in every `badge-server backup`); do not make a new one."
    )
