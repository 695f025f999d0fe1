"""FastAPI dependencies, declared once as named aliases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from badge_server import devices
from badge_server.devices import DeviceIdentity
from badge_server.errors import ApiError, DeviceNotAuthorized, SessionNotValid, WriterBusy
from badge_server.exchange import request_limits
from badge_server.ratelimit import Limit, enforce_in
from badge_server.runtime import Runtime
from badge_server.sessions import SignedIn, authenticate_session, refresh_idle_timer, signed_in
from badge_server.settings import Settings
from badge_server.store.db import Executor, read_only_transaction, transaction, without_waiting
from badge_server.store.models import StudentSession

T = TypeVar("T")
SESSION_COOKIE = "badge_session"
DEVICE_COOKIE = "badge_device"


# Dependencies that only read the request are coroutines: FastAPI runs a plain function in a
# worker thread, and each such hand-off cost more than the work (measured in benchmarks/exchange.py).


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_db(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent, rolled back on error.

    The session connects lazily, at its first statement (in the route's worker thread), so a
    route may count rate limits in its own transaction before it first touches this one (SQLite
    would otherwise wait on its own write lock), and opening it here needs no thread. Only the
    commit or rollback, which waits on the database, is handed to a worker thread.
    """
    unit = transaction(runtime.factory)
    session = unit.__enter__()
    try:
        yield session
    except BaseException as exc:
        await run_in_threadpool(unit.__exit__, type(exc), exc, exc.__traceback__)
        raise
    await run_in_threadpool(unit.__exit__, None, None, None)


async def in_one_transaction(runtime: Runtime, work: Callable[[Session], T]) -> T:
    """``work`` in one transaction, committed before the answer leaves: on the event loop when
    SQLite's writer is free (:func:`on_the_loop_if_free`), else in a worker thread, one hand-off
    for the whole request where a plain route with a SessionDep takes two (the route, then the
    commit) and each plain dependency one more. For the morning rush's steps."""

    def in_transaction() -> T:
        with transaction(runtime.factory) as session:
            return work(session)

    return await on_the_loop_if_free(runtime, in_transaction)


async def on_the_loop_if_free(runtime: Runtime, work: Callable[[], T]) -> T:
    """``work`` (one short transaction, no slow hashing) right here on the event loop when
    SQLite's writer is free, else in a worker thread like any other work.

    Handing a request to a thread and back cost about a third of an exchange's CPU, more than its
    SQL (benchmarks/README.md). On the loop the work never waits for the writer: it starts only
    once the writer is taken for it. While another worker's request has it (a millisecond or so)
    the request looks again after a pause that leaves the loop to other requests; a writer held
    longer (a roster import) sends it to a thread, where it queues in turn. PostgreSQL's
    statements wait on the network: a thread, always.
    """
    if runtime.engine.dialect.name == "sqlite":
        deadline = time.monotonic() + _LOOP_WAIT_SECONDS
        while True:
            with without_waiting(runtime.engine) as writer_taken:
                if writer_taken:
                    try:
                        return work()
                    except WriterBusy:
                        pass  # a process outside the queue (a sqlite3 shell) writes
            if time.monotonic() + _LOOP_PAUSE_SECONDS > deadline:
                break
            await asyncio.sleep(_LOOP_PAUSE_SECONDS)
    return await run_in_threadpool(work)


# Several workers on one SQLite file take turns at its writer. A worker's thread that holds the
# writer shares the interpreter with that worker's event loop, which can keep it waiting for
# milliseconds: two workers that sent waiting requests to threads served fewer sign-ins than
# one worker; waiting on the loop they served 1.75 times as many (benchmarks/README.md,
# 2026-12-04). 1 ms is uvloop's shortest timer: a shorter pause did not pause, and a worker that
# spun so took the CPU from the one holding the writer (4 workers on 2 cores: 300 sign-ins/s, 490
# with the pause).
_LOOP_PAUSE_SECONDS = 0.001
_LOOP_WAIT_SECONDS = 0.25


# scope="function": commit when the route returns, before the response leaves, so a client
# never holds an acknowledgement of something that was not stored.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def public_base_url(request: Request, settings: Settings) -> str:
    """The server's public base URL without a trailing slash (``BADGE_PUBLIC_URL``; else the URL
    this request came to): the base of every link the server hands out."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def address_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def client_ip(request: Request) -> str:
    return address_of(request)


ClientIP = Annotated[str, Depends(client_ip)]


@dataclass(frozen=True)
class FailureAudit:
    """The audit row a request writes if it fails (app.py), named as far as the route got."""

    kind: str
    source_ip: str | None
    device_id: str | None = None

    def ids_with(self, error: ApiError) -> dict[str, str | None]:
        """The ids the row names: this request's, and those the error found (a badge, its person)."""
        return {"source_ip": self.source_ip, "device_id": self.device_id, **error.audit_ids}


def audit_failures_as(request: Request, kind: str, source_ip: str | None, device_id: str | None = None) -> None:
    """Say which audit row to write if this request fails; called again as the route learns more."""
    request.state.audit_failure = FailureAudit(kind, source_ip, device_id)


def failure_audit(request: Request) -> FailureAudit | None:
    """What ``audit_failures_as`` said last, or ``None`` for a request whose failures are not audited."""
    failure = getattr(request.state, "audit_failure", None)
    return failure if isinstance(failure, FailureAudit) else None


def count_in_request(request: Request, db: Executor, limits: list[Limit]) -> None:
    """Count this attempt against ``limits`` in the request's own transaction (no commit of its
    own: the morning rush's exchanges commit once). A request that then fails rolls that count
    back, so app.py counts it again beside the failure's audit row: every attempt counts once."""
    request.state.limits_to_recount = limits
    enforce_in(db, limits)


def limits_to_recount(request: Request) -> list[Limit]:
    """What :func:`count_in_request` counted in a transaction that then rolled back."""
    limits = getattr(request.state, "limits_to_recount", None)
    return limits if isinstance(limits, list) else []


def authenticate_counted(
    request: Request,
    db: Executor,
    token: str,
    settings: Settings,
    source_ip: str,
    *,
    also: Sequence[Limit] = (),
    software: str | None = None,
) -> DeviceIdentity:
    """Authenticate the device and count the attempt (and ``also``), in the request's
    transaction: per device when the token is valid, per address when it is not
    (:func:`exchange.request_limits`), and refused after counting, so a stream of bad tokens is
    throttled too."""
    try:
        device, refusal = devices.authenticate_device(db, token, software=software), None
    except DeviceNotAuthorized as exc:
        device, refusal = None, exc
    count_in_request(request, db, [*request_limits(settings, token, device is not None, source_ip), *also])
    if device is None:
        assert refusal is not None
        raise refusal
    return device


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def device_token(request: Request) -> str:
    """The device credential: a bearer header (kiosk) or the scanner page's cookie (browser).

    Empty when absent; the route then refuses it through ``authenticate_device``, after it
    has counted the attempt and named the audit row.
    """
    return bearer_token(request) or request.cookies.get(DEVICE_COOKIE) or ""


DeviceToken = Annotated[str, Depends(device_token)]


async def kiosk_device_token(
    x_device_token: Annotated[
        str, Header(description="The kiosk's device token; the bearer token is then the student's session.")
    ] = "",
) -> str:
    """The device credential of a call that also carries a student's session as its bearer token
    (``POST /api/v1/handoff``). Empty when absent: the route refuses it after counting the attempt."""
    return x_device_token


KioskDeviceToken = Annotated[str, Depends(kiosk_device_token)]


def session_token(request: Request, *, cookie_only: bool = False) -> str:
    """The student's session token: the bearer token (a kiosk) or the browser's cookie; refused
    when there is none."""
    token = (None if cookie_only else bearer_token(request)) or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SessionNotValid()
    return token


def current_student(request: Request, db: SessionDep) -> StudentSession:
    return authenticate_session(db, session_token(request))


CurrentStudent = Annotated[StudentSession, Depends(current_student)]


def browser_student(request: Request, db: SessionDep) -> StudentSession | None:
    """The signed-in student of this browser (the identity session), or ``None``."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate_session(db, token)
    except ApiError:
        return None


BrowserStudent = Annotated[StudentSession | None, Depends(browser_student)]


async def reading(runtime: Runtime, work: Callable[[Session], T]) -> T:
    """``work`` in a transaction that only reads (:func:`read_only_transaction`). On SQLite it
    runs right here on the event loop: in WAL mode a reader neither waits for the writer nor holds
    it up, so a read needs no turn at the writer and no thread. PostgreSQL's: a thread."""

    def in_transaction() -> T:
        with read_only_transaction(runtime.factory) as session:
            return work(session)

    if runtime.engine.dialect.name == "sqlite":
        return in_transaction()
    return await run_in_threadpool(in_transaction)


async def reading_as_student(
    runtime: Runtime, request: Request, work: Callable[[Session, SignedIn], T], *, cookie_only: bool = False
) -> T:
    """``work`` for :func:`current_student` (or, ``cookie_only``, this browser's student), in a
    transaction that only reads (:func:`reading`): the dashboard and the kiosk's apps. The idle
    timer is refreshed after, in a write of its own, only when it is due (every ten seconds at
    most), so the morning rush's dashboards never take SQLite's writer."""

    def read(db: Session) -> tuple[SignedIn, T]:
        student = signed_in(db, session_token(request, cookie_only=cookie_only))
        return student, work(db, student)

    student, result = await reading(runtime, read)
    if student.idle_timer_due:
        await in_one_transaction(runtime, partial(refresh_idle_timer, session_id=student.id))
    return result


async def oauth_parameters(request: Request) -> dict[str, list[str]]:
    """Every value of every parameter (Authlib refuses a repeated one): the query of a GET, the
    form body of a POST — never the query of a POST, so a client secret, code or verifier put in
    a URL (which access logs keep) is not accepted. Read here so the routes stay synchronous."""
    parameters: dict[str, list[str]] = {}
    if request.method != "POST":
        for name, value in request.query_params.multi_items():
            parameters.setdefault(name, []).append(value)
    elif request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        for name, field in (await request.form()).multi_items():
            if isinstance(field, str):
                parameters.setdefault(name, []).append(field)
    return parameters


OAuthParameters = Annotated[dict[str, list[str]], Depends(oauth_parameters)]


def refuse_cross_site(request: Request) -> None:
    """A JSON request from this site's own page script, or refused (login and session CSRF).

    Another site's page cannot send ``application/json`` without the browser asking this server
    first (CORS), and browsers mark where a request came from (``Sec-Fetch-Site``, ``Origin``).
    Clients that are not browsers (a kiosk) send neither header and pass.
    """
    from badge_server.errors import CsrfRejected

    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    cross_site = (fetch_site is not None and fetch_site not in ("same-origin", "none")) or (
        origin is not None and origin.rstrip("/") != str(request.base_url).rstrip("/")
    )
    if cross_site or not request.headers.get("content-type", "").startswith("application/json"):
        raise CsrfRejected("This must come from this site's own page.")


async def same_site_json(request: Request) -> None:
    refuse_cross_site(request)


SameSiteJson = Depends(same_site_json)
