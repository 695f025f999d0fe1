"""The public JSON API (``/api/v1``) that kiosks, browser scanners and dashboards use."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, ConfigDict, Field

from badge_server import devices, exchange
from badge_server.catalog import dashboard_apps
from badge_server.contract.payload import parse_payload
from badge_server.ratelimit import Limit, enforce_limits
from badge_server.web.deps import ClientIP, CurrentStudent, DeviceToken, RuntimeDep, SessionDep, audit_failures_as
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
    pin: str | None = Field(None, pattern=r"^\d{6}$")


class UserOut(BaseModel):
    id: str
    display_name: str
    first_name: str
    initials: str
    grade: str | None
    school: str | None
    avatar_color: str


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
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    device = devices.authenticate_device(db, token, software=request.headers.get("user-agent"))
    return DeviceOut(device_id=device.id, name=device.name, school_id=device.school_id)


@router.post("/exchange", response_model=ExchangeOut)
def exchange_badge(
    body: ExchangeIn, request: Request, token: DeviceToken, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> ExchangeOut:
    settings, keys = runtime.settings, runtime.keys
    audit_failures_as(request, "badge.exchange", ip)
    payload = parse_payload(body.badge)
    # Count the attempt first, in its own transaction (see ratelimit), before the request's
    # own transaction takes any lock; an unknown device token is throttled too.
    enforce_limits(runtime.factory, exchange.exchange_limits(settings, keys, token, ip, payload))
    device = devices.authenticate_device(db, token, software=request.headers.get("user-agent"))
    audit_failures_as(request, "badge.exchange", ip, device.id)
    if payload is None:
        raise exchange.not_a_badge(body.badge, settings)
    result = exchange.exchange_badge(db, keys, settings, device, payload, body.pin, source_ip=ip)
    base = settings.public_url or str(request.base_url)
    return ExchangeOut(
        launch_code=result.launch_code,
        launch_url=f"{base.rstrip('/')}/launch/{result.launch_code}",
        expires_in=result.expires_in,
        user=UserOut.model_validate(exchange.user_summary(db, result.person)),
    )


@router.post("/launch", response_model=LaunchOut)
def launch(
    body: LaunchIn, request: Request, token: DeviceToken, db: SessionDep, runtime: RuntimeDep, ip: ClientIP
) -> LaunchOut:
    audit_failures_as(request, "session.start", ip)
    enforce_limits(runtime.factory, [Limit(f"ip:{ip}", runtime.settings.rate_per_address_per_minute)])
    device = devices.authenticate_device(db, token)
    audit_failures_as(request, "session.start", ip, device.id)
    started = exchange.redeem_launch_code(db, runtime.settings, body.launch_code, device.id, "kiosk", source_ip=ip)
    return LaunchOut(session_token=started.token, expires_in=started.expires_in)


@router.get("/me", response_model=UserOut)
def me(student: CurrentStudent, db: SessionDep) -> UserOut:
    return UserOut.model_validate(exchange.user_summary(db, student.person))


@router.get("/me/apps", response_model=AppsOut)
def my_apps(student: CurrentStudent, db: SessionDep) -> AppsOut:
    return AppsOut(apps=[AppOut.model_validate(app, from_attributes=True) for app in dashboard_apps(db, student)])


@router.post("/logout")
def logout(
    request: Request, student: CurrentStudent, db: SessionDep, runtime: RuntimeDep, background: BackgroundTasks
) -> dict[str, bool]:
    sign_out(request, db, runtime, student, background, reason="logout")
    return {"signed_out": True}
