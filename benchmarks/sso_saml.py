"""A SAML sign-in for a student who already has a session: server time, and over HTTP.

"server" is the work of ``GET /saml/sso`` in-process, in one transaction as the route does it:
check the AuthnRequest (decode, SP, ACS, IssueInstant, replay row), sign the Response and the
Assertion (signxml in-process, two signatures), record SsoSignIn and the audit row, commit.
"set-up" is the part of that spent building pysaml2's IdP (config, key files). "HTTP" is a whole
request to uvicorn on loopback with the session cookie, client included. Budget (issue 12): at
most 20 ms of server time.

Run: .venv/bin/python -m benchmarks.sso_saml
"""

from __future__ import annotations

import json
import platform
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from saml2 import BINDING_HTTP_REDIRECT
from sqlalchemy import update

from badge_server import sessions
from badge_server.app import create_app
from badge_server.clock import utcnow
from badge_server.ops.demo import build_demo
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.sso.saml_config import identity_provider
from badge_server.sso.saml_idp import check_authn_request, issue_response
from badge_server.sso.saml_providers import NewProvider, add_provider
from badge_server.store.db import transaction
from badge_server.store.models import Person
from tests.support.saml_sp import GoogleShapedSp

ROUNDS = 100


def _stats(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} ms | {p95:.1f} ms | {ms[-1]:.1f} ms |"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="badge-saml-bench-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    settings = Settings(_env_file=None, env="development", data_dir=folder / "data", public_url=issuer)
    build_demo(settings, host="127.0.0.1", port=port)
    runtime = Runtime.start(settings)
    sp = GoogleShapedSp(f"{issuer}/saml/sso")
    with transaction(runtime.factory) as session:
        session.execute(update(Person).where(Person.id == "st-0001").values(email="jose@riverside.example"))
        add_provider(session, NewProvider("Google", sp.entity_id, sp.acs_url), actor="benchmark")
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    token = json.loads((folder / "data" / "demo-device.json").read_text())["device_token"]
    with httpx.Client(base_url=issuer, timeout=30) as client:
        payload_session = client.post(
            "/api/v1/exchange",
            json={"badge": _payload(runtime)},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        session_token = client.post(
            "/api/v1/launch",
            json={"launch_code": payload_session["launch_code"]},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["session_token"]
        client.cookies.set("badge_session", session_token)

        server_times, setup_times, http_times = [], [], []
        for _ in range(ROUNDS):
            _id, xml = sp.authn_request()
            query = sp.redirect_query(xml)
            started = time.perf_counter()
            with transaction(runtime.factory) as session:
                student = sessions.authenticate_session(session, session_token)
                checked = check_authn_request(
                    session,
                    runtime.keys,
                    settings,
                    issuer,
                    utcnow(),
                    binding=BINDING_HTTP_REDIRECT,
                    saml_request=query["SAMLRequest"],
                    relay_state=None,
                )
                issue_response(session, runtime.keys, settings, issuer, student, checked, utcnow())
            server_times.append(time.perf_counter() - started)
            with transaction(runtime.factory) as session:
                started = time.perf_counter()
                with identity_provider(session, runtime.keys, settings, issuer, utcnow()):
                    pass
                setup_times.append(time.perf_counter() - started)
            _id, xml = sp.authn_request()
            started = time.perf_counter()
            page = client.get("/saml/sso", params=sp.redirect_query(xml))
            http_times.append(time.perf_counter() - started)
            assert page.status_code == 200, page.text
    server.should_exit = True
    print(f"**{datetime.now(UTC):%Y-%m-%d}**, {platform.machine()}, SQLite, Python {platform.python_version()}\n")
    print("| what | n | median | p95 | max |\n|---|---|---|---|---|")
    print(_stats("server: check request + signed response + commit", server_times))
    print(_stats("of which pysaml2 IdP set-up (config, key files)", setup_times))
    print(_stats("HTTP GET /saml/sso with a session (loopback, client included)", http_times))


def _payload(runtime: Runtime) -> str:
    from badge_server import badges

    with transaction(runtime.factory) as session:
        badge = badges.current_badge(session, "st-0001")
        assert badge is not None
        return str(badges.reprint(session, runtime.keys, badge, actor="benchmark").payload)


if __name__ == "__main__":
    main()
