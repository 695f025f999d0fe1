"""What the console tests share: a district admin signed in (second factor set up) over HTTP."""

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
