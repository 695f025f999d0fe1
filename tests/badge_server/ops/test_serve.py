"""The uvicorn protocol the server runs with turns Nagle's algorithm off on every connection."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from badge_server.ops.serve import NoDelayHTTPProtocol


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
