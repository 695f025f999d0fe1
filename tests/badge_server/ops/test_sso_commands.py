"""``badge-server oidc-client add|list|disable`` and ``rotate-signing-key``, run as IT runs them
against this test's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import App, AuditEvent
from badge_server.store.sso_models import OidcClient, SigningKey
from tests.support.cli import run_against as run
from tests.support.district import District


def counts(runtime: Runtime) -> tuple[int, int]:
    with transaction(runtime.factory) as session:
        clients = session.scalar(select(func.count()).select_from(OidcClient)) or 0
        audited = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind.like("oidc.%")))
        return clients, audited or 0


def test_a_client_is_added_with_a_secret_shown_once_listed_and_disabled(district: District) -> None:
    runtime = district.runtime
    added = json.loads(
        run(
            runtime,
            "oidc-client", "add", "--name", "Reading Eggs",
            "--redirect-uri", "https://app.example.org/callback",
            "--redirect-uri", "http://127.0.0.1:8080/callback",
            "--scope", "roster",
            "--initiate-login-uri", "https://app.example.org/login",
            "--app-id", "starfall", "--json",
        ).stdout
    )  # fmt: skip
    client_id, secret = added["client_id"], added["client_secret"]
    assert len(secret) >= 32
    with transaction(runtime.factory) as session:
        client = session.get(OidcClient, client_id)
        assert client is not None and client.secret_digest and secret not in client.secret_digest
        assert client.scopes == ["openid", "roster"]
        app = session.get(App, "starfall")
        assert app is not None and (app.sso_protocol, app.sso_ref) == ("oidc", client_id)

    listed = json.loads(run(runtime, "oidc-client", "list", "--json").stdout)
    assert [c["client_id"] for c in listed] == [client_id] and secret not in json.dumps(listed)
    assert listed[0]["redirect_uris"] == ["https://app.example.org/callback", "http://127.0.0.1:8080/callback"]

    kids_app = ["--name", "Kids app", "--redirect-uri", "https://k.example/cb", "--public", "--json"]
    public = json.loads(run(runtime, "oidc-client", "add", *kids_app).stdout)
    assert public["client_secret"] is None

    run(runtime, "oidc-client", "disable", client_id)
    listed = json.loads(run(runtime, "oidc-client", "list", "--json").stdout)
    assert {c["client_id"]: c["disabled"] for c in listed} == {client_id: True, public["client_id"]: False}
    assert "(disabled)" in run(runtime, "oidc-client", "list").stdout


def test_bad_registrations_are_refused_clearly_and_write_nothing(district: District) -> None:
    runtime = district.runtime
    before = counts(runtime)
    cases = [
        (["--redirect-uri", "http://app.example.org/callback"], "must use https"),
        (["--redirect-uri", "/callback"], "absolute URL"),
        (["--redirect-uri", "https://app.example.org/cb#frag"], "#fragment"),
        (["--redirect-uri", "https://app.example.org/cb", "--app-id", "no-such-app"], "no catalog app"),
        (["--redirect-uri", "https://a.example/cb", "--backchannel-logout-uri", "http://a.example/bye"], "https"),
    ]
    for extra, message in cases:
        done = run(runtime, "oidc-client", "add", "--name", "Bad", *extra, ok=False)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    unknown_scope = run(runtime, "oidc-client", "add", "--name", "B", "--redirect-uri", "https://a.example/cb",
                        "--scope", "phone", ok=False)  # fmt: skip
    assert "phone" in unknown_scope.stderr
    assert "no OIDC client" in run(runtime, "oidc-client", "disable", "nope", ok=False).stderr
    assert counts(runtime) == before


def test_rotate_signing_key_publishes_a_new_key(district: District) -> None:
    runtime = district.runtime
    first = json.loads(run(runtime, "rotate-signing-key", "--json").stdout)
    second = json.loads(run(runtime, "rotate-signing-key", "--json").stdout)
    with transaction(runtime.factory) as session:
        kids = set(session.scalars(select(SigningKey.id)))
        rotations = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "sso.signing_key.rotate")
        )
    # A second rotation before the first took over replaces the waiting key, not queues a third.
    assert second["kid"] in kids and first["kid"] not in kids and len(kids) == 2
    assert rotations == 2
