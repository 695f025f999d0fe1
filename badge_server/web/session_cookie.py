"""The browser's identity-session cookie, set the same way by every sign-in: a badge scanned on a
school scanner or at home, a kiosk tile's hand-off, a password, a staff member's dashboard."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fastapi.responses import Response

from badge_server.sso.pending import PENDING_COOKIE
from badge_server.web.deps import SESSION_COOKIE

AnyResponse = TypeVar("AnyResponse", bound=Response)


def after_sign_in(request: Request) -> str:
    """Where a fresh sign-in goes: an app's sign-in that was waiting for it (sso.pending), else the
    dashboard."""
    return "/sso/continue" if request.cookies.get(PENDING_COOKIE) else "/dashboard"


def set_session_cookie(request: Request, response: AnyResponse, token: str, expires_in: int) -> AnyResponse:
    # HttpOnly: no page script can read it. Lax, not Strict: an app's sign-in redirect to this
    # server (a top-level GET from the app's site) must carry it, or every app would ask for a scan.
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=expires_in,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
