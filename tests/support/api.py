"""Small helpers the server tests share: sign-in steps as a kiosk makes them."""

from __future__ import annotations

import pkgutil
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select

from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent

T = TypeVar("T")


def exchange_while_held(
    monkeypatch: pytest.MonkeyPatch,
    check: str,
    slow_request: Callable[[], T],
    server_url: str,
    device_token: str,
    badge: str,
) -> tuple[httpx.Response, list[T]]:
    """A kiosk exchange made while ``check`` (the dotted name of a password or PIN check) is held
    open inside ``slow_request``, run in a thread. The check waits for the exchange to finish, so
    an exchange that waited for the check's transaction (SQLite's write lock) would never end.
    Returns the exchange's answer and what ``slow_request`` returned."""
    real = pkgutil.resolve_name(check)
    exchanged, checking = threading.Event(), threading.Event()

    def held(*args: Any) -> Any:
        checking.set()
        exchanged.wait(15)
        return real(*args)

    monkeypatch.setattr(check, held)
    results: list[T] = []
    worker = threading.Thread(target=lambda: results.append(slow_request()))
    worker.start()
    assert checking.wait(10), f"{check} was never called"
    with httpx.Client(base_url=server_url, timeout=5) as kiosk:
        answer = exchange(kiosk, device_token, badge)
    exchanged.set()
    worker.join(20)
    return answer, results


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
