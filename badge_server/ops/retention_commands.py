"""``badge-server purge`` (nightly) and ``badge-server purge-people --left-before DATE``."""

from __future__ import annotations

from datetime import date, datetime

import click

from badge_server import retention
from badge_server.ops.command_runs import emit, fail_cleanly
from badge_server.runtime import Runtime

ACTOR = "cli"


@click.command("purge")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def purge(ctx: click.Context, as_json: bool) -> None:
    """Remove what is past its retention (BADGE_RETAIN_*_DAYS): old audit events, spent codes, ended sessions."""
    runtime = Runtime.start(ctx.obj)
    try:
        report = retention.purge_expired(runtime.factory, runtime.settings, actor=ACTOR)
    finally:
        runtime.engine.dispose()
    lines = ["purged " + ", ".join(f"{what} {when}" for what, when in report.cutoffs.items())]
    lines += [f"  {table}: {count} rows" for table, count in report.removed.items() if count] or ["  nothing was due"]
    emit(as_json, report.as_dict(), "\n".join(lines))


@click.command("purge-people")
@click.option(
    "--left-before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Remove people the roster deactivated, and staff accounts disabled, before this date (YYYY-MM-DD, UTC).",
)
@click.option("--dry-run", is_flag=True, help="List who would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def purge_people(ctx: click.Context, left_before: datetime, dry_run: bool, as_json: bool) -> None:
    """Delete students and staff who left before a date, with their badges, sessions and codes.

    Their audit rows stay until BADGE_RETAIN_AUDIT_DAYS: they hold ids, not names."""
    runtime = Runtime.start(ctx.obj)
    try:
        outcome = retention.purge_people(
            runtime.factory, date.fromordinal(left_before.toordinal()), actor=ACTOR, dry_run=dry_run
        )
    finally:
        runtime.engine.dispose()
    verb = "would remove (dry run, nothing changed)" if dry_run else "removed"
    lines = [
        f"{verb} {len(outcome.people)} people who left before {outcome.left_before.isoformat()}"
        f" and {len(outcome.staff_accounts)} staff accounts"
    ]
    lines += [f"  person {person_id}" for person_id in outcome.people]
    lines += [f"  staff account {username}" for username in outcome.staff_accounts]
    lines += [f"  {table}: {count} rows" for table, count in outcome.rows.removed.items() if count]
    emit(as_json, outcome.as_dict() | {"dry_run": dry_run}, "\n".join(lines))
