"""The scanner page at home: a family's laptop, tablet or phone that no admin enrolled.

``POST /scan/home`` takes the badge the page read (and a PIN where the home policy asks for one)
and signs this browser in directly: no launch code round trip, because the browser that scanned
is the one that signs in. It is a JSON request from the page's own script, never a form: a page on
another site cannot send one without the browser asking this server first (CORS), and the request
is also refused when the browser says it came from another site (``Sec-Fetch-Site``, ``Origin``).
That stops login CSRF: another site signing a child in to an account of its choosing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from badge_server import exchange, home_sign_in
from badge_server.contract.payload import parse_payload
from badge_server.web.deps import ClientIP, RuntimeDep, SessionDep, audit_failures_as, refuse_cross_site
from badge_server.web.session_cookie import after_sign_in, set_session_cookie

router = APIRouter(include_in_schema=False)


class HomeScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    badge: str = Field(min_length=1, max_length=4096, description="The QR text as read")
    pin: str | None = Field(None, pattern=r"^[0-9]{6}$")


@router.get("/scan/home/available")
def home_available(db: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """Whether badges work at home for any school here (the page says so up front if not)."""
    return JSONResponse({"available": home_sign_in.available_anywhere(db, runtime.settings)})


@router.post("/scan/home")
def scan_at_home(body: HomeScanIn, request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP) -> JSONResponse:
    settings, keys = runtime.settings, runtime.keys
    audit_failures_as(request, home_sign_in.HOME_AUDIT_KIND, ip)
    refuse_cross_site(request)
    payload = parse_payload(body.badge)
    limits = home_sign_in.home_limits(settings, keys, ip, payload) + exchange.pin_limits(
        settings, keys, payload, body.pin
    )
    exchange.enforce_scan_limits(runtime.factory, keys, limits, payload)
    if payload is None:
        raise exchange.not_a_badge(body.badge, settings)
    # Before the request's transaction begins, so a slow PIN check holds no lock.
    pin = exchange.check_pin_first(runtime.factory, keys, runtime.password_checks, payload, body.pin)
    started = home_sign_in.sign_in_at_home(db, keys, settings, payload, pin, source_ip=ip)
    user = exchange.user_summary(db, started.record.person)
    response = JSONResponse({"user": user, "next": after_sign_in(request), "expires_in": started.expires_in})
    return set_session_cookie(request, response, started.token, started.expires_in)
