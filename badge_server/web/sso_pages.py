"""What the OIDC and SAML pages share: the issuer's URL, and waiting for a scan.

Both protocols answer a browser that has no student session the same way: the request is kept
server-side (``sso.pending``), the browser keeps a random reference in a cookie, and the badge
scanner page is shown. ``web/after_scan.py`` goes on from there once the badge has been read.
"""

from __future__ import annotations

from typing import Any

from fastapi import BackgroundTasks, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from badge_server import sessions
from badge_server.clock import utcnow
from badge_server.runtime import Runtime
from badge_server.sso import saml_logout
from badge_server.sso.oidc_logout import deliver, end_oidc_sign_ins
from badge_server.sso.pending import PENDING_COOKIE, start_pending
from badge_server.store.models import StudentSession
from badge_server.store.sso_models import SsoProtocol
from badge_server.web.deps import public_base_url

SCANNER_PATH = "/scan"


def issuer_of(request: Request, runtime: Runtime) -> str:
    """The server's public base URL (``BADGE_PUBLIC_URL``; else the URL this request came to).

    OIDC's ``iss`` and SAML's entity id derive from it, so a district sets BADGE_PUBLIC_URL:
    an issuer must not change with the Host header a client happens to send.
    """
    return public_base_url(request, runtime.settings)


def wait_for_scan(
    request: Request, db: Session, runtime: Runtime, protocol: SsoProtocol, parameters: dict[str, Any]
) -> RedirectResponse:
    """Keep the app's request, show the badge scanner; the scan's redirect comes back for it."""
    seconds = runtime.settings.sso_pending_seconds
    _pending, reference = start_pending(db, protocol, parameters, utcnow(), seconds)
    response = RedirectResponse(SCANNER_PATH, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        reference,
        max_age=seconds,
        httponly=True,
        # Lax: the cookie must come back on the top-level redirect chain the scan starts.
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def tell_apps_signed_out(
    request: Request, db: Session, runtime: Runtime, student: StudentSession, background: BackgroundTasks
) -> None:
    """OIDC back-channel logout and SAML single logout to the session's apps, sent once the
    sign-out has committed, so a slow or dead app never holds up the child's sign-out."""
    issuer, now = issuer_of(request, runtime), utcnow()
    oidc_notices = end_oidc_sign_ins(db, runtime.keys, runtime.settings, issuer, student, now)
    saml_notices = saml_logout.end_saml_sign_ins(db, runtime.keys, runtime.settings, issuer, student, now)
    if oidc_notices:
        background.add_task(deliver, oidc_notices)
    if saml_notices:
        background.add_task(saml_logout.deliver, runtime.factory, saml_notices)


def sign_out(
    request: Request,
    db: Session,
    runtime: Runtime,
    student: StudentSession,
    background: BackgroundTasks,
    *,
    reason: str,
) -> None:
    """End the identity session, and the browser sessions a kiosk handed off from it, and tell
    the apps each of them signed in to: on a shared device the next child must find them closed."""
    for ended in sessions.end_session(db, student, reason=reason):
        tell_apps_signed_out(request, db, runtime, ended, background)
