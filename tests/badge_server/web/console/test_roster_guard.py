"""Issue 17: a roster upload that would deactivate a school's students needs the box ticked."""

from __future__ import annotations

import csv
import io
import re

import httpx

from tests.support.api import exchange
from tests.support.database import DEMO_ROSTER
from tests.support.district import District
from tests.support.servers import LoopbackServer
from tests.support.staff import add_staff, csrf_of, sign_in_setting_up_totp, until_imported


def roster_without(students: set[str]) -> list[tuple[str, tuple[str, bytes]]]:
    """The demo roster's files as an upload, as if the export had lost these students."""
    files = []
    for path in sorted(DEMO_ROSTER.glob("*.csv")):
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
        column = {"users.csv": "sourcedId", "enrollments.csv": "userSourcedId"}.get(path.name)
        kept = [row for row in rows if column is None or row[column] not in students]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(kept)
        files.append(("files", (path.name, out.getvalue().encode())))
    return files


def test_an_upload_losing_a_schools_students_is_refused_until_confirmed(
    server: LoopbackServer, district: District
) -> None:
    add_staff(district, "it-admin", "district_admin")
    lost = {f"st-{n:04d}" for n in range(1, 13)}  # twelve of Maple Street's twenty
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as admin:
        sign_in_setting_up_totp(admin, "it-admin")
        page = admin.get("/staff/admin")
        assert "deactivate them even if that is more than 10% of a school" in " ".join(page.text.split())
        csrf = csrf_of(page)
        refused = until_imported(
            admin, admin.post("/staff/admin/roster", data={"csrf": csrf}, files=roster_without(lost))
        )
        assert refused.status_code == 422 and "Nothing was changed" in refused.text
        assert "would deactivate 12 of the 20 active students of Maple Street Elementary" in refused.text
        # A preview first: what the import would do, and nothing done.
        preview = until_imported(
            admin,
            admin.post(
                "/staff/admin/roster",
                data={"csrf": csrf, "allow_mass_deactivation": "yes", "preview": "yes"},
                files=roster_without(lost),
            ),
        )
        assert preview.status_code == 200 and "Preview: nothing was changed" in preview.text
        row = preview.text.split("Maple Street Elementary</td>", 1)[1].split("</tr>", 1)[0]
        assert re.findall(r"<td>(\d+)</td>", row) == ["20", "0", "12"]
        assert exchange(admin, district.device_token, district.payloads["st-0001"]).status_code == 200
        confirmed = until_imported(
            admin,
            admin.post(
                "/staff/admin/roster", data={"csrf": csrf, "allow_mass_deactivation": "yes"}, files=roster_without(lost)
            ),
        )
        assert confirmed.status_code == 200 and "Imported." in confirmed.text
        assert "Students per school" in confirmed.text
        row = confirmed.text.split("Maple Street Elementary</td>", 1)[1].split("</tr>", 1)[0]
        assert re.findall(r"<td>(\d+)</td>", row) == ["20", "0", "12"]  # active before, new, deactivated
