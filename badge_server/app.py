"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from badge_server import __version__, audit, key_check
from badge_server.errors import (
    ApiError,
    ConfigError,
    DatabaseUnavailable,
    InternalError,
    MalformedRequest,
    RateLimited,
    StaffSignInNeeded,
)
from badge_server.metrics import ServerMetrics
from badge_server.ratelimit import count_attempts
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import READ_ONLY, transaction
from badge_server.store.migrate import is_current
from badge_server.web import (
    after_scan,
    api,
    api_docs,
    handoff,
    home_scan,
    metrics_endpoint,
    password_sign_in,
    scanner,
    student,
)
from badge_server.web import oidc as oidc_pages
from badge_server.web import saml as saml_pages
from badge_server.web.access_log import loggable_path, redact_access_log
from badge_server.web.console import admin, classes, district_sign_in, roster_upload, sign_in
from badge_server.web.console import audit as audit_pages
from badge_server.web.console import badge_policy as badge_policy_pages
from badge_server.web.console import catalog as catalog_pages
from badge_server.web.console import day as day_pages
from badge_server.web.console import devices as device_pages
from badge_server.web.console import home_policy as home_policy_pages
from badge_server.web.console import invitations as invitation_pages
from badge_server.web.console import letters as letter_pages
from badge_server.web.console import my_apps as my_apps_pages
from badge_server.web.console import passwords as password_pages
from badge_server.web.console import pins as pin_pages
from badge_server.web.console import saml as saml_console
from badge_server.web.console import sso as sso_pages
from badge_server.web.deps import failure_audit, limits_to_recount
from badge_server.web.middleware import SECURITY_HEADERS, BodySizeLimit, InFlightLimit, SecurityHeaders
from badge_server.web.openapi import openapi_schema
from badge_server.web.telemetry import RequestTelemetry
from badge_server.web.templating import STATIC_DIR, render_page, student_page

# Sign-in steps a browser walks through on the way to an app: their errors are pages for a child.
BROWSER_SIGN_IN_PATHS = ("/authorize", "/saml/", "/sso/", "/handoff/", "/apps/", "/launch/")
log = logging.getLogger("badge_server")


def error_body(error: ApiError) -> dict[str, dict[str, str]]:
    return {"error": {"code": error.code, "message": error.message}}


def _record_failure(runtime: Runtime, request: Request, error: ApiError | None) -> None:
    # Runs after the request's transaction rolled back, in a transaction of its own, so
    # the failure is on record even though nothing else of the request was kept: its audit row,
    # and the attempt it counted in that transaction (web/deps.count_in_request). ``None``: a
    # crash (500), whose attempt is counted again, so a bug is no way past the rate limits.
    failure = failure_audit(request) if error is not None else None
    recount = limits_to_recount(request)
    if (failure is None and not recount) or isinstance(error, DatabaseUnavailable):
        return
    try:
        with transaction(runtime.factory) as session:
            if recount:
                count_attempts(session, recount)
            if failure is not None and error is not None:
                audit.record(session, failure.kind, error.code, **failure.ids_with(error), **error.audit_detail)
    except OperationalError:
        kind = failure.kind if failure is not None else request.url.path
        log.warning("could not write the audit row of a failed %s: database unavailable", kind)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the server: load keys (refusing unsafe ones), open the DB, check the schema."""
    runtime = runtime or Runtime.start(settings or Settings())
    if not is_current(runtime.engine):
        raise ConfigError("the database schema is missing or old; run `badge-server init` first")
    key_check.refuse_other_key(runtime.factory, runtime.keys, runtime.settings)
    limit = runtime.settings.max_requests_in_flight

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Every admitted request must be able to get a worker thread, including for the commit
        # that ends it: with more requests in progress than threads, threads waiting for the
        # database's write lock can hold every thread while the lock's holder waits for one to
        # commit (a deadlock until the lock times out; found under load at 83 sign-ins/s).
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, limit + 16)
        yield

    # FastAPI's /docs and /redoc load their scripts from a CDN, which the pages' CSP forbids (and
    # many schools cannot reach): /docs is served from the package instead (web/api_docs.py).
    app = FastAPI(title="Badge login server", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    redact_access_log()
    app.state.runtime = runtime
    app.state.metrics = ServerMetrics(runtime.factory)
    app.state.metrics_bearer = runtime.settings.metrics_bearer
    app.include_router(metrics_endpoint.router)
    app.include_router(api.router)
    app.include_router(oidc_pages.router)
    app.include_router(handoff.router)  # a kiosk tile's browser hand-off (API + page)
    app.include_router(api_docs.router)
    for pages in (
        student,
        scanner,
        home_scan,
        after_scan,
        password_sign_in,
        sign_in,
        district_sign_in,
        classes,
        password_pages,
        home_policy_pages,
        badge_policy_pages,
        day_pages,
        invitation_pages,
        letter_pages,
        pin_pages,
        my_apps_pages,
        admin,
        roster_upload,
        device_pages,
        catalog_pages,
        audit_pages,
        sso_pages,
    ):
        app.include_router(pages.router)
    app.include_router(saml_pages.router)
    app.include_router(saml_console.router)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Added last = outermost: even a refused oversized request carries the security headers.
    app.add_middleware(BodySizeLimit)
    app.add_middleware(InFlightLimit, limit=limit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestTelemetry, metrics=app.state.metrics)  # sees every answer, 413 and 503 too

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        # Off the event loop: a blocking wait for the database here would stall the very
        # requests that must finish (and release SQLite's write lock) first.
        request.state.error_code = error.code  # for the request's log line and metrics (web/telemetry.py)
        await run_in_threadpool(_record_failure, runtime, request, error)
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        if request.url.path.startswith("/staff"):  # a person at a console reads a page, not JSON
            return render_page(request, "error.html", status=error.status, message=error.message)
        if request.url.path.startswith(BROWSER_SIGN_IN_PATHS):  # a child in a browser, on the way to an app
            return student_page(request, "sso_error.html", status=error.status, message=error.message)
        return JSONResponse(error_body(error), status_code=error.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def routing_error(request: Request, exc: StarletteHTTPException) -> Response:
        # No such route or method: the error format too (Starlette's own is {"detail": ...}).
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

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
        request.state.error_code = DatabaseUnavailable.code
        return JSONResponse(error_body(DatabaseUnavailable()), status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Starlette answers this from its outermost layer, outside SecurityHeaders: add them here.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, loggable_path(request.url.path))
        await run_in_threadpool(_record_failure, runtime, request, None)
        error = InternalError()
        request.state.error_code = error.code
        response: Response
        if request.url.path.startswith("/staff"):
            response = render_page(request, "error.html", status=error.status, message=error.message)
        elif request.url.path.startswith(BROWSER_SIGN_IN_PATHS):
            response = student_page(request, "sso_error.html", status=error.status, message=error.message)
        else:
            response = JSONResponse(error_body(error), status_code=error.status)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/healthz")
    def health(request: Request) -> JSONResponse:
        # A reader: never queued behind SQLite's writer (a long import must not fail the check).
        with runtime.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            connection.exec_driver_sql("SELECT 1")
        # Honest about load: "busy" (503) while this process turns requests away.
        shedding = getattr(request.state, "in_flight", None)
        busy = shedding is not None and shedding.saturated
        body = {"status": "busy" if busy else "ok", "version": __version__}
        if shedding is not None:
            body |= {"in_flight": shedding.in_flight, "in_flight_limit": shedding.limit}
        return JSONResponse(body, status_code=503 if busy else 200)

    return app
