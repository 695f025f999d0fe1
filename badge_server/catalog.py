"""The app catalog: which tiles a student sees on the dashboard."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, fields
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from badge_server import audit, tiles
from badge_server.clock import utcnow
from badge_server.contract.words import N_
from badge_server.errors import NotFoundError, PolicyError, SsoRefused, UploadRefused
from badge_server.store.db import Executor
from badge_server.store.driver import DriverStatement
from badge_server.store.models import App, AppIcon, Person

# A few well-known learning apps for the demo district. Schools edit their own catalog.
DEMO_APPS: tuple[dict[str, object], ...] = (
    {
        "id": "khan-kids",
        "name": "Khan Academy Kids",
        "launch_url": "https://learn.khanacademy.org/khan-academy-kids/",
        "color": "#1865f2",
    },
    {
        "id": "starfall",
        "name": "Starfall",
        "launch_url": "https://www.starfall.com/h/",
        "color": "#f4a300",
        "grades": ["PK", "TK", "KG", "01", "02"],
    },
    {"id": "pbs-kids", "name": "PBS KIDS Games", "launch_url": "https://pbskids.org/games", "color": "#2638c4"},
    {
        "id": "epic",
        "name": "Epic Books",
        "launch_url": "https://www.getepic.com/",
        "color": "#00a0a0",
        "grades": ["KG", "01", "02", "03", "04", "05"],
    },
    {
        "id": "code-org",
        "name": "Code.org",
        "launch_url": "https://studio.code.org/courses",
        "color": "#8a4fb0",
        "grades": ["02", "03", "04", "05"],
    },
    {
        "id": "gradebook",
        "name": "Gradebook",
        "launch_url": "https://gradebook.example.org/",
        "color": "#3d405b",
        "roles": ["teacher", "administrator"],
    },
    {
        "id": "district-mail",
        "name": "District email",
        "launch_url": "https://mail.example.org/",
        "color": "#c4502f",
        "roles": ["teacher", "administrator"],
    },
    {
        "id": "scratch",
        "name": "Scratch",
        "launch_url": "https://scratch.mit.edu/projects/editor/",
        "color": "#e07b00",
        "grades": ["03", "04", "05"],
    },
)


@dataclass(frozen=True, slots=True)
class CatalogApp:
    """An app as a dashboard reads it: a row, not an ORM object (every sign-in's dashboard reads
    the catalog, and loading ORM objects cost more than the statement). Its fields are the
    ``apps`` table's columns, in their order."""

    id: str
    name: str
    launch_url: str
    icon: str | None
    color: str
    roles: list[str]
    grades: list[str]
    school_ids: list[str]
    position: int
    active: bool
    sso_protocol: str | None
    sso_ref: str | None
    home_allowed: bool


if [field.name for field in fields(CatalogApp)] != [column.key for column in App.__table__.c]:
    raise RuntimeError("CatalogApp's fields must be the apps table's columns, in order")

# Built once: every dashboard reads one (building it cost about what running it does).
_ACTIVE_APPS = select(*App.__table__.c).where(App.active.is_(True)).order_by(App.position, App.name)
_ACTIVE = DriverStatement(_ACTIVE_APPS)
_ACTIVE_AT_HOME = DriverStatement(_ACTIVE_APPS.where(App.home_allowed.is_(True)))


def apps_for(db: Executor, person: Person, *, at_home: bool = False) -> list[CatalogApp]:
    """Active apps whose role, grade and school lists include this person (empty list = all); at
    home (a session on an unenrolled device), only the apps the district allows there."""
    apps = [CatalogApp(*row) for row in (_ACTIVE_AT_HOME if at_home else _ACTIVE).rows(db, {})]
    return [
        app
        for app in apps
        if (not app.roles or person.role in app.roles)
        and (not app.grades or (person.grade or "") in app.grades)
        and (not app.school_ids or (person.school_id or "") in app.school_ids)
    ]


class Identity(Protocol):
    """A signed-in identity session, loaded (sessions.authenticate_session) or read (sessions.signed_in)."""

    @property
    def person_id(self) -> str: ...
    @property
    def person(self) -> Person: ...
    @property
    def client(self) -> str: ...


def visible_apps(session: Executor, signed_in: Identity) -> list[CatalogApp]:
    """Every app this identity session may see (kiosk, browser, home or staff), hidden ones too."""
    return apps_for(session, signed_in.person, at_home=signed_in.client == "home")


@dataclass(frozen=True)
class Dashboard:
    """One identity session's tiles, each read once: shown (in order), hidden, and pinned ids."""

    shown: list[CatalogApp]
    hidden: list[CatalogApp]
    pinned: list[str]


def dashboard_of(session: Executor, signed_in: Identity) -> Dashboard:
    """The tiles of this identity session's dashboard, in the person's order with their class's
    pinned apps first, and the apps they hid apart (badge_server.tiles)."""
    person_id = signed_in.person_id
    apps = visible_apps(session, signed_in)
    pinned = tiles.pinned_app_ids(session, person_id)
    shown = tiles.arrange(apps, tiles.arrangement_of(session, person_id), pinned)
    shown_ids = {app.id for app in shown}
    return Dashboard(shown, [app for app in apps if app.id not in shown_ids], pinned)


def dashboard_apps(session: Executor, signed_in: Identity) -> list[CatalogApp]:
    """The shown tiles of :func:`dashboard_of`."""
    return dashboard_of(session, signed_in).shown


def all_apps(session: Session) -> list[App]:
    """The whole catalog, shown or not, in dashboard order."""
    return list(session.scalars(select(App).order_by(App.position, App.name)))


def find_app(session: Session, app_id: str) -> App | None:
    return session.get(App, app_id)


def app_on_dashboard(session: Session, signed_in: Identity, app_id: str) -> App:
    """The app of a tile this identity session may open (hidden tiles too); refused otherwise,
    whether the app does not exist or is not theirs."""
    app = find_app(session, app_id)
    if app is None or app.id not in {visible.id for visible in visible_apps(session, signed_in)}:
        raise SsoRefused("app_not_for_student", N_("This app is not on your dashboard."))
    return app


def add_demo_catalog(session: Session) -> None:
    """Put the demo apps in the catalog (only those not already there)."""
    for position, spec in enumerate(DEMO_APPS):
        if session.get(App, spec["id"]) is None:
            session.add(App(position=position, **spec))


@dataclass(frozen=True)
class AppEntry:
    """An app as an admin edits it; empty lists mean everyone."""

    name: str
    launch_url: str
    color: str = "#3566c8"
    roles: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    school_ids: tuple[str, ...] = ()
    active: bool = True
    home_allowed: bool = True  # shown to a student signed in at home (a district may keep some at school)


def _checked(entry: AppEntry) -> AppEntry:
    name = entry.name.strip()
    if not 1 <= len(name) <= 80:
        raise PolicyError("an app needs a name of 1 to 80 characters")
    url = urlsplit(entry.launch_url.strip())
    # https only: a tile must not send a child to a page a network can rewrite (http) or run
    # script in this server's origin (javascript:, data:).
    if url.scheme != "https" or not url.hostname:
        raise PolicyError(f"the launch URL must start with https:// (got {entry.launch_url.strip()[:80]!r})")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", entry.color):
        raise PolicyError(f"the colour must look like #3566c8 (got {entry.color[:20]!r})")
    return dataclasses.replace(entry, name=name, launch_url=url.geturl())


def save_app(session: Session, app_id: str | None, entry: AppEntry, *, actor: str) -> App:
    """Add an app (``app_id`` None) or change one; audited."""
    entry = _checked(entry)
    if app_id is None:
        base = re.sub(r"[^a-z0-9]+", "-", entry.name.lower()).strip("-")[:40] or "app"
        app_id, n = base, 1
        while session.get(App, app_id) is not None:
            n += 1
            app_id = f"{base}-{n}"
        last = session.scalar(select(func.max(App.position))) or 0
        app = App(id=app_id, position=last + 1)
        session.add(app)
    else:
        found = session.get(App, app_id)
        if found is None:
            raise NotFoundError(f"no app with id {app_id!r}")
        app = found
    app.name, app.launch_url, app.color, app.active = entry.name, entry.launch_url, entry.color, entry.active
    app.roles, app.grades, app.school_ids = list(entry.roles), list(entry.grades), list(entry.school_ids)
    app.home_allowed = entry.home_allowed
    session.flush()
    audit.record(
        session, "catalog.save", actor=actor, app_id=app.id, name=app.name, active=app.active, home=app.home_allowed
    )
    return app


MAX_ICON_BYTES = 256 * 1024
# Raster formats only, recognised by their first bytes: an SVG "icon" could carry script
# that would run in this server's origin if someone opened it directly.
ICON_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def set_icon(session: Session, app: App, data: bytes, *, actor: str) -> None:
    if len(data) > MAX_ICON_BYTES:
        raise UploadRefused(f"the icon is {len(data) // 1024} KB; at most {MAX_ICON_BYTES // 1024} KB")
    content_type = next((kind for magic, kind in ICON_SIGNATURES.items() if data.startswith(magic)), None)
    if content_type == "image/webp" and data[8:12] != b"WEBP":
        content_type = None
    if content_type is None:
        raise UploadRefused("the icon must be a PNG, JPEG or WebP image")
    icon = session.get(AppIcon, app.id) or AppIcon(app_id=app.id)
    icon.content_type, icon.data, icon.updated_at = content_type, data, utcnow()
    session.add(icon)
    app.icon = f"/apps/{app.id}/icon?v={hashlib.sha256(data).hexdigest()[:12]}"
    audit.record(session, "catalog.icon", actor=actor, app_id=app.id, bytes=len(data))
