"""The server as uvicorn runs it: Nagle's algorithm off on every connection, a clean access log."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from badge_server.ops.serve import NoDelayHTTPProtocol, usable_cores, workers_beyond_cores
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from tests.support.api import exchange
from tests.support.cli import COMMAND, badge_server
from tests.support.district import build_district
from tests.support.oidc_app import browser_for
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


def test_two_workers_log_json_lines_without_secrets_and_their_metrics_add_up(tmp_path: Path) -> None:
    """Issue 18: one JSON line per request, its id echoed in X-Request-ID, no badge, token, code or
    password in any line; and a scrape of either worker counts the exchanges both answered."""
    data_dir = tmp_path / "data"
    assert badge_server(["init"], {"BADGE_DATA_DIR": str(data_dir)}).returncode == 0
    runtime = Runtime.start(Settings(_env_file=None, data_dir=data_dir))
    try:
        district = build_district(runtime)
    finally:
        runtime.engine.dispose()
    (tmp_path / "metrics-token").write_text("scrape-me-0123456789abcdef\n")
    port = free_port()
    log = tmp_path / "server.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")}
    environment.update(BADGE_DATA_DIR=str(data_dir), BADGE_METRICS_TOKEN_FILE=str(tmp_path / "metrics-token"))
    secrets = [district.device_token, "a-wrong-password-7", "Invitation-Token-Secret-3", "Oidc-Code-Secret-4"]
    with (
        log.open("w") as output,
        subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port), "--workers", "2"], env=environment, stdout=output, stderr=output
        ) as server,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            assert wait_until_serving(base, 90)
            ids = []
            for person_id in ("st-0001", "st-0002", "st-0003", "st-0004", "st-0005", "st-0006"):
                with browser_for(base, district) as kiosk:  # a new connection: either worker
                    answer = exchange(kiosk, district.device_token, district.payloads[person_id])
                    assert answer.status_code == 200, answer.text
                    ids.append(answer.headers["X-Request-ID"])
                    secrets += [district.payloads[person_id], answer.json()["launch_code"]]
                    launched = kiosk.get(f"/launch/{answer.json()['launch_code']}")
                    assert launched.status_code == 303, launched.text
                    secrets += [value for name, value in launched.cookies.items() if "session" in name]
            httpx.post(f"{base}/staff/login", data={"username": "it-admin", "password": "a-wrong-password-7"})
            httpx.get(f"{base}/staff/invite/Invitation-Token-Secret-3")
            httpx.get(f"{base}/staff/login/district/return?code=Oidc-Code-Secret-4&state=x")
            counted = 0.0
            for _ in range(4):  # whichever worker answers the scrape, it counts both workers' exchanges
                scraped = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape-me-0123456789abcdef"})
                assert scraped.status_code == 200
                (counted,) = [
                    sample.value
                    for family in text_string_to_metric_families(scraped.text)
                    for sample in family.samples
                    if sample.name == "badge_exchanges_total" and sample.labels == {"outcome": "ok"}
                ]
                assert counted == 6
        finally:
            server.terminate()
            server.wait(20)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON, uvicorn's own too
    requests = [record for record in records if record["logger"] == "badge_server.request"]
    assert {"request_id", "method", "path", "status", "outcome", "duration_ms", "time", "level"} <= set(requests[0])
    assert set(ids) <= {record["request_id"] for record in requests}, "the id in the header is the line's"
    said = {record["message"] for record in requests}
    assert {"GET /launch/… 303", "GET /staff/invite/… 404", "GET /staff/login/district/return 404"} <= said, said
    assert len(secrets) == 4 + 6 * 3, "a badge, a launch code and a session cookie each"
    text = log.read_text()
    leaked = [secret for secret in secrets if secret and secret in text]
    assert leaked == [], "a secret reached the log"
    assert "scrape-me" not in text and "Oidc-Code" not in text
    # Two workers on the embedded database: advice only if this machine has fewer cores.
    notes = [record for record in records if record["logger"] == "badge_server.serve"]
    if usable_cores() >= 2:
        assert notes == [], notes
    else:
        (note,) = notes
        assert note["level"] == "WARNING" and f"Use --workers {usable_cores()}" in note["message"]


def test_it_is_told_when_workers_on_the_embedded_database_outnumber_the_cores(tmp_path: Path) -> None:
    embedded = Settings(_env_file=None, data_dir=tmp_path)
    advice = workers_beyond_cores(embedded, 4, 2)
    assert advice is not None and "4 workers on 2 CPU cores" in advice and "BADGE_WORKERS=2" in advice
    assert workers_beyond_cores(embedded, 2, 2) is None
    assert workers_beyond_cores(embedded, 1, 1) is None
    district = Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql+psycopg://badge@db/badge")
    assert workers_beyond_cores(district, 8, 2) is None, "PostgreSQL's workers take no turns"
