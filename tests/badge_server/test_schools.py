"""The admin overview's numbers per school, from one grouped query, against counting row by row."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from badge_server import badges, schools
from badge_server.contract.payload import BadgeKind
from badge_server.store.db import transaction
from badge_server.store.models import Badge, BadgeStatus, Org, Person, RosterRole, SchoolClass
from tests.support.district import District


def counted_one_by_one(session) -> dict[str, tuple[str, bool, int, int, int]]:  # type: ignore[no-untyped-def]
    """(name, active, classes, active students, their active printed badges) by school id."""
    classes = Counter(c.school_id for c in session.scalars(select(SchoolClass)))
    students = {p.id: p.school_id for p in session.scalars(select(Person)) if p.role == RosterRole.STUDENT and p.active}
    active_badges = Counter(
        students[b.person_id]
        for b in session.scalars(select(Badge))
        if b.person_id in students and b.status == BadgeStatus.ACTIVE and b.kind == BadgeKind.BADGE
    )
    return {
        org.id: (org.name, org.active, classes[org.id], Counter(students.values())[org.id], active_badges[org.id])
        for org in session.scalars(select(Org))
        if org.type == "school"
    }


def test_school_counts_match_counting_each_row(district: District) -> None:
    runtime = district.runtime
    with transaction(runtime.factory) as session:
        # What must not be counted: a student who left (with their badge still active), a
        # revoked badge, a temporary code, a teacher; a closed class still counts as a class.
        left = session.get(Person, "st-0003")
        assert left is not None
        left.active = False
        revoked = badges.current_badge(session, "st-0002")
        assert revoked is not None
        badges.revoke(session, revoked, actor="test")
        noah = session.get(Person, "st-0031")
        assert noah is not None
        badges.temporary_code(session, runtime.keys, runtime.settings, noah, actor="test")
        closed = session.get(SchoolClass, "k-lake-pk")
        assert closed is not None
        closed.active = False
        session.add(Org(id="s-empty", name="Aaa Empty School", type="school", active=False))

    with transaction(runtime.factory) as session:
        expected = counted_one_by_one(session)
        found = schools.school_summaries(session, None)
        in_lake = schools.school_summaries(session, ["s-lake"])

    assert {s.id: (s.name, s.active, s.classes, s.students, s.badges) for s in found} == expected
    assert [s.name for s in found] == sorted(name for name, *_ in expected.values())
    assert expected["s-empty"] == ("Aaa Empty School", False, 0, 0, 0)
    assert expected["s-maple"][3:] == (19, 18)  # 20 students, one left; one badge revoked
    assert in_lake == [s for s in found if s.id == "s-lake"]
