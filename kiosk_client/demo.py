"""The demo kiosk's set-up (``badge-kiosk demo-setup``): what ``badge-server demo`` asks of the kiosk.

The server's demo leaves an enrolled device's token and one badge's QR text in its data folder;
this makes a video of that badge held up to a camera and a kiosk config that scans it, so the
whole loop runs on a machine without a webcam. It lives in the kiosk because only the kiosk
knows its own config and token store; the server runs it as a command, never imports it.
"""

from __future__ import annotations

import json
from pathlib import Path

from kiosk_client.credentials import FileKeyring, save_token
from kiosk_client.errors import KioskError
from kiosk_client.frames import write_badge_video

DEVICE_FILE = "demo-device.json"  # {"device_id", "device_token"}, written by badge-server demo
BADGE_FILE = "demo-badge.txt"  # one demo student's badge payload, written by badge-server demo


def set_up_demo_kiosk(data_dir: Path, server_url: str) -> Path:
    """Write the demo video, token file and kiosk config into ``data_dir``; returns the config's path."""
    try:
        token = json.loads((data_dir / DEVICE_FILE).read_text(encoding="utf-8"))["device_token"]
        payload = (data_dir / BADGE_FILE).read_text(encoding="utf-8").strip()
    except (OSError, ValueError, KeyError) as exc:
        raise KioskError(f"{data_dir} holds no demo district (run `badge-server demo` first): {exc}") from exc
    video = data_dir / "demo-badge.avi"
    if not video.exists():
        write_badge_video(str(video), payload=payload)
    token_file = data_dir / "kiosk-token.json"
    save_token(FileKeyring(token_file), token)
    config = data_dir / "kiosk.toml"
    config.write_text(
        f'server_url = "{server_url}"\ncamera = "{video.resolve()}"\ntoken_file = "{token_file.resolve()}"\n'
        "fullscreen = false\nidle_sign_out_seconds = 30\n",
        encoding="utf-8",
    )
    return config
