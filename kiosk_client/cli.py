"""``badge-kiosk``: run the kiosk, enrol this device, or check it (what IT runs on a new device)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import click

from kiosk_client import __version__
from kiosk_client.api import BadgeServerClient
from kiosk_client.browser_sandbox import can_hide_credentials
from kiosk_client.config import SYSTEM_CONFIG, KioskConfig, load_config, save_server_url
from kiosk_client.credentials import backend_for, load_token, save_token
from kiosk_client.errors import KioskError, NotEnrolled, ServerRefused, ServerUnreachable


def _config(ctx: click.Context) -> KioskConfig:
    options = ctx.find_root().params
    return load_config(options.get("config_path"), server_url=options.get("server"), camera=options.get("camera"))


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="badge-kiosk")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default /etc/badge-kiosk/kiosk.toml).",
)
@click.option("--server", help="Badge server URL (overrides the config file).")
@click.option("--camera", help="Camera index, device path, or a video/image file (looped).")
@click.option("--windowed", is_flag=True, help="A window instead of full screen.")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, server: str | None, camera: str | None, windowed: bool) -> None:
    """The badge sign-in kiosk. With no command: run it."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = _config(ctx)
        if windowed:
            config = config.model_copy(update={"fullscreen": False})
        token = load_token(backend_for(config.token_store, config.token_file, config.credential_file))
    except KioskError as exc:
        _fail(str(exc))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kiosk_client.app import KioskApp

    app = QApplication(sys.argv[:1])
    kiosk = KioskApp(config, BadgeServerClient(config.server_url, ca_bundle=config.ca_bundle, device_token=token))
    # systemd stops the kiosk with SIGTERM: quit through Qt so the workers stop and the signed-in
    # student's session ends on the server. Python runs signal handlers only between bytecodes,
    # so a timer wakes the interpreter while Qt's loop waits.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: app.quit())
    wake = QTimer(interval=250)
    wake.timeout.connect(lambda: None)
    wake.start()
    kiosk.start()
    # EXIT_WORKER_FAILED when a worker failed: systemd sees the failure, and restarts the kiosk.
    sys.exit(app.exec())


@main.command()
@click.option("--code", required=True, help="The enrolment code an admin made (badge-server enroll-code).")
@click.option("--name", default=None, help="Device name shown to admins (default: host name).")
@click.option(
    "--server",
    "server_url",
    default=None,
    help="The badge server to enrol with; saved in the config file as server_url.",
)
@click.pass_context
def enroll(ctx: click.Context, code: str, name: str | None, server_url: str | None) -> None:
    """Enrol this device with the server and store its token (run once, as admin).

    ``badge-kiosk enroll --server URL --code CODE`` is the form the console and the docs print:
    the token belongs to that server, so the kiosk is pointed at it too (server_url in the
    config file), or it would go on asking another server that does not know the token.
    """
    options = ctx.find_root().params
    try:
        config = _config(ctx)
        if server_url is not None:
            config = load_config(options.get("config_path"), server_url=server_url, camera=options.get("camera"))
        client = BadgeServerClient(config.server_url, ca_bundle=config.ca_bundle)
        device_id, token = client.enroll(code, name or config.device_name or socket.gethostname())
        save_token(backend_for(config.token_store, config.token_file, config.credential_file), token)
        saved_in = (
            save_server_url(options.get("config_path") or SYSTEM_CONFIG, config.server_url) if server_url else None
        )
    except ServerRefused as exc:
        _fail(f"the server refused the code: {exc.message}")
    except KioskError as exc:
        _fail(str(exc))
    click.echo(f"enrolled as device {device_id} with {config.server_url}; token stored ({config.token_store})")
    if saved_in:
        click.echo(f"server_url = {config.server_url!r} saved in {saved_in}")


def run_check(config: KioskConfig, seconds: float, expect_badge: bool) -> tuple[dict[str, Any], list[str]]:
    """Camera, decoder speed, server and enrolment; returns the report and what is wrong."""
    from badge_server.contract.payload import looks_like_badge
    from kiosk_client.capture import FrameSource
    from kiosk_client.capture import brightness as frame_brightness
    from kiosk_client.decoder import default_scanner

    report: dict[str, Any] = {"version": __version__, "camera": config.camera, "server": config.server_url}
    problems: list[str] = []
    notes: list[str] = []
    source = FrameSource(config.camera, config.camera_width, config.camera_height, config.camera_format)
    if not source.open():
        problems.append(f"cannot open camera {config.camera!r} (is it plugged in? may this user use /dev/video*?)")
    else:
        scanner = default_scanner()
        mode = source.mode()
        width, height = mode.width, mode.height
        frames = badge_frames = 0
        decode_seconds = 0.0
        brightness = 0.0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            gray = source.read()
            if gray is None:
                problems.append("the camera stopped sending pictures")
                break
            frames += 1
            began = time.perf_counter()
            found = scanner.scan(gray)
            decode_seconds += time.perf_counter() - began
            brightness += frame_brightness(gray)
            badge_frames += any(looks_like_badge(d.text) for d in found)
            if source.is_file:
                time.sleep(max(0.0, 1 / source.fps - (time.perf_counter() - began)))
        elapsed = time.monotonic() - started
        source.close()
        report.update(
            width=width,
            height=height,
            mode=str(mode),
            frames=frames,
            fps=round(frames / elapsed, 1) if elapsed else 0,
            decode_ms=round(decode_seconds / frames * 1000, 2) if frames else None,
            badge_frames=badge_frames,
            brightness=round(brightness / frames) if frames else None,
        )
        if frames and brightness / frames < config.too_dark_level:
            problems.append(f"the picture is too dark (brightness {brightness / frames:.0f}); add light")
        if (width, height) != (config.camera_width, config.camera_height) and not source.is_file:
            notes.append(f"asked for {config.camera_width}x{config.camera_height}, camera gives {mode}")
        if frames and decode_seconds / frames > 1 / max(mode.fps, 1):
            # The newest frame still wins (no lag builds up); fewer frames are read, that is all.
            notes.append(
                f"decoding ({decode_seconds / frames * 1000:.1f} ms a frame) is slower than the camera's "
                f"{mode.fps:g} fps; a smaller camera_width/camera_height reads more often but less far"
            )
        if notes:
            report["notes"] = notes
        if expect_badge and badge_frames == 0:
            problems.append(f"no badge was read in {seconds:g} s; hold one up to the camera, in the box")
    client = BadgeServerClient(config.server_url, ca_bundle=config.ca_bundle)
    try:
        client.health()
        report["server_reachable"] = True
    except ServerUnreachable as exc:
        report["server_reachable"] = False
        problems.append(f"server unreachable: {exc} (TLS-inspecting web filter? set ca_bundle)")
    try:
        client.device_token = load_token(backend_for(config.token_store, config.token_file, config.credential_file))
        if report["server_reachable"]:
            report["device"] = client.whoami()
        report["enrolled"] = True
    except NotEnrolled as exc:
        report["enrolled"] = False
        problems.append(str(exc))
    except ServerRefused as exc:
        report["enrolled"] = False
        problems.append(f"the server does not accept this device: {exc.message}")
    except ServerUnreachable:
        pass
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and config.browser_command:
        # The app browser starts only where it cannot read the device token (browser_sandbox.py).
        report["browser_hides_token"] = can_hide_credentials(credentials)
        if not report["browser_hides_token"]:
            problems.append(
                "apps will not open: this machine does not let the kiosk hide its device token from the app "
                "browser (unprivileged user namespaces are off: sysctl kernel.unprivileged_userns_clone=1)"
            )
    report["ok"] = not problems
    report["problems"] = problems
    return report, problems


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option("--seconds", type=float, default=5.0, show_default=True, help="How long to watch the camera.")
@click.option("--expect-badge", is_flag=True, help="Fail unless a badge is read in that time.")
@click.pass_context
def check(ctx: click.Context, as_json: bool, seconds: float, expect_badge: bool) -> None:
    """Check camera, decoder speed, server and enrolment; exit 1 with the reason if anything is wrong."""
    try:
        config = _config(ctx)
    except KioskError as exc:
        _fail(str(exc))
    report, problems = run_check(config, seconds, expect_badge)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if key not in ("problems", "ok"):
                click.echo(f"{key:17} {value}")
        for problem in problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        click.echo("OK" if not problems else "NOT OK")
    sys.exit(1 if problems else 0)


@main.command("demo-setup")
@click.argument("data_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--server", "server_url", required=True, help="The demo server's URL.")
def demo_setup(data_dir: Path, server_url: str) -> None:
    """Make a kiosk config that scans a video of a demo badge (run by `badge-server demo`)."""
    from kiosk_client.demo import set_up_demo_kiosk

    try:
        click.echo(set_up_demo_kiosk(data_dir, server_url))
    except KioskError as exc:
        _fail(str(exc))
