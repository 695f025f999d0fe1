"""``badge-server``: the command line IT and the demo use. Every command reads the same settings."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from badge_server import __version__, badges, devices
from badge_server.errors import BadgeServerError
from badge_server.ops import retention_commands, saml_commands, staff_commands
from badge_server.ops.command_runs import ImportProgress, emit, fail_cleanly, unit_of_work
from badge_server.ops.private_files import open_private
from badge_server.ops.setup import initialise, write_badge_pdf
from badge_server.ops.sso_commands import oidc_client, rotate_signing_key
from badge_server.printing import PrintRequest
from badge_server.roster import ImportReport
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.models import Badge, StaffRole

ACTOR = "cli"


@click.group()
@click.version_option(__version__, prog_name="badge-server")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Badge login server. Settings come from BADGE_* environment variables or a .env file."""
    if ctx.obj is None:
        ctx.obj = Settings()


@main.command()
@click.pass_context
@fail_cleanly
def init(ctx: click.Context) -> None:
    """Create or upgrade the database, and make a server key if there is none."""
    for line in initialise(ctx.obj):
        click.echo(line)


@main.command("import-roster")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@click.option("--dry-run", is_flag=True, help="Check and report what would change; change nothing.")
@click.option(
    "--allow-mass-deactivation",
    is_flag=True,
    help="Import even if it deactivates more of a school's students than BADGE_ROSTER_MAX_DEACTIVATION_SHARE.",
)
@click.pass_context
@fail_cleanly
def import_roster(
    ctx: click.Context, directory: Path, as_json: bool, dry_run: bool, allow_mass_deactivation: bool
) -> None:
    """Import a OneRoster 1.1 or 1.2 CSV folder, bulk or delta (all or nothing), and issue missing badges."""
    from badge_server.roster import import_roster as run_import

    runtime = Runtime.start(ctx.obj)
    try:
        with ImportProgress() as progress:
            report = run_import(
                runtime.factory,
                directory,
                runtime.keys,
                runtime.settings,
                actor=ACTOR,
                allow_mass_deactivation=allow_mass_deactivation,
                dry_run=dry_run,
                progress=progress,
            )
    finally:
        runtime.engine.dispose()
    verb = "would import (dry run, nothing changed)" if dry_run else "imported"
    emit(as_json, report.as_dict() | {"dry_run": dry_run}, _report_text(f"{verb} {directory}", report, dry_run))


def _report_text(first_line: str, report: ImportReport, dry_run: bool = False) -> str:
    lines = [first_line]
    for label, count in report.created.items():
        lines.append(
            f"  {label}: {count} new, {report.updated[label]} updated, {report.deactivated[label]} deactivated"
        )
    lines.append(f"  badges {'to issue' if dry_run else 'issued'}: {report.badges_issued}")
    for school_id, counts in sorted(report.schools.items()):
        lines.append(
            f"  students at {counts.name} ({school_id}): {counts.active_before} active before, "
            f"{counts.added} new, {counts.deactivated} deactivated"
        )
    return "\n".join(lines)


@main.command("import-drop")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--settle-seconds",
    type=click.FloatRange(0),
    default=120,
    show_default=True,
    help="Import only once nothing in the folder changed for this long (an upload still arriving waits).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def import_drop_command(ctx: click.Context, folder: Path, settle_seconds: float, as_json: bool) -> None:
    """Import the roster export a SIS left in FOLDER (badge-server-roster.timer runs this), then
    file it under FOLDER/imported or FOLDER/refused (which fails the command)."""
    from badge_server.ops.roster_drop import import_drop

    outcome = import_drop(ctx.obj, folder, settle_seconds=settle_seconds, actor=ACTOR)
    data = {"state": outcome.state, "message": outcome.message, "filed": str(outcome.filed or "")}
    if outcome.report is None:
        emit(as_json, data, outcome.message)
        return
    emit(as_json, data | {"report": outcome.report.as_dict()}, _report_text(outcome.message, outcome.report))


@main.command("enroll-code")
@click.option("--school", "school_id", required=True, help="School sourcedId from the roster.")
@click.option("--minutes", type=click.IntRange(1, 7 * 24 * 60), default=None, help="Lifetime (default 30).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def enroll_code(ctx: click.Context, school_id: str, minutes: int | None, as_json: bool) -> None:
    """Make a single-use device enrolment code for a school."""
    with unit_of_work(ctx) as (runtime, session):
        grant = devices.create_enroll_code(
            session, school_id, minutes=minutes or runtime.settings.enroll_code_minutes, actor=ACTOR
        )
    emit(as_json, grant.__dict__, f"{grant.code}  (school {school_id}, single use, expires {grant.expires_at})")


@main.command("create-admin")
@click.option("--username", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 12 characters (asked for when not given).",
)
@click.pass_context
@fail_cleanly
def create_admin(ctx: click.Context, username: str, password: str) -> None:
    """Make a district admin for the web console (two-step sign-in is set up at first sign-in)."""
    from badge_server.staff import create_staff

    with unit_of_work(ctx) as (_runtime, session):
        create_staff(session, username, password, StaffRole.DISTRICT_ADMIN, actor=ACTOR)
    click.echo(f"district admin {username!r} created; sign in at /staff/login")


@main.command("create-staff")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(list(StaffRole)), required=True)
@click.option("--person", "person_id", help="For a teacher: the roster teacher's sourcedId.")
@click.option("--school", "school_id", help="For a school admin: the school's sourcedId.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.pass_context
@fail_cleanly
def create_staff_command(
    ctx: click.Context, username: str, role: str, person_id: str | None, school_id: str | None, password: str
) -> None:
    """Make a teacher or admin account for the web console."""
    from badge_server.staff import create_staff

    with unit_of_work(ctx) as (_runtime, session):
        create_staff(session, username, password, role, actor=ACTOR, person_id=person_id, school_id=school_id)
    click.echo(f"{role} {username!r} created")


@main.command("disable-device")
@click.argument("device_id")
@click.pass_context
@fail_cleanly
def disable_device(ctx: click.Context, device_id: str) -> None:
    """Disable an enrolled device at once (a lost or stolen kiosk)."""
    with unit_of_work(ctx) as (_runtime, session):
        devices.disable_device(session, device_id, actor=ACTOR)
    click.echo(f"device {device_id} disabled")


def _badge_json(issued: badges.IssuedBadge) -> dict[str, Any]:
    badge = issued.badge
    return {
        "person_id": badge.person_id,
        "badge_id": badge.id,
        "reference": badge.reference,
        "kind": badge.kind,
        "generation": badge.generation,
        "expires_at": badge.expires_at.isoformat(timespec="seconds"),
        "payload": str(issued.payload),
    }


def _person_badge_command(
    name: str, help_text: str, action: Callable[[Runtime, Session, Any], badges.IssuedBadge]
) -> None:
    @main.command(name, help=help_text)
    @click.option("--person", "person_id", required=True, help="Student sourcedId.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    @fail_cleanly
    def command(ctx: click.Context, person_id: str, as_json: bool) -> None:
        with unit_of_work(ctx) as (runtime, session):
            person = badges.get_person(session, person_id)
            issued = action(runtime, session, person)
            data = _badge_json(issued)
        emit(
            as_json,
            data,
            f"{person.display_name}: badge {data['reference']}, expires {data['expires_at']}\n"
            f"QR text: {data['payload']}",
        )


def _reprint(runtime: Runtime, session: Session, person: Any) -> badges.IssuedBadge:
    badge = badges.current_badge(session, person.id)
    if badge is None:
        raise BadgeServerError(f"{person.display_name} has no active badge; use issue-badge")
    return badges.reprint(session, runtime.keys, badge, actor=ACTOR)


_person_badge_command(
    "issue-badge",
    "Issue a first badge to an eligible student.",
    lambda rt, s, p: badges.issue_badge(s, rt.keys, rt.settings, p, actor=ACTOR),
)
_person_badge_command("show-badge", "Show a student's current badge text (audited as a print).", _reprint)
_person_badge_command(
    "replace-badge",
    "Replace a lost badge: the old one stops working now.",
    lambda rt, s, p: badges.replace(s, rt.keys, rt.settings, p, actor=ACTOR),
)
_person_badge_command(
    "temp-code",
    "Make a same-day temporary code for a forgotten badge.",
    lambda rt, s, p: badges.temporary_code(s, rt.keys, rt.settings, p, actor=ACTOR),
)


@main.command("revoke-badge")
@click.option("--person", "person_id", required=True)
@click.pass_context
@fail_cleanly
def revoke_badge(ctx: click.Context, person_id: str) -> None:
    """Revoke a student's badge with no replacement; their sessions end."""
    with unit_of_work(ctx) as (_runtime, session):
        badge = badges.current_badge(session, person_id)
        if badge is None:
            raise BadgeServerError(f"{person_id} has no active badge")
        badges.revoke(session, badge, actor=ACTOR)
    click.echo(f"badge of {person_id} revoked")


@main.command("set-password")
@click.option("--person", "person_id", required=True, help="Student sourcedId.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def set_password(ctx: click.Context, person_id: str, as_json: bool) -> None:
    """Give a student a new password (two words and a number) for a computer without a camera.
    The old one, and the sign-ins made with it, stop now; grades 6 and up choose their own at the
    next sign-in."""
    from badge_server.password_sign_in import reset_password
    from badge_server.student_passwords import chooses_own_password

    with unit_of_work(ctx) as (runtime, session):
        person = badges.get_person(session, person_id)
        given, ended = reset_password(session, runtime.keys, runtime.settings, person, actor=ACTOR)
        data = {
            "person_id": person.id,
            "username": person.username or person.identifier or person.id,
            "password": given,
            "must_choose_own": chooses_own_password(person, runtime.settings),
            "sessions_ended": len(ended),
        }
    text = f"{person.display_name}: username {data['username']}, password {given}"
    if data["must_choose_own"]:
        text += " (they choose their own at the next sign-in)"
    emit(as_json, data, text)


@main.command("void-badges")
@click.option("--class", "class_id", help="Void every badge of this class.")
@click.option("--school", "school_id", help="Void every badge of this school.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
@fail_cleanly
def void_badges(ctx: click.Context, class_id: str | None, school_id: str | None, yes: bool) -> None:
    """Void all badges of a class or a school (year end)."""
    if (class_id is None) == (school_id is None):
        raise click.UsageError("give exactly one of --class or --school")
    target = f"class {class_id}" if class_id else f"school {school_id}"
    if not yes:
        click.confirm(f"Every badge of {target} stops working now. Continue?", abort=True)
    with unit_of_work(ctx) as (_runtime, session):
        if class_id:
            count = badges.void_class(session, class_id, actor=ACTOR)
        else:
            count = badges.void_school(session, school_id or "", actor=ACTOR)
    click.echo(f"{count} badges of {target} voided")


@main.command("set-pin")
@click.option("--person", "person_id", required=True)
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True)
@click.pass_context
@fail_cleanly
def set_pin(ctx: click.Context, person_id: str, pin: str) -> None:
    """Set a student's 6-digit PIN (used where the PIN policy covers their grade)."""
    with unit_of_work(ctx) as (_runtime, session):
        badges.set_pin(session, badges.get_person(session, person_id), pin, actor=ACTOR)
    click.echo(f"PIN set for {person_id}")


@main.command("expiring")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def expiring(ctx: click.Context, as_json: bool) -> None:
    """List badges that expire within the warning window."""
    with unit_of_work(ctx) as (runtime, session):
        rows: list[Badge] = badges.expiring_soon(session, runtime.settings)
        data = [
            {
                "person_id": b.person_id,
                "name": b.person.display_name,
                "reference": b.reference,
                "expires_at": b.expires_at.isoformat(timespec="seconds"),
            }
            for b in rows
        ]
    text = "\n".join(f"{d['expires_at']}  {d['reference']}  {d['name']}" for d in data) or "no badges expire soon"
    emit(as_json, {"expiring": data}, text)


@main.command("print-badges")
@click.option("--class", "class_id", help="Print this class (sorted by name, with a cover page).")
@click.option("--school", "school_id", help="Print a whole school: -o FILE.zip, one PDF per class.")
@click.option("--person", "person_id", help="Print one student's badge.")
@click.option("--only-new", is_flag=True, help="Only badges never printed (new or replaced).")
@click.option(
    "--template",
    "template_name",
    default="square-2in-letter",
    show_default=True,
    help="See `badge-print --list-templates`.",
)
@click.option("--offset-x", type=float, default=0.0, help="Move everything right by this many mm.")
@click.option("--offset-y", type=float, default=0.0, help="Move everything down by this many mm.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.pass_context
@fail_cleanly
def print_badges_command(
    ctx: click.Context,
    class_id: str | None,
    school_id: str | None,
    person_id: str | None,
    only_new: bool,
    template_name: str,
    offset_x: float,
    offset_y: float,
    output: Path,
) -> None:
    """Print badge sheets from the database; every badge printed is audited."""
    if sum(x is not None for x in (class_id, school_id, person_id)) != 1:
        raise click.UsageError("give exactly one of --class, --school or --person")
    if (school_id is not None) != (output.suffix.lower() == ".zip"):
        raise click.UsageError("a school prints as a .zip of one PDF per class; a class or a person as a .pdf")
    count = write_badge_pdf(
        ctx.obj,
        PrintRequest(class_id, school_id, person_id, only_new),
        template_name,
        output,
        offset_x,
        offset_y,
        actor=ACTOR,
    )
    click.echo(f"{count} badges written to {output}")


@main.command("print-letters")
@click.option("--class", "class_id", help="A letter for every student of this class.")
@click.option("--person", "person_id", help="One student's letter.")
@click.option("--page-size", type=click.Choice(["letter", "a4"]), default="letter", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def print_letters_command(
    ctx: click.Context, class_id: str | None, person_id: str | None, page_size: str, output: Path, as_json: bool
) -> None:
    """Letters home (one page per student, in the family's language where the roster has it):
    the badge, how to sign in at home, the username and password (given now to a student who has
    none), and what to do when it does not work. Needs BADGE_PUBLIC_URL (the address printed)."""
    from badge_printing.letters import render_letters
    from badge_server.letters import LetterRequest, build_letters

    if (class_id is None) == (person_id is None):
        raise click.UsageError("give exactly one of --class or --person")
    settings: Settings = ctx.obj
    if not settings.public_url:
        raise BadgeServerError("set BADGE_PUBLIC_URL: the letter prints the address families open")
    partial = output.with_name(output.name + ".partial")
    try:
        with unit_of_work(ctx) as (runtime, session):
            request = LetterRequest(class_id=class_id, person_id=person_id)
            letters = build_letters(
                session, runtime.keys, runtime.settings, request, sign_in_url=settings.public_url, actor=ACTOR
            )
            try:  # inside the transaction: a letter that cannot be written gives no password
                with open_private(partial) as handle:
                    handle.write(render_letters(letters, page_size))
                partial.replace(output)
            except OSError as exc:
                raise BadgeServerError(f"cannot write {output}: {exc.strerror}") from exc
    finally:
        partial.unlink(missing_ok=True)
    data = {"letters": len(letters), "output": str(output), "languages": sorted({x.language for x in letters})}
    emit(as_json, data, f"{len(letters)} letters written to {output}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
@fail_cleanly
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the API and web pages with uvicorn."""
    from badge_server.ops.serve import run

    run(ctx.obj, host=host, port=port, workers=workers)


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("badge-demo"), show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the demo district and exit.")
@fail_cleanly
def demo(data_dir: Path, host: str, port: int, no_serve: bool) -> None:
    """Set up a whole demo district on the embedded database, then serve it."""
    from badge_server.ops.demo import build_demo

    # A person watches the demo's terminal: plain text, unless they ask for the JSON a server logs.
    log_format = os.environ.get("BADGE_LOG_FORMAT", "text")
    settings = Settings(
        env="development",
        data_dir=data_dir,
        database_url=None,
        public_url=f"http://{host}:{port}",
        log_format=log_format,
    )
    click.echo(build_demo(settings, host=host, port=port))
    if not no_serve:
        from badge_server.ops.demo_app import CONFIG_FILE, DemoApp, DemoAppConfig, demo_app_router
        from badge_server.ops.demo_saml_app import DemoSamlApp, demo_saml_router
        from badge_server.ops.serve import run

        config = DemoAppConfig.read(data_dir / CONFIG_FILE)
        routers = [demo_app_router(DemoApp(config))] if config else []
        routers.append(demo_saml_router(DemoSamlApp(f"http://{host}:{port}")))
        run(settings, host=host, port=port, workers=1, extra_routers=routers)


@main.command("backup")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Archive to write (.tar.gz).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def backup_command(ctx: click.Context, output: Path, as_json: bool) -> None:
    """Back up the embedded database and the server key into one archive (mode 0600), online."""
    from badge_server.ops.backup import backup

    manifest = backup(ctx.obj, output)
    click.echo(json.dumps({"output": str(output), **manifest}) if as_json else f"backup written to {output}")


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing database (stop the server first).")
@click.pass_context
@fail_cleanly
def restore_command(ctx: click.Context, archive: Path, force: bool) -> None:
    """Put a backup's database and server key back in place (the server must be stopped)."""
    from badge_server.ops.backup import restore

    manifest = restore(ctx.obj, archive, force=force)
    click.echo(
        f"restored the backup made {manifest.get('made_at')}; run `badge-server init` to bring the schema up to date"
    )


# ---- cart enrolment links (badge_server/enrol_links.py) ----


@contextmanager
def _keeping_refusal_audit(ctx: click.Context) -> Iterator[tuple[Runtime, Session]]:
    """A unit of work that still commits the audit row of a refused enrolment-link request."""
    from badge_server.errors import EnrolLinkRefused

    refused: EnrolLinkRefused | None = None
    with unit_of_work(ctx) as (runtime, session):
        try:
            yield runtime, session
        except EnrolLinkRefused as exc:  # raised before anything but its audit row was written
            refused = exc
    if refused is not None:
        raise refused


@main.group("enrol-link")
def enrol_link() -> None:
    """Links that enrol a school's cart of Chromebooks as badge scanners, one use per device."""


@enrol_link.command("create")
@click.option("--school", "school_id", required=True, help="School sourcedId from the roster.")
@click.option("--uses", type=int, default=30, show_default=True, help="Devices it may enrol (at most 500).")
@click.option("--hours", type=float, default=24, show_default=True, help="Lifetime (at most 168, 7 days).")
@click.option("--name-prefix", default="Chromebook", show_default=True, help='Devices are named "<prefix> 1", ...')
@click.option(
    "--sheet",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the one-page set-up sheet (the link as a QR code) to this PDF.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def enrol_link_create(
    ctx: click.Context, school_id: str, uses: int, hours: float, name_prefix: str, sheet: Path | None, as_json: bool
) -> None:
    """Make a multi-use, expiring enrolment link (shown once: only its digest is stored)."""
    from badge_server import enrol_links, schools
    from badge_server.errors import ConfigError
    from badge_server.ops.enrol_sheet import write_enrol_sheet

    base_url = ctx.obj.public_url
    if not base_url:
        raise ConfigError("set BADGE_PUBLIC_URL (e.g. https://badges.example.org) so the link points at the server")
    with _keeping_refusal_audit(ctx) as (_runtime, session):
        grant = enrol_links.create_link(
            session, school_id, base_url, actor=ACTOR, max_uses=uses, hours=hours, name_prefix=name_prefix
        )
        if sheet is not None:  # before the commit: a sheet that cannot be written leaves no link
            write_enrol_sheet(grant, schools.school_names(session).get(school_id, school_id), sheet)
    data = grant.as_json()
    emit(
        as_json,
        data,
        f"{grant.url}\n  link {grant.link_id}: enrols up to {grant.max_uses} scanners of {school_id} named "
        f'"{grant.name_prefix} 1", ...; expires {data["expires_at"]}.\n'
        f"  Revoke it with: badge-server enrol-link revoke {grant.link_id}",
    )


@enrol_link.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@fail_cleanly
def enrol_link_list(ctx: click.Context, as_json: bool) -> None:
    """Every enrolment link, newest first, with uses left and whether it still works."""
    from badge_server import enrol_links

    with unit_of_work(ctx) as (_runtime, session):
        rows = [enrol_links.summary(link) for link in enrol_links.links_of(session, None)]
    text = "\n".join(
        f"{r['link_id']}  {r['school_id']}  {r['state']:8}  {r['uses']}/{r['max_uses']} used  "
        f"expires {r['expires_at']}  {r['name_prefix']}"
        for r in rows
    )
    emit(as_json, {"links": rows}, text or "no enrolment links")


@enrol_link.command("revoke")
@click.argument("link_id")
@click.pass_context
@fail_cleanly
def enrol_link_revoke(ctx: click.Context, link_id: str) -> None:
    """Stop a link now (devices it enrolled stay; disable them with disable-device)."""
    from badge_server import enrol_links

    with _keeping_refusal_audit(ctx) as (_runtime, session):
        link = enrol_links.revoke_link(session, link_id, actor=ACTOR)
        uses = link.uses
    click.echo(f"enrolment link {link_id} revoked after {uses} uses")


# Single sign-on registration (ops/sso_commands.py).
main.add_command(oidc_client)
main.add_command(rotate_signing_key)

# Staff accounts from the roster, with invitations (ops/staff_commands.py).
main.add_command(staff_commands.invite_staff)

# Retention: purge (nightly) and purge-people (ops/retention_commands.py).
main.add_command(retention_commands.purge)
main.add_command(retention_commands.purge_people)

# SAML identity provider: saml-sp add|list|disable, saml-certificate (ops/saml_commands.py).
main.add_command(saml_commands.saml_sp)
main.add_command(saml_commands.saml_certificate)


def run_program() -> None:
    """The ``badge-server`` program. Whatever else a command writes (a database, an export)
    is its owner's only, as under the systemd unit's UMask=0077; tests call ``main`` in-process
    and keep their own umask."""
    os.umask(0o077)
    main()
