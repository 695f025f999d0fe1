"""The app catalog: which tiles a student sees on the dashboard."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from badge_server.models import App, Person

# A few well-known learning apps for the demo district. Schools edit their own catalog.
DEMO_APPS: tuple[dict[str, object], ...] = (
    {
        "id": "khan-kids",
        "name": "Khan Academy Kids",
        "launch_url": "https://learn.khanacademy.org/khan-academy-kids/",
        "color": "#1865f2",
    },
    {
        "id": "starfall",
        "name": "Starfall",
        "launch_url": "https://www.starfall.com/h/",
        "color": "#f4a300",
        "grades": ["PK", "TK", "KG", "01", "02"],
    },
    {"id": "pbs-kids", "name": "PBS KIDS Games", "launch_url": "https://pbskids.org/games", "color": "#2638c4"},
    {
        "id": "epic",
        "name": "Epic Books",
        "launch_url": "https://www.getepic.com/",
        "color": "#00a0a0",
        "grades": ["KG", "01", "02", "03", "04", "05"],
    },
    {
        "id": "code-org",
        "name": "Code.org",
        "launch_url": "https://studio.code.org/courses",
        "color": "#8a4fb0",
        "grades": ["02", "03", "04", "05"],
    },
    {
        "id": "scratch",
        "name": "Scratch",
        "launch_url": "https://scratch.mit.edu/projects/editor/",
        "color": "#e07b00",
        "grades": ["03", "04", "05"],
    },
)


def apps_for(session: Session, person: Person) -> list[App]:
    """Active apps whose role, grade and school lists include this person (empty list = all)."""
    apps = session.scalars(select(App).where(App.active.is_(True)).order_by(App.position, App.name)).all()
    return [
        app
        for app in apps
        if (not app.roles or person.role in app.roles)
        and (not app.grades or (person.grade or "") in app.grades)
        and (not app.school_ids or (person.school_id or "") in app.school_ids)
    ]


def add_demo_catalog(session: Session) -> None:
    """Put the demo apps in the catalog (only those not already there)."""
    for position, spec in enumerate(DEMO_APPS):
        if session.get(App, spec["id"]) is None:
            session.add(App(position=position, **spec))
