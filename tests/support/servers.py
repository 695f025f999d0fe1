"""Real servers on loopback: the app in a thread of the test process, or a server process."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from badge_server.app import create_app
from badge_server.runtime import Runtime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(base_url: str, seconds: float = 60) -> bool:
    """Poll ``GET /healthz`` of a server started in another process; True once it answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


class LoopbackServer:
    """uvicorn serving an app on 127.0.0.1 in a thread of the test process."""

    def __init__(self, runtime: Runtime, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
