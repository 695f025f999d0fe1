"""Device enrolment: single-use, expiring codes become tokens stored only as digests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import select

from badge_server import clock, devices
from badge_server.store.db import transaction
from badge_server.store.models import Device
from tests.support.api import audit_count, error_code, exchange
from tests.support.district import District
from tests.support.servers import LoopbackServer


def new_code(district: District, minutes: int = 30) -> str:
    with transaction(district.runtime.factory) as session:
        return devices.create_enroll_code(session, "s-lake", minutes=minutes, actor="admin").code


def test_enrolment_returns_a_working_device_token_stored_only_as_a_digest(
    http: httpx.Client, district: District
) -> None:
    code = new_code(district)
    answer = http.post("/api/v1/devices/enroll", json={"code": code.lower().replace("-", " "), "name": "Room 12"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert exchange(http, body["device_token"], district.payloads["st-0001"]).status_code == 200
    with transaction(district.runtime.factory) as session:
        device = session.get(Device, body["device_id"])
        assert device is not None and device.school_id == "s-lake" and device.last_seen_at is not None
        assert body["device_token"] not in device.token_digest
    assert audit_count(district.runtime, "device.enroll", "ok") == 2  # the fixture's kiosk and this one


def test_a_code_enrols_exactly_one_device_even_when_raced(server: LoopbackServer, district: District) -> None:
    code = new_code(district)

    def enrol(n: int) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as own:
            return own.post("/api/v1/devices/enroll", json={"code": code, "name": f"kiosk {n}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(enrol, range(8)))
    assert statuses.count(200) == 1, statuses
    assert audit_count(district.runtime, "device.enroll", "enroll_code_not_accepted") == 7


def test_expired_and_unknown_codes_are_refused(http: httpx.Client, district: District) -> None:
    code = new_code(district, minutes=5)
    clock.advance(timedelta(minutes=6))
    expired = http.post("/api/v1/devices/enroll", json={"code": code, "name": "late"})
    assert expired.status_code == 403 and error_code(expired) == "enroll_code_not_accepted"
    unknown = http.post("/api/v1/devices/enroll", json={"code": "AAAAA-BBBBB", "name": "guess"})
    assert unknown.status_code == 403


def test_a_disabled_device_is_refused_at_once(http: httpx.Client, district: District) -> None:
    with transaction(district.runtime.factory) as session:
        devices.disable_device(session, district.device_id, actor="admin")
        assert session.scalars(select(Device).where(Device.id == district.device_id)).one().disabled_at
    answer = exchange(http, district.device_token, district.payloads["st-0001"])
    assert answer.status_code == 401 and error_code(answer) == "device_not_authorized"
