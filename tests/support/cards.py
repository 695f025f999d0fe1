"""Badge cards for printing tests: names from every script a roster holds."""

from __future__ import annotations

from datetime import date

from badge_printing import BadgeCard
from badge_server.contract.payload import new_payload

NAMES = [
    "José García",
    "Zoë Müller",
    "Nguyễn Văn An",
    "Аня Иванова",
    "Σοφία Παπαδοπούλου",
    "محمد العلي",
    "נועה כהן",
    "王小明",
    "田中さくら",
    "김민준",
    "Maximilian-Alexander Featherstonehaugh-Worthington",
    "Liam O’Brien",
    "Ava Johnson",
]


def cards(count: int) -> list[BadgeCard]:
    return [
        BadgeCard(
            payload=str(new_payload()),
            name=NAMES[i % len(NAMES)],
            class_name="Kindergarten – Ms. Rivera",
            school="Maple Street Elementary",
            expires=date(2027, 11, 24),
            reference=f"R{i:03d}-1",
            key=str(i),
        )
        for i in range(count)
    ]
