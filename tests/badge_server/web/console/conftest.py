"""What the console tests share, signed in over HTTP: a district admin (second factor set up) and
Ms. Rivera, the Kindergarten teacher."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, sign_in_setting_up_totp


@pytest.fixture
def district_admin(server: LoopbackServer, district: District) -> Iterator[httpx.Client]:
    add_staff(district, "it-admin", "district_admin")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as client:
        sign_in_setting_up_totp(client, "it-admin")
        yield client


@pytest.fixture
def teacher(server: LoopbackServer, district: District) -> Iterator[httpx.Client]:
    """Ms. Rivera, teacher of Kindergarten at Maple Street (k-maple-kg)."""
    add_staff(district, "lrivera", "teacher", person_id="t-rivera")
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as client:
        sign_in_setting_up_totp(client, "lrivera")  # a teacher sets up no second factor unless asked
        yield client
