"""The audit log in the district's time (BADGE_TIMEZONE): the times shown, the times typed in the
filter, and the CSV's (with their offset), over real HTTP."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import httpx
import pytest

from badge_server.clock import utcnow
from badge_server.settings import Settings

ZONE = "Asia/Kolkata"  # +05:30 all year: a half-hour offset no UTC page could pass for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"timezone": ZONE})


def test_the_audit_log_reads_and_filters_in_the_districts_time(
    district_admin: httpx.Client, settings: Settings
) -> None:
    local_now = utcnow().astimezone(settings.zone)
    page = district_admin.get("/staff/admin/audit", params={"kind": "staff.create"})
    assert f"When ({ZONE})" in page.text and f"From ({ZONE})" in page.text
    assert (
        local_now.strftime("%Y-%m-%d %H:") in page.text
        or (local_now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:") in page.text
    ), "the row's time as the district's clock shows it"

    # A filter typed as the district's clock reads: from a minute ago finds the row, from a
    # minute ahead does not (typed as UTC, both would miss by five and a half hours).
    def rows_from(moment: datetime) -> int:
        found = district_admin.get(
            "/staff/admin/audit", params={"kind": "staff.create", "start": moment.strftime("%Y-%m-%dT%H:%M")}
        )
        return found.text.count("<td>staff.create</td>")

    assert rows_from(local_now - timedelta(minutes=2)) == 1
    assert rows_from(local_now + timedelta(minutes=2)) == 0

    exported = district_admin.get("/staff/admin/audit.csv", params={"kind": "staff.create"}).text
    (row,) = list(csv.DictReader(io.StringIO(exported)))
    assert row["at"].endswith("+05:30")
