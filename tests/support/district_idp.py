"""The district's own identity provider (its "Google Workspace"), for the staff sign-in tests.

It is this project's own OpenID Connect provider, a second server on loopback with a database of
its own, reached as ``localhost`` while the console is reached as ``127.0.0.1``: two different
sites, as Google and a district's server are. Its accounts are the demo roster's children, each
signing in with a badge; the tests give some of them the staff addresses that the console's
roster holds, so that a badge at the provider stands for a teacher's Google password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from sqlalchemy import update

from badge_server.clock import utcnow
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.sso.signing_keys import active_key, signing_jwk
from badge_server.store.db import transaction
from badge_server.store.models import Person
from badge_server.web.console.district_sign_in import RETURN_PATH
from tests.support.database import new_secret_key, sqlite_copy
from tests.support.district import District, build_district
from tests.support.oidc_app import Registered, register_app
from tests.support.servers import LoopbackServer, free_port

#: Whose badge, at the provider, carries which address.
ACCOUNTS = {
    "st-0001": "LRivera@riverside.example",  # Lucía Rivera, teacher at Maple (has a console account)
    "st-0002": "cokafor@riverside.example",  # Chinedu Okafor, teacher at Maple (no account yet)
    "st-0003": "mchen@elsewhere.example",  # an address outside the district's domain
    "st-0004": "nobody@riverside.example",  # in the domain, but no one on the roster
}


@dataclass
class DistrictIdp:
    """The provider's server and district, and the console registered at it as a client."""

    server: LoopbackServer
    district: District
    client: Registered

    @property
    def issuer(self) -> str:
        return f"http://localhost:{self.server.port}"

    def staff_settings(self, settings: Settings, **more: Any) -> Settings:
        """The console's ``settings``, signing staff in through this provider."""
        assert self.client.secret is not None
        update_with = {
            "staff_oidc_issuer": self.issuer,
            "staff_oidc_client_id": self.client.client_id,
            "staff_oidc_client_secret": self.client.secret,
            "staff_oidc_email_domains": ("riverside.example",),
            "staff_oidc_label": "Riverside Google",
            **more,
        }
        return Settings(**{**settings.model_dump(), **update_with})

    def id_token(self, **claims: Any) -> str:
        """An ID token signed with the provider's own key, holding exactly ``claims`` (with defaults)."""
        now = utcnow()
        runtime = self.district.runtime
        with transaction(runtime.factory) as db:
            key = active_key(db, runtime.keys, runtime.settings, now)
        body = {
            "iss": self.issuer,
            "aud": self.client.client_id,
            "sub": "someone",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "email": "lrivera@riverside.example",
            "email_verified": True,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": key.kid}, {k: v for k, v in body.items() if v is not None},
                          signing_jwk(key))  # fmt: skip


@contextmanager
def district_idp(tmp_path: Path, sqlite_template: Path, console_url: str) -> Iterator[DistrictIdp]:
    """The provider serving on loopback, with the console at ``console_url`` registered."""
    port = free_port()
    settings = Settings(
        _env_file=None,
        env="production",
        data_dir=tmp_path / "idp",
        database_url=sqlite_copy(sqlite_template, tmp_path / "idp.db"),
        secret_key=new_secret_key(),
        public_url=f"http://localhost:{port}",
    )
    runtime = Runtime.start(settings)
    try:
        district = build_district(runtime)
        with transaction(runtime.factory) as db:
            for person_id, email in ACCOUNTS.items():
                db.execute(update(Person).where(Person.id == person_id).values(email=email))
        client = register_app(
            runtime, redirect_uri=f"{console_url}{RETURN_PATH}", scopes=("openid", "email", "profile")
        )
        with LoopbackServer(runtime, port=port) as server:
            yield DistrictIdp(server, district, client)
    finally:
        runtime.engine.dispose()
