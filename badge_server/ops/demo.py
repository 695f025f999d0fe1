"""``badge-server demo``: a whole demo district on the embedded database, ready to scan."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from badge_server import badges, devices, student_passwords
from badge_server.catalog import add_demo_catalog
from badge_server.clock import utcnow
from badge_server.keys import ServerKeys
from badge_server.ops.demo_app import CONFIG_FILE, PREFIX, DemoAppConfig
from badge_server.ops.demo_saml_app import SAML_PREFIX, acs_url, sp_entity_id
from badge_server.ops.setup import initialise, write_badge_pdf
from badge_server.printing import PrintRequest
from badge_server.roster import import_roster
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.sso import oidc_clients, saml_providers
from badge_server.staff import create_staff, set_password
from badge_server.store.account_models import StudentPassword
from badge_server.store.db import transaction
from badge_server.store.models import App, Device, Person, RosterRole, SchoolClass, StaffRole, StaffUser
from badge_server.store.sso_models import NameIdFormat, OidcClient, SsoProtocol

DEMO_ROSTER = Path(__file__).parent / "demo_data"
DEMO_SCHOOL = "s-maple"
DEMO_DEVICE_NAME = "Demo kiosk (Maple Street, Room 4)"
ACTOR = "demo"
DEMO_TEACHER = "rivera"
DEMO_APP_ID = "who-am-i"  # the demo's own SSO app (ops/demo_app.py)
DEMO_SAML_APP_ID = "who-am-i-saml"  # the same over SAML (ops/demo_saml_app.py)
BADGE_FILE = "demo-badge.txt"  # read by `badge-kiosk demo-setup` (kiosk_client.demo)


def build_demo(settings: Settings, *, host: str, port: int) -> str:
    """Create (or refresh) the demo district and return what to tell the person running it."""
    initialise(settings)
    runtime = Runtime.start(settings)
    data_dir = settings.data_dir
    try:
        issued = import_roster(runtime.factory, DEMO_ROSTER, runtime.keys, settings, actor=ACTOR).badges_issued
        with transaction(runtime.factory) as session:
            add_demo_catalog(session)
            code = devices.create_enroll_code(session, DEMO_SCHOOL, minutes=24 * 60, actor=ACTOR)
            device_file = data_dir / "demo-device.json"
            known = session.scalars(select(Device).where(Device.name == DEMO_DEVICE_NAME)).first()
            if known is None or not device_file.exists():
                spare = devices.create_enroll_code(session, DEMO_SCHOOL, minutes=5, actor=ACTOR)
                enrolled = devices.enroll_device(session, spare.code, DEMO_DEVICE_NAME, source_ip=None)
                _write_private(device_file, {"device_id": enrolled.device_id, "device_token": enrolled.device_token})
            sample = session.get(Person, "st-0001")
            assert sample is not None
            badge = badges.current_badge(session, sample.id)
            assert badge is not None
            payload = str(badges.reprint(session, runtime.keys, badge, actor=ACTOR).payload)
            teacher_password = _demo_teacher(session, data_dir)
            sample_password = _demo_passwords(session, runtime, sample)
            _demo_app(session, runtime.keys, data_dir, f"http://{host}:{port}")
            students = session.query(Person).filter(Person.role == RosterRole.STUDENT).count()
            class_ids = sorted(session.scalars(select(SchoolClass.id)))
    finally:
        runtime.engine.dispose()
    sheets = data_dir / "sheets"
    sheets.mkdir(exist_ok=True)
    for class_id in class_ids:
        write_badge_pdf(
            settings, PrintRequest(class_id=class_id), "square-2in-letter", sheets / f"{class_id}.pdf", actor=ACTOR
        )
    base = f"http://{host}:{port}"
    token = json.loads((data_dir / "demo-device.json").read_text())["device_token"]
    kiosk_lines = _demo_kiosk(data_dir, base, payload)
    return f"""
Demo district ready in {data_dir.resolve()}
  {students} students in 2 schools, 4 classes; {issued} new badges issued; demo app catalog loaded.
  Device enrolment code for Maple Street Elementary (24 h, single use): {code.code}
  A demo kiosk is already enrolled; its token is in {device_file}.
  Badge sheets for the 4 classes (2 in square labels, 12 per Letter sheet): {sheets.resolve()}/

Sign in as {sample.display_name} with their badge, from another terminal:
  curl -s -X POST {base}/api/v1/exchange -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' -d '{{"badge": "{payload}"}}'
  curl -s -X POST {base}/api/v1/launch -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' -d '{{"launch_code": "<launch_code from above>"}}'
  curl -s {base}/api/v1/me/apps -H 'Authorization: Bearer <session_token from above>'

Web pages:
  Teacher console: {base}/staff/login  (username {DEMO_TEACHER}, password {teacher_password})
  Browser badge scanner (Chrome, with a camera): {base}/scan  (type the enrolment code above once)
  No camera? {base}/sign-in/password  (username {sample.username}, password {sample_password})
  Single sign-on: the "Who am I?" tile (or {base}/demo-app/) signs in with OpenID Connect and
  shows the claims it received; "Who am I? (SAML)" does the same as a SAML service provider.
  Discovery: {base}/.well-known/openid-configuration   SAML metadata: {base}/saml/metadata
{kiosk_lines}
API documentation: {base}/docs
"""


def _demo_app(session: Session, keys: ServerKeys, data_dir: Path, base: str) -> None:
    """Register "Who am I?" (ops/demo_app.py) as an OIDC client with a dashboard tile.

    Made once per server address; its credentials are kept beside the database (0600), so the
    app keeps working across restarts of the demo.
    """
    _demo_saml_app(session, base)
    path = data_dir / CONFIG_FILE
    known = DemoAppConfig.read(path)
    client = session.get(OidcClient, known.client_id) if known else None
    if known is not None and known.issuer == base and client is not None and client.disabled_at is None:
        return
    if session.get(App, DEMO_APP_ID) is None:
        last = session.scalar(select(func.max(App.position))) or 0
        session.add(
            App(id=DEMO_APP_ID, name="Who am I?", launch_url=f"{base}{PREFIX}/", color="#6a4c93", position=last + 1)
        )
        session.flush()
    config = DemoAppConfig(issuer=base, client_id="", client_secret="")
    made = oidc_clients.register_client(
        session,
        keys,
        name="Who am I? (demo app)",
        redirect_uris=[config.redirect_uri],
        public=False,
        actor=ACTOR,
        now=utcnow(),
        scopes=["openid", "profile", "email", "roster"],
        initiate_login_uri=config.initiate_login_uri,
        backchannel_logout_uri=None,
        app_id=DEMO_APP_ID,
    )
    assert made.secret is not None
    _write_private(path, {"issuer": base, "client_id": made.client.id, "client_secret": made.secret})


def _demo_saml_app(session: Session, base: str) -> None:
    """Register "Who am I? (SAML)" (ops/demo_saml_app.py) as a SAML service provider with a tile."""
    entity_id = sp_entity_id(base)
    provider = saml_providers.enabled_provider_by_entity_id(session, entity_id)
    if provider is None:
        provider = saml_providers.add_provider(
            session,
            saml_providers.NewProvider(
                name="Who am I? (demo app, SAML)",
                entity_id=entity_id,
                acs_url=acs_url(base),
                nameid_format=NameIdFormat.PERSISTENT.value,
            ),
            ACTOR,
        )
    tile = session.get(App, DEMO_SAML_APP_ID)
    if tile is None:
        last = session.scalar(select(func.max(App.position))) or 0
        tile = App(id=DEMO_SAML_APP_ID, name="Who am I? (SAML)", color="#23857a", position=last + 1)
        session.add(tile)
    tile.launch_url = f"{base}{SAML_PREFIX}/"
    tile.sso_protocol, tile.sso_ref = SsoProtocol.SAML.value, provider.id
    session.flush()


def _demo_kiosk(data_dir: Path, base: str, payload: str) -> str:
    """A video of José's badge held up to a camera, and a kiosk config that scans it.

    The kiosk makes them itself (``badge-kiosk demo-setup``), run as a command: the server
    never imports the kiosk, which may not even be installed beside it.
    """
    _write_private(data_dir / BADGE_FILE, payload)
    made = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "kiosk_client", "demo-setup", str(data_dir), "--server", base],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        reason = (made.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"The kiosk is not set up for the demo (pip install '.[kiosk]'): {reason}\n"
    config = made.stdout.strip()
    return f"""
Kiosk (scans a video of that badge as if it were a webcam):
  badge-kiosk --config {config}                 # needs a display
  badge-kiosk --config {config} check --expect-badge   # works anywhere
"""


def _demo_passwords(session: Session, runtime: Runtime, sample: Person) -> str:
    """Every demo student gets a password once (a re-run keeps them); the sample's is returned."""
    stored = {r.person_id: r for r in session.scalars(select(StudentPassword))}
    for person in session.scalars(select(Person).where(Person.role == RosterRole.STUDENT)):
        if person.id not in stored:
            student_passwords.give_password(session, runtime.keys, runtime.settings, person, actor=ACTOR)
    session.flush()
    given = student_passwords.given_password(runtime.keys, session.get(StudentPassword, sample.id))
    return given or "(chosen by the student)"


def _demo_teacher(session: Session, data_dir: Path) -> str:
    """Ms. Rivera's console account; its password is made once and kept beside the database."""
    saved = data_dir / "demo-staff.json"
    user = session.scalars(select(StaffUser).where(StaffUser.username == DEMO_TEACHER)).first()
    if user is not None and saved.exists():
        password: str = json.loads(saved.read_text())["password"]
        return password
    password = "-".join(secrets.token_hex(3) for _ in range(3))
    if user is None:
        create_staff(session, DEMO_TEACHER, password, StaffRole.TEACHER, actor=ACTOR, person_id="t-rivera")
    else:
        set_password(session, user, password, actor=ACTOR)
    _write_private(saved, {"username": DEMO_TEACHER, "password": password})
    return password


def _write_private(path: Path, data: dict[str, str] | str) -> None:
    # Tokens, a badge's secret and a password: readable by the person who ran the demo only.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data))
