"""``badge-server demo``: a whole demo district on the embedded database, ready to scan."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from badge_server import badges, devices
from badge_server.catalog import add_demo_catalog
from badge_server.cli import initialise, write_badge_pdf
from badge_server.db import transaction
from badge_server.models import Device, Person, SchoolClass
from badge_server.printing import PrintRequest
from badge_server.roster import import_roster
from badge_server.runtime import Runtime
from badge_server.settings import Settings

DEMO_ROSTER = Path(__file__).parent / "demo_data"
DEMO_SCHOOL = "s-maple"
DEMO_DEVICE_NAME = "Demo kiosk (Maple Street, Room 4)"
ACTOR = "demo"


def build_demo(settings: Settings, *, host: str, port: int) -> str:
    """Create (or refresh) the demo district and return what to tell the person running it."""
    initialise(settings)
    runtime = Runtime.start(settings)
    data_dir = settings.data_dir
    try:
        with transaction(runtime.factory) as session:
            import_roster(session, DEMO_ROSTER, actor=ACTOR)
            issued = badges.issue_missing_badges(session, runtime.keys, settings, actor=ACTOR)
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
            students = session.query(Person).filter(Person.role == "student").count()
            class_ids = sorted(session.scalars(select(SchoolClass.id)))
    finally:
        runtime.engine.dispose()
    sheets = data_dir / "sheets"
    sheets.mkdir(exist_ok=True)
    for class_id in class_ids:
        write_badge_pdf(settings, PrintRequest(class_id=class_id), "square-2in-letter", sheets / f"{class_id}.pdf")
    base = f"http://{host}:{port}"
    token = json.loads((data_dir / "demo-device.json").read_text())["device_token"]
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

API documentation: {base}/docs
"""


def _write_private(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
