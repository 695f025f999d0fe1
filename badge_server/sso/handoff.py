"""The native kiosk hands its student session to the browser it opens for a tile.

The kiosk holds the student's session as a bearer token; the browser it starts has a fresh,
empty profile. So a tile tap asks for a hand-off code: 128+ random bits, only its digest
stored, alive for ``handoff_code_seconds``, single use, bound to the kiosk's device, its
session, the app and the address the kiosk asked from. The browser opens ``/handoff/<code>``,
which starts a browser session for the same student (with the kiosk's short time-outs, and
ending when the kiosk's session ends) in an HttpOnly cookie, and goes on to the tile. The
session token itself never travels in a URL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from badge_server import audit
from badge_server.catalog import app_on_dashboard
from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.devices import DeviceIdentity
from badge_server.errors import ApiError, SessionNotValid, SsoRefused
from badge_server.keys import token_digest
from badge_server.sessions import authenticate_session, session_live
from badge_server.settings import Settings
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import HandoffCode

# What a child reads in the browser when a hand-off fails, whatever the reason (the audit row has it).
TRY_AGAIN = N_("This did not work. Go back to the kiosk and tap your app again.")


@dataclass(frozen=True)
class IssuedHandoff:
    code: str
    expires_in: int


@dataclass(frozen=True)
class RedeemedHandoff:
    session_token: str  # for the browser's cookie, never for a URL
    expires_in: int
    app_id: str


def issue_handoff(
    db: Session, settings: Settings, device: DeviceIdentity, session_token: str, app_id: str, *, source_ip: str
) -> IssuedHandoff:
    """A hand-off code for one of this kiosk session's tiles (the tap counts as activity)."""
    kiosk = authenticate_session(db, session_token)
    try:
        # A browser session (even one handed off) cannot hand itself on: only the kiosk that
        # started the session, proving its own device token, may.
        if kiosk.client != "kiosk" or kiosk.device_id != device.id:
            raise SessionNotValid("This session was not started on this kiosk. Please scan your badge again.")
        app = app_on_dashboard(db, kiosk, app_id)
    except ApiError as exc:
        exc.audit_ids = {"person_id": kiosk.person_id, "badge_id": kiosk.badge_id}
        raise
    code = secrets.token_urlsafe(24)  # 192 random bits
    now = utcnow()
    db.add(
        HandoffCode(
            digest=token_digest(code),
            session_id=kiosk.id,
            device_id=device.id,
            app_id=app.id,
            source_ip=source_ip,
            expires_at=now + timedelta(seconds=settings.handoff_code_seconds),
            used_at=None,
        )
    )
    audit.record(
        db,
        "handoff.issue",
        person_id=kiosk.person_id,
        badge_id=kiosk.badge_id,
        device_id=device.id,
        source_ip=source_ip,
        app_id=app.id,
    )
    return IssuedHandoff(code, settings.handoff_code_seconds)


def redeem_handoff(db: Session, code: str, *, source_ip: str) -> RedeemedHandoff:
    """Turn a hand-off code into a browser session of the same student. Single use: the
    conditional UPDATE lets exactly one of two concurrent redemptions have it."""
    now = utcnow()
    digest = token_digest(code)
    claimed = db.execute(
        update(HandoffCode)
        .where(
            HandoffCode.digest == digest,
            HandoffCode.used_at.is_(None),
            HandoffCode.expires_at > now,
            HandoffCode.source_ip == source_ip,
        )
        .values(used_at=now)
        .returning(HandoffCode.session_id, HandoffCode.app_id)
    ).one_or_none()
    if claimed is None:
        raise _refusal(db, digest, now)
    kiosk_session_id, app_id = claimed
    kiosk = db.get(StudentSession, kiosk_session_id)
    if kiosk is None or not session_live(kiosk, now):
        refused = SsoRefused("kiosk_session_ended", TRY_AGAIN)
        if kiosk is not None:
            refused.audit_ids = {"person_id": kiosk.person_id, "device_id": kiosk.device_id}
        raise refused
    token = secrets.token_urlsafe(32)
    browser = StudentSession(
        token_digest=token_digest(token),
        person_id=kiosk.person_id,
        badge_id=kiosk.badge_id,
        device_id=kiosk.device_id,
        client="browser",
        # When the badge was scanned, not now: apps asking for a recent sign-in (max_age,
        # auth_time, AuthnInstant) must see the scan's time, not the tap's.
        created_at=kiosk.created_at,
        last_seen_at=now,
        # The kiosk's time-outs, not a browser's: this browser stands at a shared kiosk.
        idle_seconds=kiosk.idle_seconds,
        expires_at=kiosk.expires_at,
        handed_off_from=kiosk.id,
    )
    db.add(browser)
    db.flush()
    audit.record(
        db,
        "handoff.redeem",
        person_id=kiosk.person_id,
        badge_id=kiosk.badge_id,
        device_id=kiosk.device_id,
        source_ip=source_ip,
        app_id=app_id,
        session_id=browser.id,
    )
    return RedeemedHandoff(token, int((browser.expires_at - now).total_seconds()), app_id)


def _refusal(db: Session, digest: str, now: datetime) -> SsoRefused:
    """Why a code was not accepted, for the audit row; the child reads the same words for each."""
    handoff = db.scalars(select(HandoffCode).where(HandoffCode.digest == digest)).first()
    if handoff is None:
        return SsoRefused("handoff_code_unknown", TRY_AGAIN)
    if handoff.used_at is not None:
        reason = "handoff_code_used"
    elif handoff.expires_at <= now:
        reason = "handoff_code_expired"
    else:
        reason = "handoff_wrong_address"
    refused = SsoRefused(reason, TRY_AGAIN)
    kiosk = db.get(StudentSession, handoff.session_id)
    refused.audit_ids = {"device_id": handoff.device_id, **({"person_id": kiosk.person_id} if kiosk else {})}
    return refused
