"""The server as uvicorn runs it: Nagle's algorithm off on every connection, a clean access log."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from badge_server.ops.serve import NoDelayHTTPProtocol
from tests.support.cli import COMMAND, badge_server
from tests.support.servers import free_port, wait_until_serving


class Transport:
    """Just enough of an asyncio transport for connection_made's socket option."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default


def test_accepted_connections_get_tcp_nodelay_even_from_a_socket_that_hides_its_protocol() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            protocol = NoDelayHTTPProtocol.__new__(NoDelayHTTPProtocol)
            # The rest of uvicorn's set-up needs a real server; the option is set before it.
            with contextlib.suppress(AttributeError):
                protocol.connection_made(Transport(accepted))
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_the_access_log_of_a_real_server_holds_no_launch_or_hand_off_code(tmp_path: Path) -> None:
    """Issue 15: `GET /launch/<code>` reached uvicorn's access log, code and all."""
    data_dir = tmp_path / "data"
    assert badge_server(["init"], {"BADGE_DATA_DIR": str(data_dir)}).returncode == 0
    port = free_port()
    log = tmp_path / "server.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")}
    environment["BADGE_DATA_DIR"] = str(data_dir)
    with (
        log.open("w") as output,
        subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port)], env=environment, stdout=output, stderr=subprocess.STDOUT
        ) as server,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(base, 60)
            httpx.get(f"{base}/launch/Launch-Code-Secret-1")
            httpx.get(f"{base}/handoff/Handoff-Code-Secret-2")
            httpx.get(f"{base}/healthz")
        finally:
            server.terminate()
            server.wait(10)
    text = log.read_text()
    assert "GET /healthz" in text, "the access log is on"
    assert "GET /launch/…" in text and "GET /handoff/…" in text
    assert "Secret-1" not in text and "Secret-2" not in text
