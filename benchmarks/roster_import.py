"""Roster import at district scale: how long a 50,000-student OneRoster import takes, and what
kiosks see meanwhile (exchange latency while a second import runs), on either database.

    python -m benchmarks roster_import [--students 50000] [--postgres URL] [--rate 40]

A synthetic district: ``--students`` students in schools of 500 (classes of 25, one teacher
each). The first import creates everyone and issues their badges; the second changes 2% of the
names (what a nightly export brings), and the third brings 10% more students (a new school year:
their badges are issued), each while an open loop of kiosk exchanges runs against a server.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from badge_server import badges, devices
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import Badge, Person
from benchmarks import load

GRADES = ("PK", "KG", "01", "02", "03", "04", "05")


def write_roster(folder: Path, students: int, *, renamed_share: float = 0.0) -> None:
    """A OneRoster 1.1 bulk export of a synthetic district; ``renamed_share`` of students renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    schools = max(1, students // 500)
    rows = {
        "orgs.csv": [["sourcedId", "name", "type", "parentSourcedId"], ["d-1", "Synthetic District", "district", ""]],
        "users.csv": [
            ["sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName", "grades"]
        ],
        "classes.csv": [["sourcedId", "title", "schoolSourcedId"]],
        "enrollments.csv": [["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"]],
    }
    every = int(1 / renamed_share) if renamed_share else 0
    for s in range(schools):
        school = f"s-{s}"
        rows["orgs.csv"].append([school, f"School {s}", "school", "d-1"])
        for c in range(20):
            klass, teacher = f"c-{s}-{c}", f"t-{s}-{c}"
            rows["classes.csv"].append([klass, f"Class {c} – Teacher {s}.{c}", school])
            rows["users.csv"].append([teacher, "true", school, "teacher", teacher, "Teacher", f"{s}.{c}", ""])
            rows["enrollments.csv"].append([f"e-{teacher}", klass, school, teacher, "teacher"])
            for k in range(25):
                n = (s * 20 + c) * 25 + k
                if n >= students:
                    break
                student = f"st-{n}"
                family = f"Family{n}" + ("-Renamed" if every and n % every == 0 else "")
                rows["users.csv"].append(
                    [student, "true", school, "student", student, f"Kid{n}", family, GRADES[c % 7]]
                )
                rows["enrollments.csv"].append([f"e-{student}", klass, school, student, "student"])
    for name, table in rows.items():
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(table)


def timed_import(env: dict[str, str], folder: Path) -> float:
    started = time.perf_counter()
    # The demo district the benchmark's kiosks use is not in the synthetic export: confirm it goes.
    subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "badge_server", "import-roster", "--allow-mass-deactivation", str(folder)],
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def kiosks_of(district: load.District, data_dir: Path, database_url: str | None) -> load.District:
    """The benchmark's kiosks, now in the synthetic district: 40 devices and 500 students' badges."""
    settings = Settings(
        _env_file=None, data_dir=data_dir, database_url=database_url, secret_key=district.env["BADGE_SECRET_KEY"]
    )
    runtime = Runtime.start(settings)
    with transaction(runtime.factory) as session:
        chosen = session.scalars(
            select(Badge).join(Person).where(Badge.status == "active", Person.active.is_(True)).limit(500)
        ).all()
        payloads = [str(badges.reprint(session, runtime.keys, badge, actor="bench").payload) for badge in chosen]
        tokens = []
        for n in range(40):
            grant = devices.create_enroll_code(session, f"s-{n % 4}", minutes=5, actor="bench")
            tokens.append(devices.enroll_device(session, grant.code, f"kiosk {n}", source_ip=None).device_token)
    runtime.engine.dispose()
    return load.District(district.env, tokens, payloads)


async def exchanges_until(
    url: str, district: load.District, rate: float, importing: subprocess.Popen[bytes]
) -> tuple[list[float], Counter[str]]:
    """Open loop: a kiosk exchange every 1/rate s until the import ends; latency from when it was due."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def one(due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            token, payload = random.choice(district.tokens), random.choice(district.payloads)
            try:
                answer = await client.post(
                    "/api/v1/exchange", json={"badge": payload}, headers={"Authorization": f"Bearer {token}"}
                )
                outcome = "ok" if answer.status_code == 200 else f"{answer.status_code} {answer.text[:80]}"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if outcome == "ok":
                latencies.append(time.perf_counter() - due)
            else:
                errors[outcome] += 1

        tasks, due = [], time.perf_counter() + 0.2
        while importing.poll() is None:
            tasks.append(asyncio.create_task(one(due)))
            due += 1 / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await asyncio.gather(*tasks)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (an empty database) instead of SQLite")
    parser.add_argument("--rate", type=float, default=40, help="kiosk exchanges a second during the second import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as scratch:
        root = Path(scratch)
        district = load.make_district(root / "data", args.postgres)
        first, second, third = root / "first", root / "second", root / "third"
        grown = args.students + max(500, args.students // 10)
        write_roster(first, args.students)
        write_roster(second, args.students, renamed_share=0.02)
        write_roster(third, grown, renamed_share=0.02)
        print(
            f"{platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
            f"{'PostgreSQL' if args.postgres else 'SQLite'}, {args.students} students"
        )
        print(f"first import (everyone new, badges issued): {timed_import(district.env, first):.1f} s")
        district = kiosks_of(district, root / "data", args.postgres)
        server, url = load.start_server(district, workers=1)
        try:
            measured = [
                ("second import (2% renamed)", second, during_import(url, district, second, args.rate)),
                # New students, as a new school year brings: their badges are issued, 200 a transaction.
                (f"third import ({grown - args.students} new students, badges issued)", third,
                 during_import(url, district, third, args.rate)),
            ]  # fmt: skip
        finally:
            load.stop(server)
        for label, _folder, (took, latencies, errors) in measured:
            print(f"{label} while kiosks sign in: {took:.1f} s")
            for outcome, count in errors.most_common():
                print(f"  {count} exchanges failed: {outcome}")
            if not latencies:
                continue
            ordered = [seconds * 1000 for seconds in sorted(latencies)]
            p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
            print(
                f"  exchanges meanwhile: {len(ordered)} ok, {sum(errors.values())} failed; "
                f"p50 {statistics.median(ordered):.0f} ms, p99 {p99:.0f} ms, max {ordered[-1]:.0f} ms"
            )


def during_import(
    url: str, district: load.District, folder: Path, rate: float
) -> tuple[float, list[float], Counter[str]]:
    """Kiosk exchanges at ``rate`` while ``import-roster folder`` runs: its time, their latencies and failures."""
    importing = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "badge_server", "import-roster", str(folder)],
        env={**os.environ, **district.env},
        stdout=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    latencies, errors = asyncio.run(exchanges_until(url, district, rate, importing))
    if importing.wait() != 0:
        errors[f"the import failed (exit {importing.returncode})"] += 1
    return time.perf_counter() - started, latencies, errors


if __name__ == "__main__":
    main()
