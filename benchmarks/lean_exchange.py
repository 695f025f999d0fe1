"""A lean reference for the exchange endpoint: the same essential work, nothing else.

One Starlette route on the same uvicorn as ``badge-server serve``, on the same SQLite file
(WAL): the bearer token's digest looked up, the JSON body read, the payload checked, the badge
found by its keyed HMAC digest with its student, then a launch code row and an audit row written
and committed. No rate limits, no dependency injection, no ORM, no middleware. benchmarks.exchange
runs it beside the server in the same run, so the ratio between the two is what a number means
on a noisy machine.

Run (normally started by benchmarks.exchange): BADGE_DATA_DIR=... BADGE_SECRET_KEY=...
.venv/bin/python -m uvicorn benchmarks.lean_exchange:app --http httptools --loop uvloop
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from badge_server.contract.payload import parse_payload
from badge_server.keys import load_keys
from badge_server.settings import Settings

_settings = Settings()
_keys = load_keys(_settings)
_database = sqlite3.connect(
    _settings.effective_database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
)
_database.execute("PRAGMA journal_mode=WAL")
_database.execute("PRAGMA synchronous=NORMAL")
_database.execute("PRAGMA busy_timeout=30000")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores a DateTime in SQLite


def _refused(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": code}}, status)


async def exchange(request: Request) -> JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    device = _database.execute(
        "SELECT id FROM devices WHERE token_digest = ? AND disabled_at IS NULL",
        (hashlib.sha256(token.encode()).hexdigest(),),
    ).fetchone()
    if scheme.lower() != "bearer" or device is None:
        return _refused(401, "device_not_authorized")
    try:
        body = json.loads(await request.body())
        payload = parse_payload(body["badge"])
    except (ValueError, KeyError, TypeError):
        return _refused(400, "malformed_request")
    if payload is None:
        return _refused(400, "not_a_badge")
    digest = hmac.new(_keys.digest_key, payload.secret.encode("ascii"), hashlib.sha256).hexdigest()
    found = _database.execute(
        "SELECT b.id, b.person_id, b.status, b.kind, b.generation, b.expires_at, p.active, p.given_name,"
        " p.family_name, b.digest FROM badges b JOIN people p ON p.id = b.person_id WHERE b.digest = ?",
        (digest,),
    ).fetchone()
    now = datetime.now(UTC).replace(tzinfo=None)
    if (
        found is None
        or not hmac.compare_digest(found[9], digest)
        or found[3] != payload.kind.value
        or found[4] != payload.generation
        or found[2] != "active"
        or not found[6]
        or found[5] <= _stamp(now)
    ):
        return _refused(403, "badge_not_accepted")
    code = secrets.token_urlsafe(24)
    _database.execute("BEGIN IMMEDIATE")
    try:
        _database.execute(
            "INSERT INTO launch_codes (id, digest, badge_id, device_id, expires_at) VALUES (?, ?, ?, ?, ?)",
            (
                uuid.uuid4().hex,
                hashlib.sha256(code.encode()).hexdigest(),
                found[0],
                device[0],
                _stamp(now + timedelta(seconds=60)),
            ),
        )
        _database.execute(
            "INSERT INTO audit_events (at, kind, outcome, person_id, badge_id, device_id, source_ip, detail)"
            " VALUES (?, 'badge.exchange', 'ok', ?, ?, ?, ?, '{}')",
            (_stamp(now), found[1], found[0], device[0], request.client.host if request.client else None),
        )
        _database.execute("COMMIT")
    except BaseException:
        _database.execute("ROLLBACK")
        raise
    return JSONResponse(
        {
            "launch_code": code,
            "launch_url": f"{str(request.base_url).rstrip('/')}/launch/{code}",
            "expires_in": 60,
            "user": {"id": found[1], "display_name": f"{found[7]} {found[8]}"},
        }
    )


app = Starlette(routes=[Route("/api/v1/exchange", exchange, methods=["POST"])])
