"""A teacher previews the first sheet before printing (issue 18): the picture shows the sheet as it
will print, but its codes open nothing, and previewing prints, marks and reveals nothing."""

from __future__ import annotations

import base64
import io
import re

import httpx
import numpy as np
from PIL import Image

from badge_server.contract.payload import parse_payload
from kiosk_client.decoder import ZxingDecoder
from tests.support.api import audit_count, exchange
from tests.support.district import District
from tests.support.staff import csrf_of


def test_the_preview_shows_the_first_sheet_with_codes_that_open_nothing(
    teacher: httpx.Client, district: District, http: httpx.Client
) -> None:
    roster = teacher.get("/staff/classes/k-maple-kg")
    assert 'formaction="/staff/classes/k-maple-kg/print/preview"' in roster.text
    printed_before = audit_count(district.runtime, "badge.print")
    preview = teacher.post(
        "/staff/classes/k-maple-kg/print/preview", data={"csrf": csrf_of(roster), "template": "avery-5395"}
    )
    assert preview.status_code == 200, preview.text[:300]
    words = " ".join(preview.text.split())
    assert "The first of <strong>2 sheets</strong> (10 badges)" in words and "Avery" in words
    found = re.search(r'src="data:image/png;base64,([^"]+)"', preview.text)
    assert found
    picture = np.array(Image.open(io.BytesIO(base64.b64decode(found[1]))).convert("L"))
    assert picture.shape[0] > 1000, "readable: 120 dots an inch"
    codes = [code.text for code in ZxingDecoder().decode(picture)]
    assert len(codes) == 8, "Avery 5395 holds 8 a sheet"
    assert all(parse_payload(code) for code in codes), "badge-shaped codes, so the layout is true"
    assert not set(codes) & set(district.payloads.values()), "no real badge in a picture"
    assert exchange(http, district.device_token, codes[0]).status_code == 403
    assert audit_count(district.runtime, "badge.print") == printed_before, "nothing was printed"
    assert audit_count(district.runtime, "badge.print_sheets") == 0
    # The button on the preview prints the real thing, with the same choices.
    assert 'name="template" value="avery-5395"' in preview.text
    pdf = teacher.post("/staff/classes/k-maple-kg/print", data={"csrf": csrf_of(preview), "template": "avery-5395"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.headers["X-Badge-Count"] == "10"


def test_a_preview_of_nothing_to_print_or_of_another_class_is_refused(teacher: httpx.Client) -> None:
    roster = teacher.get("/staff/classes/k-maple-kg")
    nothing = teacher.post("/staff/classes/k-maple-kg/print/preview", data={"csrf": csrf_of(roster), "only_new": "1"})
    assert nothing.status_code == 409 and "no new badges to print" in nothing.text
    other = teacher.post("/staff/classes/k-lake-4/print/preview", data={"csrf": csrf_of(roster)})
    assert other.status_code == 404
    unknown = teacher.post(
        "/staff/classes/k-maple-kg/print/preview", data={"csrf": csrf_of(roster), "template": "no-such-stock"}
    )
    assert unknown.status_code == 409 and "no-such-stock" in unknown.text
