"""Morning rush: sign-ins per second against `badge-server serve`, and their latency.

A sign-in is what a browser scanner makes: exchange the badge (device token), open the launch
link (device cookie) and load the dashboard. The server runs as its own process (1 or several
uvicorn workers) on SQLite or PostgreSQL; the load comes from asyncio + httpx in this process, on
the same machine (so both share its cores: the numbers are a floor for a dedicated server).

Two phases per configuration, bounded in count and time:
- rush: an open loop at a fixed rate (default 40 sign-ins/s; 50,000 students in 10 minutes is 83/s),
  latency from the moment each sign-in was due (so queueing counts);
- saturation: a closed loop with many concurrent scanners, the most the server sustains;
- saturation again with wrk (Debian's C load generator, benchmarks/sign_in.lua) as the scanners:
  the Python generator needs most of a core at these rates, and takes it from the server.

Rate limits stay on (their counters are part of every request's work) with thresholds raised:
this measures capacity, not the throttle.

Run: .venv/bin/python -m benchmarks.load [--postgres] [--workers 1 2] [--seconds 10] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from badge_server import badges, devices
from badge_server.catalog import add_demo_catalog
from badge_server.ops.setup import initialise
from badge_server.roster import import_roster
from badge_server.runtime import Runtime
from badge_server.settings import Settings
from badge_server.store.db import transaction
from badge_server.store.models import Badge

ROOT = Path(__file__).resolve().parents[1]
DEMO_ROSTER = ROOT / "badge_server" / "ops" / "demo_data"
DEVICES = 40


@dataclass
class District:
    env: dict[str, str]
    tokens: list[str]
    payloads: list[str]


def make_district(folder: Path, database_url: str | None) -> District:
    key = __import__("base64").b64encode(os.urandom(32)).decode()
    env = {
        "BADGE_DATA_DIR": str(folder),
        "BADGE_SECRET_KEY": key,
        "BADGE_RATE_PER_BADGE_PER_MINUTE": "1000000",
        "BADGE_RATE_PER_DEVICE_PER_MINUTE": "1000000",
        "BADGE_RATE_PER_ADDRESS_PER_MINUTE": "1000000",
    }
    if database_url:
        env["BADGE_DATABASE_URL"] = database_url
    settings = Settings(
        _env_file=None,
        data_dir=folder,
        database_url=database_url,
        secret_key=key,
    )
    initialise(settings)
    runtime = Runtime.start(settings)
    tokens, payloads = [], []
    import_roster(runtime.factory, DEMO_ROSTER, runtime.keys, settings, actor="bench")
    with transaction(runtime.factory) as session:
        add_demo_catalog(session)
        for badge in session.query(Badge).all():
            payloads.append(str(badges.reprint(session, runtime.keys, badge, actor="bench").payload))
        for n in range(DEVICES):
            school = "s-maple" if n % 2 else "s-lake"
            grant = devices.create_enroll_code(session, school, minutes=5, actor="bench")
            tokens.append(devices.enroll_device(session, grant.code, f"bench {n}", source_ip=None).device_token)
    runtime.engine.dispose()
    return District(env, tokens, payloads)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def start_server(district: District, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")} | district.env
    command = [sys.executable, "-m", "badge_server", "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our own server
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


EXCHANGE_ONLY = False  # --exchange-only: the exchange endpoint alone, as DESIGN.md's budget names it


async def sign_in(client: httpx.AsyncClient, token: str, badge: str) -> bool:
    try:
        if EXCHANGE_ONLY:
            answer = await client.post(
                "/api/v1/exchange", json={"badge": badge}, headers={"Authorization": f"Bearer {token}"}
            )
            return answer.status_code == 200
        return await _sign_in(client, token, badge)
    except httpx.HTTPError:  # a time-out or a refused connection: a failed sign-in, not a crash
        return False


async def _sign_in(client: httpx.AsyncClient, token: str, badge: str) -> bool:
    answer = await client.post("/api/v1/exchange", json={"badge": badge}, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        return False
    code = answer.json()["launch_code"]
    landed = await client.get(f"/launch/{code}", cookies={"badge_device": token}, follow_redirects=False)
    if landed.status_code != 303:
        return False
    session = landed.cookies.get("badge_session")
    dashboard = await client.get("/dashboard", cookies={"badge_session": session or ""})
    return dashboard.status_code == 200 and "Hi, " in dashboard.text


async def rush(url: str, district: District, rate: float, seconds: float) -> tuple[list[float], int, float]:
    """Open loop: a sign-in starts every 1/rate s whether or not earlier ones finished."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def one(due: float) -> None:
            nonlocal failures
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            ok = await sign_in(client, random.choice(district.tokens), random.choice(district.payloads))
            if ok:
                latencies.append(time.perf_counter() - due)
            else:
                failures += 1

        start = time.perf_counter() + 0.2
        count = int(rate * seconds)
        await asyncio.gather(*(one(start + n / rate) for n in range(count)))
        elapsed = time.perf_counter() - start
    return latencies, failures, elapsed


async def saturate(url: str, district: District, concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        end = time.perf_counter() + seconds

        async def scanner() -> None:
            nonlocal failures
            while time.perf_counter() < end:
                began = time.perf_counter()
                if await sign_in(client, random.choice(district.tokens), random.choice(district.payloads)):
                    latencies.append(time.perf_counter() - began)
                else:
                    failures += 1

        start = time.perf_counter()
        await asyncio.gather(*(scanner() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, failures, elapsed


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its worker processes so far (Linux /proc)."""
    total, pending = 0.0, [pid]
    ticks = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else float("nan")


def measured(label: str, pid: int, phase: Coroutine[Any, Any, tuple[list[float], int, float]]) -> str:
    cpu_before = server_cpu_seconds(pid)
    latencies, failures, elapsed = asyncio.run(phase)
    cpu = server_cpu_seconds(pid) - cpu_before
    ms = [v * 1000 for v in latencies]
    per_sign_in = cpu / max(1, len(latencies)) * 1000
    return (
        f"| {label} | {len(latencies) / elapsed:.0f} | {failures} | {percentile(ms, 50):.0f} ms | "
        f"{percentile(ms, 95):.0f} ms | {percentile(ms, 99):.0f} ms | {per_sign_in:.1f} ms |"
    )


def wrk_sign_ins(url: str, district: District, pid: int, workers: int, scanners: int, seconds: float) -> str:
    """The saturation phase with wrk as the scanners (benchmarks/sign_in.lua): a table row."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as badges_file:
        badges_file.write("\n".join(district.payloads) + "\n")
        badges_file.flush()
        env = os.environ | {"BENCH_BADGES": badges_file.name, "BENCH_TOKEN": district.tokens[0]}
        script = str(Path(__file__).with_name("sign_in.lua"))
        command = ["wrk", f"-t{scanners}", f"-c{scanners}", f"-d{seconds:.0f}s", "--latency", "-s", script, url]
        cpu = server_cpu_seconds(pid)
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
        cpu = server_cpu_seconds(pid) - cpu
    done = int(re.search(r"^Sign-ins: (\d+)$", out, re.M)[1])  # type: ignore[index]
    broken = int(re.search(r"^Broken sign-ins: (\d+)$", out, re.M)[1])  # type: ignore[index]
    quantiles = []
    for quantile in ("50", "90", "99"):
        found = re.search(rf"^\s+{quantile}%\s+([\d.]+)(us|ms|s|m)$", out, re.M)
        if found is None:
            raise RuntimeError(f"wrk's output has no {quantile}% latency:\n{out}")
        quantiles.append(float(found[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[found[2]])
    per_sign_in = cpu / max(1, done) * 1000
    p50, p90, p99 = (f"{q:.1f} ms" for q in quantiles)
    return (
        f"| {workers} worker(s), saturation, wrk ({scanners} scanners; latency per request, p90 for p95) | "
        f"{done / seconds:.0f} | "
        f"{broken} | {p50} | {p90} | {p99} | {per_sign_in:.1f} ms |"
    )


def fresh_postgres() -> str:
    base = subprocess.run([str(ROOT / "scripts" / "postgres"), "start"], capture_output=True, text=True, check=True)  # noqa: S603
    url = make_url(base.stdout.strip())
    name = f"badge_bench_{os.getpid()}"
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (scripts/postgres) instead of SQLite")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=40, help="rush rate, sign-ins per second")
    parser.add_argument("--concurrency", type=int, default=16, help="scanners at saturation")
    parser.add_argument(
        "--exchange-only", action="store_true", help="only POST /api/v1/exchange, no launch or dashboard"
    )
    args = parser.parse_args()
    global EXCHANGE_ONLY
    EXCHANGE_ONLY = args.exchange_only
    database = "PostgreSQL 15" if args.postgres else "SQLite (WAL)"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {database}")
    what = "exchanges" if args.exchange_only else "sign-ins"
    print(f"| configuration | {what}/s | failed | p50 | p95 | p99 | server CPU per sign-in |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="badge-load-") as folder:
        district = make_district(Path(folder), fresh_postgres() if args.postgres else None)
        for workers in args.workers:
            process, url = start_server(district, workers)
            try:
                asyncio.run(rush(url, district, 5, 1))  # warm up: connections, caches, first-call imports
                rush_label = f"{workers} worker(s), rush at {args.rate:.0f}/s"
                print(measured(rush_label, process.pid, rush(url, district, args.rate, args.seconds)), flush=True)
                saturation_label = f"{workers} worker(s), saturation ({args.concurrency} scanners)"
                phase = saturate(url, district, args.concurrency, args.seconds)
                print(measured(saturation_label, process.pid, phase), flush=True)
                if shutil.which("wrk") is not None and not EXCHANGE_ONLY:
                    print(wrk_sign_ins(url, district, process.pid, workers, args.concurrency, args.seconds), flush=True)
            finally:
                stop(process)


if __name__ == "__main__":
    main()
