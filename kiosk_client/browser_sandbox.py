"""The app browser runs where the kiosk's device token is not.

systemd hands the service its token as a credential, a file in ``$CREDENTIALS_DIRECTORY`` that
the service's user may read, and the app browser the kiosk starts runs as that same user. So the
browser is started in a mount namespace of its own, where an empty, unreadable folder covers the
credentials: whatever a child does in the browser (a ``file://`` address, a download dialog), the
token is not there to read. No privilege is needed: an unprivileged user namespace (``unshare``,
util-linux) maps the user to root just long enough to mount the folder, then a nested one maps
it back, so the browser runs as the kiosk's own user and its own sandbox works as usual.

Fails closed: where the namespace cannot be made, the browser does not start (``badge-kiosk
check`` says so), rather than start beside the token.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

# $0: the folder to cover, $1 and $2: the user and group to be again, the rest: the browser.
_COVER_AND_RUN = (
    "folder=$0 user=$1 group=$2; shift 2; "
    'mount -t tmpfs -o size=4k,mode=0500 badge-no-credentials "$folder" '
    '&& exec unshare --user --map-user="$user" --map-group="$group" -- "$@"'
)


def without_credentials(command: Sequence[str], environment: Mapping[str, str] | None = None) -> list[str]:
    """``command``, wrapped so that it cannot see the service's credentials (if it has any)."""
    folder = (environment if environment is not None else os.environ).get("CREDENTIALS_DIRECTORY")
    if not folder:
        return list(command)  # not under systemd with a credential: nothing to hide
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    cover = [unshare, "--map-root-user", "--mount", "--propagation", "private", "--", "sh", "-c", _COVER_AND_RUN]
    return [*cover, folder, str(os.getuid()), str(os.getgid()), *command]


def can_hide_credentials(folder: str) -> bool:
    """Whether this machine lets the kiosk's user make the namespace (user namespaces allowed)."""
    probe = without_credentials(["test", "!", "-r", os.path.join(folder, "device-token")],
                                {"CREDENTIALS_DIRECTORY": folder})  # fmt: skip
    return subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0  # noqa: S603
