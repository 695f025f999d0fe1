"""The public JSON API (``/api/v1``) that kiosks, browser scanners and dashboards use."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from badge_server import devices, exchange, tiles
from badge_server.catalog import dashboard_apps, dashboard_of, visible_apps
from badge_server.contract.payload import parse_payload
from badge_server.errors import MalformedRequest, PolicyError
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.runtime import Runtime
from badge_server.sessions import SignedIn
from badge_server.web.deps import (
    ClientIP,
    CurrentStudent,
    DeviceToken,
    RuntimeDep,
    SameSiteJson,
    SessionDep,
    audit_failures_as,
    authenticate_counted,
    in_one_transaction,
    on_the_loop_if_free,
    public_base_url,
    reading_as_student,
)
from badge_server.web.sso_pages import sign_out

router = APIRouter(prefix="/api/v1")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrollIn(Strict):
    code: str = Field(min_length=4, max_length=64)
    name: str = Field(min_length=1, max_length=120)


class EnrollOut(BaseModel):
    device_id: str
    device_token: str


class ExchangeIn(Strict):
    badge: str = Field(min_length=1, max_length=4096, description="The QR text as read")
    pin: str | None = Field(None, pattern=r"^[0-9]{6}$")


class UserOut(BaseModel):
    id: str
    display_name: str
    first_name: str
    initials: str
    grade: str | None
    school: str | None
    avatar_color: str
    language: str | None = Field(
        None, description="The student's language from the roster, where the kiosk speaks it (en, es, ar); else null."
    )


class ExchangeOut(BaseModel):
    launch_code: str
    launch_url: str
    expires_in: int
    user: UserOut


class LaunchIn(Strict):
    launch_code: str = Field(min_length=8, max_length=128)


class LaunchOut(BaseModel):
    session_token: str
    expires_in: int


class AppOut(BaseModel):
    id: str
    name: str
    launch_url: str
    icon: str | None
    color: str


class AppsOut(BaseModel):
    apps: list[AppOut]


@router.post("/devices/enroll", response_model=EnrollOut)
def enroll(body: EnrollIn, request: Request, db: SessionDep, runtime: RuntimeDep, ip: ClientIP) -> EnrollOut:
    audit_failures_as(request, "device.enroll", ip)
    enforce_limits(runtime.factory, [Limit(f"enroll-ip:{ip}", 20)])
    enrolled = devices.enroll_device(db, body.code, body.name, source_ip=ip)
    return EnrollOut(device_id=enrolled.device_id, device_token=enrolled.device_token)


class DeviceOut(BaseModel):
    device_id: str
    name: str
    school_id: str


@router.get("/devices/me", response_model=DeviceOut)
def this_device(request: Request, token: DeviceToken, db: SessionDep, runtime: RuntimeDep, ip: ClientIP) -> DeviceOut:
    """Who this device is enrolled as (``badge-kiosk check``); no side effect but last-seen."""
    software = request.headers.get("user-agent")
    device = authenticate_counted(request, db, token, runtime.settings, ip, software=software)
    return DeviceOut(device_id=device.id, name=device.name, school_id=device.school_id)


@router.post("/exchange", response_model=ExchangeOut)
async def exchange_badge(
    body: ExchangeIn, request: Request, token: DeviceToken, runtime: RuntimeDep, ip: ClientIP
) -> Response:
    work = partial(_exchange_badge, body, request, token, runtime, ip)
    if body.pin:  # argon2 checks the PIN: slow on purpose, never on the event loop
        return await run_in_threadpool(work)
    # The morning rush's request: all of it, the transaction's commit included, on the loop when
    # SQLite's writer is free, else in one hand-off to a worker thread (a SessionDep would take a
    # second; see benchmarks/exchange.py).
    return await on_the_loop_if_free(runtime, work)


def _exchange_badge(body: ExchangeIn, request: Request, token: str, runtime: Runtime, ip: str) -> Response:
    settings, keys = runtime.settings, runtime.keys
    audit_failures_as(request, "badge.exchange", ip)
    payload = parse_payload(body.badge)
    software = request.headers.get("user-agent")
    pin = None
    if payload is not None and body.pin:
        # A PIN is checked with argon2 (slow on purpose): the attempt is counted first, in a
        # transaction of its own, so a guess beyond the day's tries costs no check, and the PIN is
        # checked before the request's transaction begins, so no lock is held while it runs.
        limits = exchange.exchange_limits(runtime.factory, settings, keys, token, ip, payload)
        limits += exchange.pin_limits(settings, keys, payload, body.pin)
        exchange.enforce_scan_limits(runtime.factory, keys, limits, payload)
        pin = exchange.check_pin_first(runtime.factory, keys, runtime.password_checks, payload, body.pin)
    # A Connection, not a Session: every statement of the exchange is Core (devices, ratelimit,
    # exchange.find_badge, audit), and the Session's unit of work would cost more than they do.
    with runtime.engine.begin() as db:
        if pin is not None:
            device = devices.authenticate_device(db, token, software=software)
        else:
            # Device, limits, badge and launch code in this one transaction: one commit.
            also = exchange.badge_limits(settings, keys, payload)
            device = authenticate_counted(request, db, token, settings, ip, also=also, software=software)
        audit_failures_as(request, "badge.exchange", ip, device.id)
        if payload is None:
            raise exchange.not_a_badge(body.badge, settings)
        result = exchange.exchange_badge(db, keys, settings, device, payload, pin, source_ip=ip)
        answer = ExchangeOut(
            launch_code=result.launch_code,
            launch_url=f"{public_base_url(request, settings)}/launch/{result.launch_code}",
            expires_in=result.expires_in,
            user=UserOut.model_validate(exchange.person_summary(result.person, result.badge.school_name)),
        )
    # Built here, after the commit: FastAPI would validate the model a second time.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post("/launch", response_model=LaunchOut)
async def launch(body: LaunchIn, request: Request, token: DeviceToken, runtime: RuntimeDep, ip: ClientIP) -> LaunchOut:
    return await in_one_transaction(runtime, partial(_launch, body, request, token, runtime, ip))


def _launch(body: LaunchIn, request: Request, token: str, runtime: Runtime, ip: str, db: Session) -> LaunchOut:
    audit_failures_as(request, "session.start", ip)
    device = authenticate_counted(request, db, token, runtime.settings, ip)
    audit_failures_as(request, "session.start", ip, device.id)
    started = exchange.redeem_launch_code(db, runtime.settings, body.launch_code, device.id, "kiosk", source_ip=ip)
    return LaunchOut(session_token=started.token, expires_in=started.expires_in)


@router.get("/me", response_model=UserOut)
def me(student: CurrentStudent, db: SessionDep) -> UserOut:
    return UserOut.model_validate(exchange.user_summary(db, student.person))


@router.get("/me/apps", response_model=AppsOut)
async def my_apps(request: Request, runtime: RuntimeDep) -> AppsOut:
    """The kiosk's dashboard, right after its launch: read on the event loop on SQLite."""
    return await reading_as_student(runtime, request, _my_apps)


def _my_apps(db: Session, student: SignedIn) -> AppsOut:
    return AppsOut(apps=[AppOut.model_validate(app, from_attributes=True) for app in dashboard_apps(db, student)])


class TileOut(BaseModel):
    id: str
    name: str
    icon: str | None
    color: str
    pinned: bool
    hidden: bool


class TilesOut(BaseModel):
    """Every app the person may see, in dashboard order; hidden ones last, marked."""

    tiles: list[TileOut]


class TilesIn(Strict):
    order: list[str] = Field(default_factory=list, max_length=200, description="App ids, first tile first")
    hidden: list[str] = Field(default_factory=list, max_length=200, description="App ids not to show")


def _tiles(db: SessionDep, student: CurrentStudent) -> TilesOut:
    dashboard = dashboard_of(db, student)
    pinned = set(dashboard.pinned)
    return TilesOut(
        tiles=[
            TileOut(id=a.id, name=a.name, icon=a.icon, color=a.color, pinned=a.id in pinned, hidden=hidden)
            for a, hidden in [*((a, False) for a in dashboard.shown), *((a, True) for a in dashboard.hidden)]
        ]
    )


@router.get("/me/tiles", response_model=TilesOut)
def my_tiles(student: CurrentStudent, db: SessionDep) -> TilesOut:
    """The person's tiles as they arranged them (the kiosk's and the web dashboard's order)."""
    return _tiles(db, student)


@router.put("/me/tiles", response_model=TilesOut, dependencies=[SameSiteJson])
def arrange_tiles(body: TilesIn, student: CurrentStudent, db: SessionDep) -> TilesOut:
    """Keep the person's order and hidden apps, on the server: the same on every device."""
    try:
        tiles.save_arrangement(db, student.person_id, body.order, body.hidden, visible_apps(db, student))
    except PolicyError as exc:
        raise MalformedRequest(str(exc)) from exc
    db.flush()
    return _tiles(db, student)


@router.post("/logout")
def logout(
    request: Request, student: CurrentStudent, db: SessionDep, runtime: RuntimeDep, background: BackgroundTasks
) -> dict[str, bool]:
    sign_out(request, db, runtime, student, background, reason="logout")
    return {"signed_out": True}
