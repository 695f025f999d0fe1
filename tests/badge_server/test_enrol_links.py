"""Cart enrolment links: multi-use, expiring, revocable; uses counted atomically (on both databases)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from badge_server import clock, devices, enrol_links
from badge_server.errors import EnrolLinkNotAccepted, EnrolLinkRefused
from badge_server.keys import token_digest
from badge_server.store.db import transaction
from badge_server.store.models import AuditEvent, Device
from badge_server.store.sso_models import EnrolLink
from tests.support.api import audit_count
from tests.support.district import District

BASE = "https://badges.example.org/"


def new_link(district: District, **options: object) -> enrol_links.EnrolLinkGrant:
    with transaction(district.runtime.factory) as session:
        return enrol_links.create_link(session, "s-maple", BASE, actor="admin", **options)  # type: ignore[arg-type]


def token_of(grant: enrol_links.EnrolLinkGrant) -> str:
    return grant.url.split("#", 1)[1]


def redeem(district: District, token: str) -> enrol_links.LinkEnrolment:
    with transaction(district.runtime.factory) as session:
        return enrol_links.redeem_link(session, token, source_ip="10.0.0.7")


def test_each_use_enrols_the_next_numbered_scanner_of_the_school(district: District) -> None:
    grant = new_link(district, max_uses=3, name_prefix="  Cart   B ")
    assert grant.url.startswith("https://badges.example.org/scan/enrol#") and grant.max_uses == 3
    token = token_of(grant)
    assert len(token) >= 43  # 256 random bits, URL-safe
    names = [redeem(district, token).name for _ in range(3)]
    assert names == ["Cart B 1", "Cart B 2", "Cart B 3"]
    with transaction(district.runtime.factory) as session:
        link = session.get(EnrolLink, grant.link_id)
        assert link is not None and link.uses == 3 and link.digest == token_digest(token)
        assert token not in repr(session.scalars(select(AuditEvent.detail)).all())
        enrolled = session.scalars(select(Device).where(Device.name.like("Cart B %"))).all()
        assert {d.school_id for d in enrolled} == {"s-maple"} and len(enrolled) == 3
    with pytest.raises(EnrolLinkNotAccepted) as refused:
        redeem(district, token)
    assert refused.value.reason == "used_up" and "already set up 3 computers" in refused.value.message
    assert audit_count(district.runtime, "enrol_link.create") == 1
    assert audit_count(district.runtime, "enrol_link.use") == 3


def test_a_device_it_enrolled_is_a_working_scanner(district: District) -> None:
    enrolled = redeem(district, token_of(new_link(district)))
    assert enrolled.name == "Chromebook 1"
    with transaction(district.runtime.factory) as session:
        device = devices.authenticate_device(session, enrolled.device.device_token)
        assert device.id == enrolled.device.device_id and device.school_id == "s-maple"


def test_an_expired_link_is_refused(district: District) -> None:
    token = token_of(new_link(district, hours=2))
    clock.advance(timedelta(hours=1, minutes=59))
    assert redeem(district, token).name == "Chromebook 1"
    clock.advance(timedelta(minutes=2))
    with pytest.raises(EnrolLinkNotAccepted) as refused:
        redeem(district, token)
    assert refused.value.reason == "expired" and "expired" in refused.value.message


def test_a_revoked_link_is_refused_and_its_devices_stay(district: District) -> None:
    grant = new_link(district)
    first = redeem(district, token_of(grant))
    with transaction(district.runtime.factory) as session:
        enrol_links.revoke_link(session, grant.link_id, actor="admin")
    with pytest.raises(EnrolLinkNotAccepted) as refused:
        redeem(district, token_of(grant))
    assert refused.value.reason == "revoked" and refused.value.audit_ids == {"link_id": grant.link_id}
    with transaction(district.runtime.factory) as session:
        assert devices.authenticate_device(session, first.device.device_token).name == "Chromebook 1"
        assert not enrol_links.is_usable(enrol_links.links_of(session, ["s-maple"])[0])
    assert audit_count(district.runtime, "enrol_link.revoke", "ok") == 1


def test_an_unknown_token_is_refused_without_naming_a_link(district: District) -> None:
    new_link(district)
    with pytest.raises(EnrolLinkNotAccepted) as refused:
        redeem(district, "A" * 43)
    assert refused.value.reason == "unknown" and refused.value.audit_ids == {}


@pytest.mark.parametrize(
    ("options", "reason", "words"),
    [
        ({"max_uses": 0}, "bad_uses", "between 1 and 500, not 0"),
        ({"max_uses": 501}, "bad_uses", "not 501"),
        ({"hours": 0}, "bad_hours", "more than 0"),
        ({"hours": 7 * 24 + 1}, "bad_hours", "at most 168 (7 days), not 169"),
        ({"name_prefix": "x" * 101}, "bad_prefix", "1 to 100 characters"),
        ({"school_id": "nowhere"}, "unknown_school", "no active school with id 'nowhere'"),
    ],
)
def test_bad_input_is_refused_with_what_was_wrong_and_audited(
    district: District, options: dict[str, object], reason: str, words: str
) -> None:
    options = dict(options)  # the parameter is shared by the SQLite and PostgreSQL runs
    school = str(options.pop("school_id", "s-maple"))
    with transaction(district.runtime.factory) as session:
        with pytest.raises(EnrolLinkRefused) as refused:
            enrol_links.create_link(session, school, BASE, actor="admin", **options)  # type: ignore[arg-type]
        assert refused.value.reason == reason and words in refused.value.message
        assert enrol_links.links_of(session, None) == []  # nothing written but the audit row
    assert audit_count(district.runtime, "enrol_link.create", "refused") == 1


def test_revoking_an_unknown_or_revoked_link_is_refused_and_audited(district: District) -> None:
    grant = new_link(district)
    with transaction(district.runtime.factory) as session:
        with pytest.raises(EnrolLinkRefused, match="no enrolment link with id 'nope'"):
            enrol_links.revoke_link(session, "nope", actor="admin")
        with pytest.raises(EnrolLinkRefused, match="no enrolment link"):  # another school's, out of scope
            enrol_links.revoke_link(session, grant.link_id, actor="admin", school_ids=["s-lake"])
        enrol_links.revoke_link(session, grant.link_id, actor="admin")
        with pytest.raises(EnrolLinkRefused, match="already revoked"):
            enrol_links.revoke_link(session, grant.link_id, actor="admin")
    assert audit_count(district.runtime, "enrol_link.revoke", "refused") == 3


def test_links_are_listed_per_school(district: District) -> None:
    maple = new_link(district)
    with transaction(district.runtime.factory) as session:
        lake = enrol_links.create_link(session, "s-lake", BASE, actor="admin", max_uses=5)
        assert [link.id for link in enrol_links.links_of(session, ["s-lake"])] == [lake.link_id]
        assert {link.id for link in enrol_links.links_of(session, None)} == {maple.link_id, lake.link_id}
        assert enrol_links.find_link(session, maple.link_id, ["s-lake"]) is None


def test_concurrent_uses_never_exceed_max_uses(district: District) -> None:
    """Twelve Chromebooks open a five-use link at the same moment, each in its own transaction."""
    token = token_of(new_link(district, max_uses=5))
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def chromebook() -> None:
        start.wait()
        try:
            outcomes.append(redeem(district, token).name)
        except EnrolLinkNotAccepted as refused:
            outcomes.append(refused.reason)

    threads = [threading.Thread(target=chromebook) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(o for o in outcomes if o != "used_up") == [f"Chromebook {n}" for n in range(1, 6)]
    assert outcomes.count("used_up") == 7
    with transaction(district.runtime.factory) as session:
        link = session.scalars(select(EnrolLink)).one()
        assert link.uses == 5
        assert len(session.scalars(select(Device).where(Device.name.like("Chromebook %"))).all()) == 5
