"""Browser routes: ``GET /launch/{code}`` (cookie + redirect) and the student dashboard page."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from badge_server import devices, exchange
from badge_server.catalog import apps_for
from badge_server.deps import DEVICE_COOKIE, SESSION_COOKIE, ClientIP, CurrentStudent, RuntimeDep, SessionDep
from badge_server.errors import DeviceNotAuthorized
from badge_server.ratelimit import Limit, enforce_limits

router = APIRouter()


@router.get("/launch/{code}")
def launch_in_browser(
    code: str, request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> RedirectResponse:
    """Redeem a launch code in a browser. The code is bound to the device that scanned the
    badge, which proves itself with the device cookie the scanner page holds."""
    request.state.audit_failure = {"kind": "session.start", "source_ip": ip}
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        raise DeviceNotAuthorized("Open this link on the device that scanned the badge.")
    device = devices.authenticate_device(db, token)
    started = exchange.redeem_launch_code(db, runtime.settings, code, device.id, "browser", source_ip=ip)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=started.expires_in,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(student: CurrentStudent, db: SessionDep) -> HTMLResponse:
    """A plain page of app tiles; the full web dashboard is built on the same data."""
    person = student.person
    tiles = "\n".join(
        f'<li><a class="tile" style="background:{escape(app.color)}" href="{escape(app.launch_url)}">'
        f"{escape(app.name)}</a></li>"
        for app in apps_for(db, person)
    )
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(person.first_name)}'s apps</title>
<style>body{{font-family:sans-serif;margin:2rem}}ul{{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}}
.tile{{display:block;width:10rem;height:8rem;border-radius:1rem;color:#fff;font-size:1.4rem;padding:1rem;
text-decoration:none}}</style></head><body><h1>Hello, {escape(person.first_name)}!</h1>
<ul>{tiles}</ul><form method="post" action="/logout"><button>Sign out</button></form></body></html>"""
    )


@router.post("/logout")
def logout_in_browser(student: CurrentStudent, db: SessionDep) -> RedirectResponse:
    exchange.end_session(db, student, reason="logout")
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
