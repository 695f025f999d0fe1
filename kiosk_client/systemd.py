"""Telling systemd how the kiosk is doing: ready once the window shows, then alive at the
interval the unit's ``WatchdogSec=`` asks for (a hung kiosk is restarted, not left frozen)."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send one sd_notify message; False when not run by systemd (no ``$NOTIFY_SOCKET``)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


def watchdog_interval_ms() -> int | None:
    """How often to say "alive": half the unit's watchdog time-out, or None without one.

    ``WATCHDOG_PID`` names the unit's main process, which is the compositor (cage) the kiosk
    runs in; the unit sets ``NotifyAccess=all`` so the kiosk, its child, may answer for it.
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    return max(500, int(usec) // 2000)
