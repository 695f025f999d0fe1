"""The demo district: roster imported, badges issued and known, one kiosk enrolled."""

from __future__ import annotations

from dataclasses import dataclass, field

from badge_server import badges, devices
from badge_server.catalog import add_demo_catalog
from badge_server.roster import import_roster
from badge_server.runtime import Runtime
from badge_server.store.db import transaction
from badge_server.store.models import Badge
from tests.support.database import DEMO_ROSTER


@dataclass
class District:
    """The demo roster imported, badges issued, and one kiosk enrolled."""

    runtime: Runtime
    device_id: str
    device_token: str
    payloads: dict[str, str] = field(default_factory=dict)  # person id -> QR text

    @property
    def device_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.device_token}"}

    def enroll_device(self, name: str = "Another kiosk", school: str = "s-maple") -> tuple[str, str]:
        with transaction(self.runtime.factory) as session:
            grant = devices.create_enroll_code(session, school, minutes=5, actor="test")
            enrolled = devices.enroll_device(session, grant.code, name, source_ip=None)
        return enrolled.device_id, enrolled.device_token


def build_district(runtime: Runtime) -> District:
    import_roster(runtime.factory, DEMO_ROSTER, runtime.keys, runtime.settings, actor="test")
    with transaction(runtime.factory) as session:
        add_demo_catalog(session)
        payloads = {}
        for badge in session.query(Badge).all():
            payloads[badge.person_id] = str(badges.reprint(session, runtime.keys, badge, actor="test").payload)
        grant = devices.create_enroll_code(session, "s-maple", minutes=5, actor="test")
        enrolled = devices.enroll_device(session, grant.code, "Test kiosk", source_ip=None)
    return District(runtime, enrolled.device_id, enrolled.device_token, payloads)
