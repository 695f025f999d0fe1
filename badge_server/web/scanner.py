"""The browser badge scanner (``/scan``): a page a Chromebook opens in kiosk mode.

The page decodes badges in the browser (zxing-cpp as WebAssembly, vendored zxing-wasm, in a Web
Worker; ``BarcodeDetector`` only where WebAssembly cannot run), never uploads a frame, and uses
the same exchange API as the Qt kiosk. It is enrolled like a kiosk: an admin's enrolment code,
typed once, becomes a device token that the page keeps in the browser's storage and, as an
HttpOnly cookie, proves the device when the launch link is opened. A cart of Chromebooks is
enrolled with one link instead (``/scan/enrol#<token>``, badge_server/enrol_links.py): each
Chromebook that opens it becomes the link's next numbered scanner.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from badge_server import devices, enrol_links
from badge_server.contract.payload import BROWSER_PATTERN
from badge_server.contract.words import BROWSER_ERROR_STATES, RIGHT_TO_LEFT, STATE_LOOKS, STRINGS
from badge_server.errors import DeviceNotAuthorized
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.store.models import Org
from badge_server.web.deps import DEVICE_COOKIE, ClientIP, RuntimeDep, SessionDep, audit_failures_as, bearer_token
from badge_server.web.templating import student_page

router = APIRouter()
# Chrome keeps a cookie at most 400 days; the page renews it every time it starts.
DEVICE_COOKIE_SECONDS = 400 * 24 * 3600


@router.get("/scan", response_class=HTMLResponse)
@router.get(enrol_links.ENROL_PATH, response_class=HTMLResponse, include_in_schema=False)
def scanner_page(request: Request) -> HTMLResponse:
    """The scanner; opened as ``/scan/enrol#<link token>`` it first enrols itself (scan.js)."""
    return student_page(
        request,
        "scan.html",
        strings=STRINGS,
        right_to_left=sorted(RIGHT_TO_LEFT),
        looks=STATE_LOOKS,
        error_states=BROWSER_ERROR_STATES,
        badge_pattern=BROWSER_PATTERN,
    )


@router.post("/scan/device")
def prove_device(request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP) -> JSONResponse:
    """Check the page's stored device token and (re)set the device cookie the launch link needs."""
    audit_failures_as(request, "device.auth", ip)
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    # The page's stored token, or else the cookie alone: a sign-in screen's webview may keep
    # cookies but not local storage across reboots (SECURITY.md: not checked on a Chromebook).
    token = bearer_token(request) or request.cookies.get(DEVICE_COOKIE)
    if not token:
        raise DeviceNotAuthorized()
    device = devices.authenticate_device(db, token, software=request.headers.get("user-agent"))
    school = db.get(Org, device.school_id)
    response = JSONResponse({"device_id": device.id, "name": device.name, "school": school.name if school else None})
    _set_device_cookie(request, response, token)
    return response


def _set_device_cookie(request: Request, response: JSONResponse, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


class EnrolLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=20, max_length=128, description="The part of the link after '#'")


@router.post("/scan/enrol-link")
def enrol_with_link(
    body: EnrolLinkIn, request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> JSONResponse:
    """Spend one use of a cart enrolment link: this browser becomes the link's next scanner."""
    audit_failures_as(request, "enrol_link.use", ip)
    # Per address, not the enrolment code's 20 a minute: a cart of 30 shares one school address.
    enforce_limits(runtime.factory, [Limit(f"enrol-link-ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    enrolled = enrol_links.redeem_link(db, body.token, source_ip=ip)
    school = db.get(Org, enrolled.school_id)
    token = enrolled.device.device_token
    response = JSONResponse(
        {
            "device_id": enrolled.device.device_id,
            "device_token": token,
            "name": enrolled.name,
            "school": school.name if school else None,
        }
    )
    _set_device_cookie(request, response, token)
    return response
