"""``badge-server invite-staff``: accounts for the roster's teachers and school administrators,
each with a link where they set their own password (staff_invitations.py)."""

from __future__ import annotations

import click

from badge_server import staff_invitations
from badge_server.errors import ConfigError
from badge_server.ops.command_runs import emit, fail_cleanly, unit_of_work

ACTOR = "cli"


@click.command("invite-staff")
@click.option("--school", "school_ids", multiple=True, help="Only this school's staff (repeatable); default all.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def invite_staff(ctx: click.Context, school_ids: tuple[str, ...], as_json: bool) -> None:
    """Make an account, with an invitation link, for each roster teacher and school administrator
    who has none. The links are printed once: hand each to its owner (or email it)."""
    if not ctx.obj.public_url:
        raise ConfigError("set BADGE_PUBLIC_URL (the https address staff open): the links are made from it")
    base = ctx.obj.public_url.rstrip("/")
    with unit_of_work(ctx) as (_runtime, session):
        invited = staff_invitations.invite_from_roster(session, list(school_ids) or None, actor=ACTOR)
    rows = [
        {
            "username": i.username,
            "name": i.name,
            "role": i.role,
            "school": i.school,
            "link": f"{base}/staff/invite/{i.token}",
            "expires_at": i.expires_at.isoformat(timespec="minutes"),
        }
        for i in invited
    ]
    text = "\n".join(f"{r['username']}\t{r['name']}\t{r['school']}\t{r['link']}" for r in rows)
    emit(as_json, rows, text or "every teacher and school administrator in the roster already has an account")
