"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from badge_server import (
    __version__,
    audit,
    console,
    console_admin,
    console_audit,
    console_catalog,
    console_devices,
    scan,
    web,
)
from badge_server.api import router as api_router
from badge_server.db import transaction
from badge_server.errors import (
    ApiError,
    ConfigError,
    DatabaseUnavailable,
    MalformedRequest,
    RateLimited,
    StaffSignInNeeded,
)
from badge_server.migrate import is_current
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.staff_pages import render_page

log = logging.getLogger("badge_server")
MAX_BODY_BYTES = 64 * 1024
# Uploads get more room than API bodies: a district's roster, an app icon (with its form).
UPLOAD_LIMITS = {"/staff/admin/roster": 100 * 1024 * 1024, "/staff/admin/apps/save": 512 * 1024}
STATIC_DIR = Path(__file__).parent / "static"
# Every script and style is served by this package (no CDN), so the pages can forbid all
# others: an injected <script> or a framing page gets nowhere. Inline style attributes carry
# per-student colours, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Launch codes travel in URLs; no page may leak its address to an app's site.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The scanner page asks for the camera; nothing else may.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


def error_body(error: ApiError) -> dict[str, dict[str, str]]:
    return {"error": {"code": error.code, "message": error.message}}


def _record_failure(runtime: Runtime, request: Request, error: ApiError) -> None:
    # Runs after the request's transaction rolled back, in a transaction of its own, so
    # the failure is on record even though nothing else of the request was kept.
    context = getattr(request.state, "audit_failure", None)
    if context is None or isinstance(error, DatabaseUnavailable):
        return
    context = {**context, **error.audit_ids}
    kind = context.pop("kind")
    try:
        with transaction(runtime.factory) as session:
            audit.record(session, kind, error.code, **context)
    except OperationalError:
        log.warning("could not write the audit row of a failed %s: database unavailable", kind)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the server: load keys (refusing unsafe ones), open the DB, check the schema."""
    runtime = runtime or Runtime.start(settings or Settings())
    if not is_current(runtime.engine):
        raise ConfigError("the database schema is missing or old; run `badge-server init` first")
    app = FastAPI(title="Badge login server", version=__version__)
    app.state.runtime = runtime
    app.include_router(api_router)
    app.include_router(web.router)
    app.include_router(console.router)
    for module in (console_admin, console_devices, console_catalog, console_audit, scan):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        allowed = UPLOAD_LIMITS.get(request.url.path, MAX_BODY_BYTES)
        if length is not None and (not length.isdigit() or int(length) > allowed):
            error = MalformedRequest(f"request body is larger than {allowed} bytes")
            return JSONResponse(error_body(error), status_code=413)
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        # Off the event loop: a blocking wait for the database here would stall the very
        # requests that must finish (and release SQLite's write lock) first.
        await run_in_threadpool(_record_failure, runtime, request, error)
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        if request.url.path.startswith("/staff"):  # a person at a console reads a page, not JSON
            return render_page(request, "error.html", status=error.status, message=error.message)
        return JSONResponse(error_body(error), status_code=error.status, headers=headers)

    @app.exception_handler(StaffSignInNeeded)
    async def sign_in_first(request: Request, exc: StaffSignInNeeded) -> RedirectResponse:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return JSONResponse(error_body(MalformedRequest(f"request not understood: {problems}")), status_code=400)

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return JSONResponse(error_body(DatabaseUnavailable()), status_code=503, headers={"Retry-After": "2"})

    @app.get("/healthz")
    def health() -> dict[str, str]:
        with runtime.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    return app
