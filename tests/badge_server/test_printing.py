"""Printing from the server's database: class sheets that scan back to working badges, audited."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
from sqlalchemy import select

from badge_printing import BUILT_IN
from badge_server import badges
from badge_server.errors import PolicyError
from badge_server.printing import PrintRequest, print_badges
from badge_server.store.db import transaction
from badge_server.store.models import Badge, Person
from tests.support.api import audit_count, exchange
from tests.support.district import District
from tests.support.pdf import page_count, page_text, payloads_by_label

TEMPLATE = BUILT_IN["square-2in-letter"]


def print_pdf(district: District, request: PrintRequest) -> bytes:
    buffer = io.BytesIO()
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        print_badges(session, runtime.keys, request, TEMPLATE.name, buffer, actor="teacher:t-rivera")
    return buffer.getvalue()


def test_a_printed_class_sheet_scans_back_to_badges_that_sign_in(http: httpx.Client, district: District) -> None:
    before = audit_count(district.runtime, "badge.print")
    pdf = print_pdf(district, PrintRequest(class_id="k-maple-kg"))
    assert page_count(pdf) == 2  # cover page + one sheet of 10
    cover = page_text(pdf, 0)
    assert "Kindergarten – Ms. Rivera" in cover and "José García" in cover
    scanned = payloads_by_label(pdf, 1, TEMPLATE, 150)
    assert len(scanned) == 10
    assert set(scanned.values()) == {district.payloads[f"st-{n:04d}"] for n in range(1, 11)}
    # Sorted by name: Amara Okonkwo is first, Zoë Müller last.
    assert scanned[0] == district.payloads["st-0004"] and scanned[9] == district.payloads["st-0002"]
    answer = exchange(http, district.device_token, scanned[3])
    assert answer.status_code == 200
    assert audit_count(district.runtime, "badge.print") == before + 10
    assert audit_count(district.runtime, "badge.print_sheets") == 1


def test_only_new_prints_just_the_replaced_badge(district: District) -> None:
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        person = session.get(Person, "st-0003")
        assert person is not None
        new = str(badges.replace(session, runtime.keys, runtime.settings, person, actor="teacher").payload)
    pdf = print_pdf(district, PrintRequest(class_id="k-maple-kg", only_new=True))
    assert payloads_by_label(pdf, 1, TEMPLATE, 150) == {0: new}
    with pytest.raises(PolicyError, match="no new badges to print"):
        print_pdf(district, PrintRequest(class_id="k-maple-kg", only_new=True))


def test_one_student_and_a_whole_school_stream(district: District) -> None:
    one = print_pdf(district, PrintRequest(person_id="st-0021"))
    assert payloads_by_label(one, 1, TEMPLATE, 150) == {0: district.payloads["st-0021"]}
    school = zipfile.ZipFile(io.BytesIO(print_pdf(district, PrintRequest(school_id="s-lake"))))
    assert sorted(school.namelist()) == ["Grade-4-Ms.-Haddad.pdf", "Pre-K-Mrs.-Chen.pdf"]
    found: set[str] = set()
    for name in school.namelist():
        pdf = school.read(name)
        assert page_count(pdf) == 2  # each class: its cover page and one sheet of 10
        found |= set(payloads_by_label(pdf, 1, TEMPLATE, 150).values())
    assert found == {district.payloads[f"st-{n:04d}"] for n in range(21, 41)}
    with transaction(district.runtime.factory) as session:
        printed = session.scalars(select(Badge).where(Badge.printed_at.is_not(None))).all()
        assert len(printed) == 40


def test_the_small_print_is_in_each_familys_language(district: District) -> None:
    """Issue 18: reference and expiry under the name, in the roster's language (English otherwise)."""
    with transaction(district.runtime.factory) as session:
        session.get_one(Person, "st-0001").language = "es"  # José
        session.get_one(Person, "st-0002").language = "ar-SA"  # Zoë
        expiry = {b.person_id: b.expires_at for b in session.scalars(select(Badge).where(Badge.status == "active"))}
    sheet = page_text(print_pdf(district, PrintRequest(class_id="k-maple-kg")), 1)
    jose, zoe = expiry["st-0001"], expiry["st-0002"]
    assert "Vence" in sheet and f"{jose.year}" in sheet
    assert "ينتهي" in sheet, "Arabic, shaped on the page, reads back as letters"
    assert sheet.count("Exp ") == 8, "the other eight in English, as before"
    assert f"{zoe.year}" in sheet
