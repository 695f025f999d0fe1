"""A native kiosk's tile: ``POST /api/v1/handoff`` gives the kiosk a single-use URL for the
browser it opens; ``GET /handoff/{code}`` signs that browser in and goes on to the app."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from badge_server import devices
from badge_server.errors import SessionNotValid
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.sso.handoff import issue_handoff, redeem_handoff
from badge_server.web.deps import (
    ClientIP,
    KioskDeviceToken,
    RuntimeDep,
    SessionDep,
    audit_failures_as,
    bearer_token,
    browser_student,
    public_base_url,
)
from badge_server.web.session_cookie import set_session_cookie
from badge_server.web.sso_pages import sign_out

router = APIRouter()


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app_id: str = Field(min_length=1, max_length=64, description="A tile on this student's dashboard")


class HandoffOut(BaseModel):
    url: str = Field(description="Open this in the browser; it works once, from this kiosk's address")
    expires_in: int


@router.post("/api/v1/handoff", response_model=HandoffOut)
def start_handoff(
    body: HandoffIn,
    request: Request,
    device_token: KioskDeviceToken,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
) -> HandoffOut:
    """A native kiosk's tile tap. `Authorization: Bearer <session_token>` is the student's kiosk
    session, `X-Device-Token: <device_token>` the kiosk that started it; the answer's `url` signs
    the browser the kiosk opens in as the same student (seconds, once, from this address) and
    goes on to the app, as the web dashboard's tile does."""
    audit_failures_as(request, "handoff.issue", ip)
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    device = devices.authenticate_device(db, device_token, software=request.headers.get("user-agent"))
    audit_failures_as(request, "handoff.issue", ip, device.id)
    session_token = bearer_token(request)
    if not session_token:
        raise SessionNotValid()
    issued = issue_handoff(db, runtime.settings, device, session_token, body.app_id, source_ip=ip)
    url = f"{public_base_url(request, runtime.settings)}/handoff/{issued.code}"
    return HandoffOut(url=url, expires_in=issued.expires_in)


@router.get("/handoff/{code}", include_in_schema=False)
def redeem_in_browser(
    code: str,  # any text: a malformed code is refused like an unknown one (page + audit row)
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    ip: ClientIP,
    background: BackgroundTasks,
) -> RedirectResponse:
    """Sign this browser in as the kiosk's student (HttpOnly cookie) and open the tile."""
    audit_failures_as(request, "handoff.redeem", ip)
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    # Not a dependency: the request's transaction must not begin before the limit is counted.
    previous = browser_student(request, db)
    redeemed = redeem_handoff(db, code, source_ip=ip)
    if previous is not None:  # one student per browser profile: whoever was signed in here is no longer
        sign_out(request, db, runtime, previous, background, reason="handoff")
    response = RedirectResponse(f"/apps/{quote(redeemed.app_id, safe='')}/open", status_code=303)
    return set_session_cookie(request, response, redeemed.session_token, redeemed.expires_in)
