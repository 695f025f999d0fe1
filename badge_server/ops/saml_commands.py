"""``badge-server saml-sp add|list|disable`` and ``badge-server saml-certificate``.

Registering a SAML service provider (Google Workspace, an older app) and printing the IdP
certificate an admin pastes into Google Admin ("Verification certificate").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from badge_server.clock import utcnow
from badge_server.errors import NotFoundError
from badge_server.ops.command_runs import emit, fail_cleanly, unit_of_work
from badge_server.sso.saml_providers import NewProvider, add_provider, disable_provider, list_providers
from badge_server.sso.signing_keys import active_key, published_keys
from badge_server.store.models import App
from badge_server.store.sso_models import NameIdFormat, SamlServiceProvider, SsoProtocol

ACTOR = "cli"


def _as_dict(provider: SamlServiceProvider) -> dict[str, Any]:
    return {
        "sp_id": provider.id,
        "name": provider.name,
        "entity_id": provider.entity_id,
        "acs_url": provider.acs_url,
        "nameid": provider.nameid_format,
        "slo_url": provider.slo_url,
        "require_signed_requests": provider.require_signed_requests,
        "disabled": provider.disabled_at is not None,
    }


@click.group("saml-sp")
def saml_sp() -> None:
    """SAML service providers this server signs students in to."""


@saml_sp.command("add")
@click.option("--name", required=True)
@click.option("--entity-id", required=True, help="The SP's entity id (Issuer), e.g. google.com/a/DOMAIN.")
@click.option("--acs-url", required=True, help="Where responses are posted, e.g. https://www.google.com/a/DOMAIN/acs.")
@click.option("--nameid", type=click.Choice([f.value for f in NameIdFormat]), default=NameIdFormat.EMAIL.value)
@click.option("--slo-url", help="The SP's single logout endpoint (SOAP), told when a student signs out.")
@click.option(
    "--certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The SP's PEM certificate."
)
@click.option("--require-signed-requests", is_flag=True, help="Refuse AuthnRequests not signed with --certificate.")
@click.option("--app-id", help="A catalog app whose tile signs in to this SP (IdP-initiated).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def add(
    ctx: click.Context,
    name: str,
    entity_id: str,
    acs_url: str,
    nameid: str,
    slo_url: str | None,
    certificate: Path | None,
    require_signed_requests: bool,
    app_id: str | None,
    as_json: bool,
) -> None:
    """Register a service provider; prints its sp_id."""
    pem = certificate.read_text(encoding="ascii", errors="replace") if certificate else None
    with unit_of_work(ctx) as (_runtime, session):
        app = session.get(App, app_id) if app_id else None
        if app_id and app is None:
            raise NotFoundError(f"no catalog app with id {app_id!r}")
        new = NewProvider(name, entity_id, acs_url, nameid, slo_url, pem, require_signed_requests)
        provider = add_provider(session, new, actor=ACTOR)
        if app is not None:
            app.sso_protocol, app.sso_ref = SsoProtocol.SAML.value, provider.id
        sp_id = provider.id
    emit(as_json, {"sp_id": sp_id}, f"registered SAML service provider {sp_id}")


@saml_sp.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Every registered service provider, disabled ones included."""
    with unit_of_work(ctx) as (_runtime, session):
        rows = [_as_dict(p) for p in list_providers(session)]
    text = "\n".join(
        f"{row['sp_id']}  {'disabled' if row['disabled'] else 'enabled':8}  {row['nameid']:10}  {row['entity_id']}  "
        f"{row['name']}"
        for row in rows
    )
    emit(as_json, rows, text or "no SAML service providers")


@saml_sp.command("disable")
@click.argument("sp_id")
@click.pass_context
@fail_cleanly
def disable(ctx: click.Context, sp_id: str) -> None:
    """No more sign-ins to this service provider."""
    with unit_of_work(ctx) as (_runtime, session):
        disable_provider(session, sp_id, actor=ACTOR)
    click.echo(f"disabled SAML service provider {sp_id}")


@click.command("saml-certificate")
@click.option("--all", "every", is_flag=True, help="Every published certificate (after a rotation: the next one too).")
@click.pass_context
@fail_cleanly
def saml_certificate(ctx: click.Context, every: bool) -> None:
    """Print the IdP's signing certificate (PEM) for Google Admin's SSO profile."""
    with unit_of_work(ctx) as (runtime, session):
        now = utcnow()
        signing = active_key(session, runtime.keys, runtime.settings, now)
        pems = [signing.certificate_pem]
        if every:
            pems += [key.certificate_pem for key in published_keys(session, now) if key.id != signing.kid]
    click.echo("\n".join(pem.strip() for pem in pems))
