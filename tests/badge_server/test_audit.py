"""The audit log records who did what, and never a secret, payload or token."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from badge_server import badges
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Person
from tests.support.api import exchange, sign_in
from tests.support.district import District


def test_every_kind_of_event_is_audited_and_no_secret_reaches_the_log(http: httpx.Client, district: District) -> None:
    runtime = district.runtime
    session_token = sign_in(http, district.device_token, district.payloads["st-0001"])
    http.post("/api/v1/logout", headers={"Authorization": f"Bearer {session_token}"})
    exchange(http, district.device_token, "BL1:B001" + "A" * 26)
    with transaction(runtime.factory) as session:
        person = session.get(Person, "st-0002")
        assert person is not None
        replaced = badges.replace(session, runtime.keys, runtime.settings, person, actor="teacher:t-rivera")
        badges.revoke(session, replaced.badge, actor="teacher:t-rivera")
    exchange(http, district.device_token, district.payloads["st-0002"])

    with transaction(runtime.factory) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        kinds = {(e.kind, e.outcome) for e in events}
        dump = json.dumps(
            [[e.kind, e.outcome, e.actor, e.person_id, e.badge_id, e.device_id, e.source_ip, e.detail] for e in events]
        )
    assert {
        ("roster.import", "ok"),
        ("badge.issue", "ok"),
        ("badge.print", "ok"),
        ("device.enroll_code", "ok"),
        ("device.enroll", "ok"),
        ("badge.exchange", "ok"),
        ("session.start", "ok"),
        ("session.end", "ok"),
        ("badge.exchange", "badge_not_accepted"),
        ("badge.replace", "ok"),
        ("badge.revoke", "ok"),
        ("badge.exchange", "badge_replaced"),
    } <= kinds
    failure = next(e for e in events if e.outcome == "badge_replaced")
    assert failure.person_id == "st-0002" and failure.device_id == district.device_id
    assert failure.source_ip == "127.0.0.1"
    for secret in [*district.payloads.values(), str(replaced.payload), district.device_token, session_token]:
        assert secret not in dump
        assert secret[8:] not in dump
