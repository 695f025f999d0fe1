"""The kiosk's HTTP client for the badge server's public API (DESIGN.md)."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kiosk_client import __version__
from kiosk_client.errors import ConfigError, ServerRefused, ServerUnreachable

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0


def check_server_url(url: str) -> str:
    """Refuse plain HTTP except to this machine: a badge is a password and must not cross a
    network in clear."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"server URL {url!r} must be https://host[:port]")
    if parts.scheme == "http":
        host = parts.hostname
        loopback = host == "localhost"
        with contextlib.suppress(ValueError):
            loopback = loopback or ipaddress.ip_address(host).is_loopback
        if not loopback:
            raise ConfigError(f"server URL {url!r} uses plain HTTP; use https:// (plain HTTP only to loopback)")
    return url.rstrip("/")


def make_session(ca_bundle: str | None = None) -> requests.Session:
    """A session that retries only when no request reached the server (connection errors), with
    back-off; a request the server may have seen is never sent twice."""
    session = requests.Session()
    # respect_retry_after_header=False: urllib3 otherwise retries (and then fails with RetryError)
    # any 429 or 503 carrying Retry-After, even with status retries at 0. A 429 is an answer for
    # the child ("wait 40 seconds"), not a network error.
    retry = Retry(
        total=3,
        connect=3,
        read=0,
        status=0,
        other=0,
        backoff_factor=0.3,
        allowed_methods=None,
        respect_retry_after_header=False,
    )
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.verify = ca_bundle or True  # TLS is always verified; a custom CA bundle may be given
    session.headers["User-Agent"] = f"badge-kiosk/{__version__}"
    return session


@dataclass(frozen=True)
class Exchanged:
    launch_code: str
    launch_url: str
    expires_in: int
    user: dict[str, Any]


@dataclass(frozen=True)
class App:
    id: str
    name: str
    launch_url: str
    icon: str | None  # the icon's path on the server (it changes when the icon does)
    color: str
    icon_image: bytes | None = None  # the icon's bytes, once fetched (BadgeServerClient.with_icons)


MAX_ICON_BYTES = 256 * 1024  # the server's own limit on an uploaded icon


class BadgeServerClient:
    """Calls the server. ``session`` is the transport seam: tests pass their own."""

    def __init__(
        self,
        server_url: str,
        *,
        session: requests.Session | None = None,
        ca_bundle: str | None = None,
        device_token: str | None = None,
    ) -> None:
        self.server_url = check_server_url(server_url)
        self.session = session or make_session(ca_bundle)
        self.device_token = device_token
        self._icons: dict[str, bytes | None] = {}

    def _call(self, method: str, path: str, *, token: str | None = None, json: Any = None, device: bool = False) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if device and self.device_token:  # the bearer is a student's session; the device says who asks
            headers["X-Device-Token"] = self.device_token
        try:
            response = self.session.request(
                method, self.server_url + path, json=json, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            )
        except requests.RequestException as exc:
            raise ServerUnreachable(f"cannot reach {self.server_url}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ServerUnreachable(f"{self.server_url} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            retry_after = response.headers.get("Retry-After")
            raise ServerRefused(
                response.status_code,
                str(error.get("code", "unknown")),
                str(error.get("message", response.reason)),
                int(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        return body

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/healthz")
        return result

    def whoami(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/api/v1/devices/me", token=self.device_token)
        return result

    def enroll(self, code: str, name: str) -> tuple[str, str]:
        body = self._call("POST", "/api/v1/devices/enroll", json={"code": code, "name": name})
        return body["device_id"], body["device_token"]

    def exchange(self, badge: str, pin: str | None = None) -> Exchanged:
        payload: dict[str, str] = {"badge": badge}
        if pin:
            payload["pin"] = pin
        body = self._call("POST", "/api/v1/exchange", token=self.device_token, json=payload)
        return Exchanged(body["launch_code"], body["launch_url"], body["expires_in"], body["user"])

    def launch(self, launch_code: str) -> str:
        body = self._call("POST", "/api/v1/launch", token=self.device_token, json={"launch_code": launch_code})
        token: str = body["session_token"]
        return token

    def apps(self, session_token: str) -> list[App]:
        body = self._call("GET", "/api/v1/me/apps", token=session_token)
        return [
            App(a["id"], a["name"], a["launch_url"], a.get("icon"), a.get("color", "#3566c8")) for a in body["apps"]
        ]

    def with_icons(self, apps: list[App]) -> list[App]:
        """The apps with their icons' bytes. An icon's path changes with its content, so each is
        fetched once per kiosk run; an icon that cannot be had leaves the tile its first letter."""
        found = []
        for app in apps:
            if app.icon and app.icon.startswith("/") and app.icon not in self._icons:
                self._icons[app.icon] = self._fetch_icon(app.icon)
            image = self._icons.get(app.icon) if app.icon else None
            found.append(replace(app, icon_image=image) if image else app)
        return found

    def _fetch_icon(self, path: str) -> bytes | None:
        data = b""
        try:
            with self.session.get(
                self.server_url + path, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True
            ) as response:
                if not response.ok:
                    return None
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_ICON_BYTES:  # not what the server serves: not read to the end
                        return None
        except requests.RequestException:
            return None
        return data or None

    def handoff(self, session_token: str, app_id: str) -> str:
        """A single-use URL (seconds) that signs the browser this kiosk opens in as the student and
        goes on to the app. ServerRefused with status 404: a server without hand-offs."""
        body = self._call("POST", "/api/v1/handoff", token=session_token, json={"app_id": app_id}, device=True)
        url: str = body["url"]
        try:
            check_server_url(url)  # https (or loopback): the browser must not carry it in clear
        except ConfigError:
            # Not quoted: the URL holds the code.
            raise ServerUnreachable("the server answered a hand-off URL that is neither https nor loopback") from None
        return url

    def logout(self, session_token: str) -> None:
        self._call("POST", "/api/v1/logout", token=session_token)
