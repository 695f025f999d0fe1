"""What a running server holds: settings, keys and the database, built once at start-up."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from badge_server.keys import ServerKeys, load_keys
from badge_server.settings import Settings
from badge_server.staff_oidc import DistrictIdentityProvider
from badge_server.store.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    keys: ServerKeys
    engine: Engine
    factory: sessionmaker[Session]
    password_checks: threading.BoundedSemaphore = field(init=False, repr=False, compare=False)
    #: Staff sign-in with the district's Google or Microsoft account, where configured.
    staff_identity_provider: DistrictIdentityProvider | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # argon2 spends ~50-170 ms of CPU on purpose: at most this many checks at once in this
        # process, so a flood of password sign-ins waits its turn instead of starving the badge
        # exchanges of CPU (the flood is also throttled per student and per address).
        checks = threading.BoundedSemaphore(self.settings.password_checks_at_once)
        object.__setattr__(self, "password_checks", checks)
        object.__setattr__(self, "staff_identity_provider", DistrictIdentityProvider.from_settings(self.settings))

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Load keys (refusing unsafe ones) and open the database."""
        keys = load_keys(settings)
        engine = make_engine(settings.effective_database_url)
        return cls(settings, keys, engine, make_session_factory(engine))
