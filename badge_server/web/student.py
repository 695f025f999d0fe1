"""Student browser pages: ``GET /launch/{code}`` (cookie + redirect), the dashboard, sign-out."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from badge_server import exchange
from badge_server.catalog import app_on_dashboard, dashboard_of
from badge_server.contract.words import N_
from badge_server.errors import DeviceNotAuthorized, SessionNotValid
from badge_server.runtime import Runtime
from badge_server.sessions import SignedIn
from badge_server.sso.tiles import open_tile
from badge_server.store.models import AppIcon
from badge_server.web.deps import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    BrowserStudent,
    ClientIP,
    RuntimeDep,
    SessionDep,
    audit_failures_as,
    authenticate_counted,
    in_one_transaction,
    reading_as_student,
)
from badge_server.web.session_cookie import after_sign_in, set_session_cookie
from badge_server.web.sso_pages import issuer_of, sign_out
from badge_server.web.templating import student_page

router = APIRouter()


@router.get("/launch/{code}")
async def launch_in_browser(code: str, request: Request, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Redeem a launch code in a browser. The code is bound to the device that scanned the
    badge, which proves itself with the device cookie the scanner page holds."""
    return await in_one_transaction(runtime, partial(_launch_in_browser, code, request, runtime, ip))


def _launch_in_browser(code: str, request: Request, runtime: Runtime, ip: str, db: Session) -> Response:
    audit_failures_as(request, "session.start", ip)
    token = request.cookies.get(DEVICE_COOKIE, "")
    try:
        device = authenticate_counted(request, db, token, runtime.settings, ip)
    except DeviceNotAuthorized:
        if not token:
            raise DeviceNotAuthorized(N_("Open this link on the device that scanned the badge.")) from None
        raise
    started = exchange.redeem_launch_code(db, runtime.settings, code, device.id, "browser", source_ip=ip)
    response = RedirectResponse(after_sign_in(request), status_code=303)
    return set_session_cookie(request, response, started.token, started.expires_in)


def _after_sign_out(request: Request) -> RedirectResponse:
    # On a shared scanner the next child is waiting: back to the camera. Elsewhere, a goodbye.
    target = "/scan" if request.cookies.get(DEVICE_COOKIE) else "/signed-out"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, runtime: RuntimeDep) -> Response:
    """Big app tiles, the student's name and picture, a sign-out button and an idle time-out."""
    try:
        return await reading_as_student(runtime, request, partial(_dashboard, request, runtime), cookie_only=True)
    except SessionNotValid:
        return _after_sign_out(request)


def _dashboard(request: Request, runtime: Runtime, db: Session, student: SignedIn) -> Response:
    tiles_now = dashboard_of(db, student)
    return student_page(
        request,
        "dashboard.html",
        language=student.person.language,  # the roster's, where the SIS sends one
        user=exchange.user_summary(db, student.person),
        apps=tiles_now.shown,
        hidden_apps=tiles_now.hidden,
        pinned=set(tiles_now.pinned),
        console=student.client == "staff",  # a staff member's dashboard: the console one click away
        idle_seconds=min(runtime.settings.dashboard_idle_seconds, student.idle_seconds),
    )


@router.post("/logout")
def logout_in_browser(
    request: Request,
    student: BrowserStudent,
    db: SessionDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    reason: Annotated[Literal["logout", "idle"], Form()] = "logout",
) -> RedirectResponse:
    if student is not None:
        sign_out(request, db, runtime, student, background, reason=reason)
    return _after_sign_out(request)


@router.get("/apps/{app_id}/open")
def open_app(app_id: str, request: Request, student: BrowserStudent, db: SessionDep, runtime: RuntimeDep) -> Response:
    """A dashboard tile: into the app's own sign-in (OIDC, SAML), which the session answers at once."""
    if student is None:
        return _after_sign_out(request)
    app = app_on_dashboard(db, student, app_id)
    return RedirectResponse(open_tile(db, student, app, issuer_of(request, runtime)), status_code=303)


@router.get("/apps/{app_id}/icon")
def app_icon(app_id: str, db: SessionDep) -> Response:
    icon = db.get(AppIcon, app_id)
    if icon is None:
        return Response(status_code=404)
    # The URL carries a hash of the bytes (catalog.set_icon), so it may be cached for long.
    return Response(icon.data, media_type=icon.content_type, headers={"Cache-Control": "public, max-age=604800"})


@router.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request) -> HTMLResponse:
    return student_page(request, "signed_out.html")
