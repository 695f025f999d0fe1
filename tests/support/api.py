"""Small helpers the server tests share: sign-in steps as a kiosk makes them."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent


def exchange(http: httpx.Client, device_token: str, badge: str, **extra: Any) -> httpx.Response:
    return http.post(
        "/api/v1/exchange", json={"badge": badge, **extra}, headers={"Authorization": f"Bearer {device_token}"}
    )


def sign_in(http: httpx.Client, device_token: str, badge: str) -> str:
    """Badge -> launch code -> session token, asserting each step succeeds."""
    answer = exchange(http, device_token, badge)
    assert answer.status_code == 200, answer.text
    launched = http.post(
        "/api/v1/launch",
        json={"launch_code": answer.json()["launch_code"]},
        headers={"Authorization": f"Bearer {device_token}"},
    )
    assert launched.status_code == 200, launched.text
    token: str = launched.json()["session_token"]
    return token


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def audit_count(runtime: Runtime, kind: str, outcome: str | None = None) -> int:
    with transaction(runtime.factory) as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == kind)
        if outcome is not None:
            query = query.where(AuditEvent.outcome == outcome)
        return int(session.scalar(query) or 0)
