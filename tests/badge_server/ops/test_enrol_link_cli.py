"""``badge-server enrol-link`` as IT scripts it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import select

from badge_server.settings import Settings
from badge_server.store.db import make_engine, make_session_factory, transaction
from badge_server.store.models import AuditEvent
from tests.support.cli import Ran, badge_server
from tests.support.database import DEMO_ROSTER
from tests.support.servers import LoopbackServer

PUBLIC_URL = "https://badges.example.org"


def run(args: list[str], data_dir: Path, env: dict[str, str], *, check: bool = True) -> Ran:
    """``badge-server ARGS`` with only these BADGE_* settings (and the data directory)."""
    done = badge_server(args, {"BADGE_DATA_DIR": str(data_dir), **env})
    if check:
        assert done.returncode == 0, done.stderr
    return done


def audit_outcomes(database_url: str, kind: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            query = select(AuditEvent.outcome).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
            return list(session.scalars(query))
    finally:
        engine.dispose()


def test_create_list_revoke_as_json(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "badge-data"
    env = {"BADGE_DATABASE_URL": database_url, "BADGE_PUBLIC_URL": PUBLIC_URL}
    run(["init"], data_dir, env)
    run(["import-roster", str(DEMO_ROSTER)], data_dir, env)

    made = json.loads(
        run(
            [
                "enrol-link",
                "create",
                "--school",
                "s-maple",
                "--uses",
                "12",
                "--hours",
                "8",
                "--name-prefix",
                "Cart A",
                "--json",
            ],
            data_dir,
            env,
        ).stdout
    )
    assert set(made) == {"link_id", "url", "expires_at", "max_uses"} and made["max_uses"] == 12
    assert made["url"].startswith(f"{PUBLIC_URL}/scan/enrol#") and len(made["url"].split("#")[1]) >= 43

    listed = json.loads(run(["enrol-link", "list", "--json"], data_dir, env).stdout)["links"]
    assert [(r["link_id"], r["state"], r["uses_left"], r["name_prefix"]) for r in listed] == [
        (made["link_id"], "active", 12, "Cart A")
    ]
    assert made["url"].split("#")[1] not in json.dumps(listed)  # shown once, never again

    assert "revoked after 0 uses" in run(["enrol-link", "revoke", made["link_id"]], data_dir, env).stdout
    listed = json.loads(run(["enrol-link", "list", "--json"], data_dir, env).stdout)["links"]
    assert listed[0]["state"] == "revoked" and listed[0]["revoked_at"]
    assert audit_outcomes(database_url, "enrol_link.create") == ["ok"]
    assert audit_outcomes(database_url, "enrol_link.revoke") == ["ok"]


def test_bad_input_says_what_was_wrong_writes_nothing_but_an_audit_row(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "badge-data"
    env = {"BADGE_DATABASE_URL": database_url, "BADGE_PUBLIC_URL": PUBLIC_URL}
    run(["init"], data_dir, env)
    run(["import-roster", str(DEMO_ROSTER)], data_dir, env)
    too_many = run(["enrol-link", "create", "--school", "s-maple", "--uses", "900"], data_dir, env, check=False)
    assert too_many.returncode == 2 and "uses must be between 1 and 500, not 900" in too_many.stderr
    too_long = run(["enrol-link", "create", "--school", "s-maple", "--hours", "200"], data_dir, env, check=False)
    assert too_long.returncode == 2 and "at most 168 (7 days)" in too_long.stderr
    nowhere = run(["enrol-link", "create", "--school", "nowhere"], data_dir, env, check=False)
    assert nowhere.returncode == 2 and "no active school with id 'nowhere'" in nowhere.stderr
    unknown = run(["enrol-link", "revoke", "nope"], data_dir, env, check=False)
    assert unknown.returncode == 2 and "no enrolment link with id 'nope'" in unknown.stderr
    assert "Traceback" not in too_many.stderr + unknown.stderr
    assert json.loads(run(["enrol-link", "list", "--json"], data_dir, env).stdout) == {"links": []}
    assert audit_outcomes(database_url, "enrol_link.create") == ["refused"] * 3
    assert audit_outcomes(database_url, "enrol_link.revoke") == ["refused"]
    no_url = {"BADGE_DATABASE_URL": database_url}
    refused = run(["enrol-link", "create", "--school", "s-maple"], data_dir, no_url, check=False)
    assert refused.returncode == 2 and "set BADGE_PUBLIC_URL" in refused.stderr


def test_a_link_from_the_cli_enrols_over_http(
    tmp_path: Path, database_url: str, settings: Settings, server: LoopbackServer
) -> None:
    data_dir = tmp_path / "cli-data"
    env = {
        "BADGE_DATABASE_URL": database_url,
        "BADGE_PUBLIC_URL": server.url,
        "BADGE_SECRET_KEY": (settings.secret_key.get_secret_value() if settings.secret_key else ""),
    }
    run(["import-roster", str(DEMO_ROSTER)], data_dir, env)
    made = json.loads(run(["enrol-link", "create", "--school", "s-lake", "--json"], data_dir, env).stdout)
    token = made["url"].split("#")[1]
    answer = httpx.post(f"{server.url}/scan/enrol-link", json={"token": token}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Chromebook 1" and answer.json()["school"] == "Lakeview Primary School"
    with httpx.Client(base_url=server.url) as device:
        seen = device.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {answer.json()['device_token']}"})
    assert seen.json()["school_id"] == "s-lake"
    assert audit_outcomes(database_url, "enrol_link.use") == ["ok"]


def test_the_set_up_sheet_is_one_page_whose_qr_code_is_the_link(tmp_path: Path, database_url: str) -> None:
    from kiosk_client.decoder import ZxingDecoder
    from tests.support.pdf import page_count, page_text, rasterise

    data_dir = tmp_path / "badge-data"
    env = {"BADGE_DATABASE_URL": database_url, "BADGE_PUBLIC_URL": PUBLIC_URL}
    run(["init"], data_dir, env)
    run(["import-roster", str(DEMO_ROSTER)], data_dir, env)
    sheet = tmp_path / "cart-3b.pdf"
    made = json.loads(
        run(
            [
                "enrol-link",
                "create",
                "--school",
                "s-maple",
                "--name-prefix",
                "Cart 3B",
                "--sheet",
                str(sheet),
                "--json",
            ],
            data_dir,
            env,
        ).stdout
    )
    pdf = sheet.read_bytes()
    assert page_count(pdf) == 1
    text = page_text(pdf, 0)
    assert "Maple Street Elementary" in text and '"Cart 3B 1"' in text and made["link_id"] in text
    found = ZxingDecoder().decode(rasterise(pdf, 0, 100))
    assert [code.text for code in found] == [made["url"]]
    assert made["url"].split("#")[1] not in text  # only in the QR code, not readable over a shoulder

    nowhere = tmp_path / "missing-folder" / "sheet.pdf"
    failed = run(["enrol-link", "create", "--school", "s-maple", "--sheet", str(nowhere)], data_dir, env, check=False)
    assert failed.returncode == 2 and "cannot write the set-up sheet" in failed.stderr
    assert "Traceback" not in failed.stderr
    listed = json.loads(run(["enrol-link", "list", "--json"], data_dir, env).stdout)["links"]
    assert [r["link_id"] for r in listed] == [made["link_id"]]  # the failed one left no link
