"""``badge-server oidc-client add|list|disable`` and ``badge-server rotate-signing-key``."""

from __future__ import annotations

import click

from badge_server.clock import utcnow
from badge_server.ops.command_runs import emit, fail_cleanly, unit_of_work
from badge_server.sso import oidc_clients, signing_keys
from badge_server.sso.claims import SUPPORTED_SCOPES

ACTOR = "cli"


@click.group("oidc-client")
def oidc_client() -> None:
    """Apps that sign students in with OpenID Connect."""


@oidc_client.command("add")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, help="Exactly as the app sends it.")
@click.option("--public", is_flag=True, help="No secret (a single-page or native app): PKCE S256 is required.")
@click.option("--initiate-login-uri", help="Where a dashboard tile starts the app's sign-in.")
@click.option("--backchannel-logout-uri", help="Told when the student signs out.")
@click.option(
    "--scope", "scopes", multiple=True, type=click.Choice(SUPPORTED_SCOPES), help="Default: openid profile email."
)
@click.option("--app-id", help="The catalog app whose tile signs in through this client.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def add(
    ctx: click.Context,
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    initiate_login_uri: str | None,
    backchannel_logout_uri: str | None,
    scopes: tuple[str, ...],
    app_id: str | None,
    as_json: bool,
) -> None:
    """Register a client; its secret is shown this once (only a digest is kept)."""
    with unit_of_work(ctx) as (runtime, session):
        new = oidc_clients.register_client(
            session,
            runtime.keys,
            name=name,
            redirect_uris=list(redirect_uris),
            public=public,
            scopes=list(scopes),
            initiate_login_uri=initiate_login_uri,
            backchannel_logout_uri=backchannel_logout_uri,
            app_id=app_id,
            actor=ACTOR,
            now=utcnow(),
        )
        client_id = new.client.id
    data = {"client_id": client_id, "client_secret": new.secret}
    text = f"client_id:     {client_id}\nclient_secret: {new.secret or '(none: a public client, PKCE S256)'}"
    if new.secret:
        text += "\nThe secret is shown only now; store it in the app's configuration."
    emit(as_json, data, text)


@oidc_client.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Every registered client, disabled ones included."""
    with unit_of_work(ctx) as (_runtime, session):
        clients = [oidc_clients.client_summary(client) for client in oidc_clients.list_clients(session)]
    lines = [
        f"{c['client_id']}  {c['name']}{'  (disabled)' if c['disabled'] else ''}  {' '.join(c['redirect_uris'])}"  # type: ignore[arg-type]
        for c in clients
    ]
    emit(as_json, clients, "\n".join(lines) or "no OIDC clients")


@oidc_client.command("disable")
@click.argument("client_id")
@click.pass_context
@fail_cleanly
def disable(ctx: click.Context, client_id: str) -> None:
    """The client signs nobody in any more; its unused codes and tokens stop working."""
    with unit_of_work(ctx) as (_runtime, session):
        oidc_clients.disable_client(session, client_id, ACTOR, utcnow())
    click.echo(f"disabled {client_id}")


@click.command("rotate-signing-key")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def rotate_signing_key(ctx: click.Context, as_json: bool) -> None:
    """Publish a new signing key now; it signs once relying parties' caches have it."""
    with unit_of_work(ctx) as (runtime, session):
        key = signing_keys.rotate(session, runtime.keys, runtime.settings, utcnow(), actor=ACTOR)
        data = {"kid": key.id, "signs_from": key.signs_from.isoformat()}
    emit(as_json, data, f"new signing key {data['kid']} published; it signs from {data['signs_from']}")
