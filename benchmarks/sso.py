"""Single sign-on timings against a real local server (the demo district, SQLite).

1. An authorize request for a student who already has a session: the real endpoint (Authlib, the
   audit row, the sign-in record) side by side with a lean reference that does only the essential
   work (the session by its digest, the client, the exact redirect URI, one code row, one audit
   row, one commit), served the same way (uvicorn on loopback), measured the same way.
2. A dashboard tile tap to the app's page: ``/apps/{id}/open`` -> the app's initiate-login URI ->
   ``/authorize`` -> the app's callback, which redeems the code at ``/token`` before it answers:
   what a child waits for between the tap and the app's first page.

Run: .venv/bin/python -m benchmarks.sso
"""

from __future__ import annotations

import json
import platform
import secrets
import socket
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from badge_server import audit, badges
from badge_server.app import create_app
from badge_server.clock import utcnow
from badge_server.keys import token_digest
from badge_server.ops.demo import build_demo
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.sso.oidc_clients import register_client
from badge_server.store.db import transaction
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import OidcClient, OidcCode

ROUNDS = 300
TILE_ROUNDS = 60


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def lean_reference(runtime: Runtime) -> Starlette:
    """The essential work of answering an authorize request with a session, and nothing else."""

    def authorize(request: Request) -> Response:
        query = request.query_params
        with transaction(runtime.factory) as db:
            digest = token_digest(request.cookies.get("badge_session", ""))
            student = db.scalars(select(StudentSession).where(StudentSession.token_digest == digest)).first()
            client = db.get(OidcClient, query["client_id"])
            if student is None or client is None or query["redirect_uri"] not in client.redirect_uris:
                return PlainTextResponse("refused", status_code=400)
            code = secrets.token_urlsafe(32)
            now = utcnow()
            db.add(
                OidcCode(
                    digest=token_digest(code),
                    client_id=client.id,
                    session_id=student.id,
                    person_id=student.person_id,
                    redirect_uri=query["redirect_uri"],
                    scope=query["scope"],
                    nonce=query.get("nonce"),
                    auth_time=student.created_at,
                    expires_at=now + timedelta(seconds=60),
                    used_at=None,
                )
            )
            audit.record(db, "oidc.authorize", person_id=student.person_id, client_id=client.id)
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}", 302)

    return Starlette(routes=[Route("/authorize", authorize)])


def the_app(server_url: str, app_url: str, client: dict[str, str]) -> Starlette:
    """A relying party: starts sign-in when a tile sends the child, redeems the code, shows a page."""

    def login(request: Request) -> Response:
        query = {
            "response_type": "code",
            "client_id": client["id"],
            "redirect_uri": f"{app_url}/callback",
            "scope": "openid profile",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
        }
        return RedirectResponse(f"{server_url}/authorize?{urlencode(query)}", 302)

    def callback(request: Request) -> Response:
        form = {"grant_type": "authorization_code", "code": request.query_params["code"],
                "redirect_uri": f"{app_url}/callback"}  # fmt: skip
        tokens = httpx.post(f"{server_url}/token", data=form, auth=(client["id"], client["secret"])).json()
        return PlainTextResponse(f"signed in ({len(tokens['id_token'])}-byte ID token)")

    return Starlette(routes=[Route("/login", login), Route("/callback", callback)])


def _timed(call: Any, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"| {name} | {len(times)} | {statistics.median(times):.1f} ms | {p95:.1f} ms | {max(times):.1f} ms |"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="badge-sso-"))
    port, lean_port, app_port = _port(), _port(), _port()
    server_url, app_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{app_port}"
    settings = Settings(_env_file=None, env="development", data_dir=folder / "data", public_url=server_url)
    build_demo(settings, host="127.0.0.1", port=port)
    runtime = Runtime.start(settings)
    with transaction(runtime.factory) as db:
        new = register_client(
            db, runtime.keys, name="Benchmark app", redirect_uris=[f"{app_url}/callback"], public=False,
            scopes=["profile"], initiate_login_uri=f"{app_url}/login", backchannel_logout_uri=None,
            app_id="starfall", actor="benchmark", now=utcnow(),
        )  # fmt: skip
        client = {"id": new.client.id, "secret": new.secret or ""}
    servers = [
        _serve(create_app(runtime=runtime), port),
        _serve(lean_reference(runtime), lean_port),
        _serve(the_app(server_url, app_url, client), app_port),
    ]
    device = json.loads((settings.data_dir / "demo-device.json").read_text())["device_token"]
    with transaction(runtime.factory) as db:
        badge = badges.current_badge(db, "st-0001")
        assert badge is not None
        payload = str(badges.reprint(db, runtime.keys, badge, actor="benchmark").payload)
    browser = httpx.Client(base_url=server_url, follow_redirects=False, cookies={"badge_device": device})
    code = browser.post("/api/v1/exchange", json={"badge": payload}, headers={"Authorization": f"Bearer {device}"})
    browser.get(f"/launch/{code.json()['launch_code']}")
    session = browser.cookies["badge_session"]

    query = {"response_type": "code", "client_id": client["id"], "redirect_uri": f"{app_url}/callback",
             "scope": "openid profile", "state": "s", "nonce": "n"}  # fmt: skip
    path = f"/authorize?{urlencode(query)}"

    def real() -> None:
        answer = browser.get(path)
        assert answer.status_code == 302 and "code=" in answer.headers["location"], answer.text

    lean = httpx.Client(base_url=f"http://127.0.0.1:{lean_port}", cookies={"badge_session": session})

    def reference() -> None:
        answer = lean.get(path)
        assert answer.status_code == 302 and "code=" in answer.headers["location"], answer.text

    tapper = httpx.Client(base_url=server_url, follow_redirects=True, cookies={"badge_session": session})

    def tile_tap() -> None:
        answer = tapper.get("/apps/starfall/open")
        assert answer.status_code == 200 and answer.text.startswith("signed in"), answer.text

    for warm in (real, reference, tile_tap):
        _timed(warm, 10)
    real_times, lean_times = [], []
    for _ in range(3):  # interleaved, so both see the same machine
        real_times += _timed(real, ROUNDS // 3)
        lean_times += _timed(reference, ROUNDS // 3)
    tile_times = _timed(tile_tap, TILE_ROUNDS)
    assert parse_qs(urlsplit(browser.get(path).headers["location"]).query)["code"]

    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {platform.python_version()}, SQLite, "
          f"HTTP on loopback (client-side time, an upper bound of server time)\n")  # fmt: skip
    print("| what | rounds | median | p95 | max |")
    print("|---|---|---|---|---|")
    print(_row("authorize with a session (the endpoint)", real_times))
    print(_row("authorize with a session (lean reference)", lean_times))
    print(_row("tile tap -> the app's page (open, app login, authorize, callback + token)", tile_times))
    for server in servers:
        server.should_exit = True
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
