"""The exchange endpoint's throughput and latency, beside a lean reference doing the same work.

Both servers run in the same run, one after the other, on the same SQLite file and uvicorn:
``badge-server serve`` (1 worker) and benchmarks/lean_exchange.py (one Starlette route, raw
sqlite3). Each takes the same loads:
- wrk (a C load generator, Debian's ``wrk``): 2 threads, 16 connections, POST /api/v1/exchange
  for one device over the district's badges: the most each sustains, with wrk's latency;
- wrk again at a fixed offered rate (--rate, default 300/s): 40 connections, each pacing its
  requests with random gaps (exchange.lua), so the generator takes little of the machine;
  latency counted from each request's sending (a late request's wait before it is not);
- Python (asyncio + httpx, benchmarks.load's open loop): a fixed offered rate (default 300/s)
  over 40 devices, latency counted from when each exchange was due, so queueing counts.
The load generator shares the machine's cores with the server; the ratio to the lean reference
is the figure that holds on a noisy machine. Rate limits stay on, thresholds raised.

Run: .venv/bin/python -m benchmarks.exchange [--seconds 10] [--rate 300] [--connections 16]
     .venv/bin/python -m benchmarks.exchange --postgres --workers 1 2   (scaling; no lean reference)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import load

HERE = Path(__file__).resolve().parent
PACED_CONNECTIONS = 40  # as many kiosks as the Python load's devices


def start_lean(district: load.District) -> tuple[subprocess.Popen[bytes], str]:
    port = load.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGE_")} | district.env
    command = [sys.executable, "-m", "uvicorn", "benchmarks.lean_exchange:app", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, env=env, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our own reference
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{url}/api/v1/exchange", json={}, timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("lean reference did not start")


def run_wrk(
    url: str, district: load.District, badges_file: Path, seconds: float, connections: int, rate: float | None = None
) -> dict[str, float]:
    """wrk's figures: requests/s, p50 and p99 in ms, and answers that were not 2xx. With ``rate``,
    each connection paces its requests (exchange.lua) for about that many a second in all."""
    env = os.environ | {"BENCH_BADGES": str(badges_file), "BENCH_TOKEN": district.tokens[0]}
    if rate is not None:
        env["BENCH_PACE_MS"] = f"{connections * 1000 / rate:.1f}"
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "--latency",
        "-s",
        str(HERE / "exchange.lua"),
        url,
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    figures = {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for name, quantile in (("p50", "50"), ("p99", "99")):
        value, unit = re.search(rf"^\s+{quantile}%\s+([\d.]+)(us|ms|s)$", out, re.M).groups()  # type: ignore[union-attr]
        figures[name] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["failed"] = float(failed[1]) if failed else 0.0
    return figures


def postgres_cpu_seconds() -> float:
    """User + system CPU of every PostgreSQL process on this machine so far (Linux /proc): the
    database shares the cores too, which bounds how far more server workers can scale."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(") ")
        except OSError:
            continue
        if name.endswith("(postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(
    label: str,
    process: subprocess.Popen[bytes],
    url: str,
    district: load.District,
    badges_file: Path,
    args: argparse.Namespace,
) -> list[str]:
    asyncio.run(load.rush(url, district, 20, 1))  # warm up: connections, caches, first-call imports
    rows = []
    cpu, database_cpu = load.server_cpu_seconds(process.pid), postgres_cpu_seconds()
    figures = run_wrk(url, district, badges_file, args.seconds, args.connections)
    cpu, database_cpu = load.server_cpu_seconds(process.pid) - cpu, postgres_cpu_seconds() - database_cpu
    exchanges = max(1.0, figures["rate"] * args.seconds)
    per = f"{cpu / exchanges * 1000:.2f} ms"
    if args.postgres:
        per += f" (+ PostgreSQL {database_cpu / exchanges * 1000:.2f} ms)"
    rows.append(
        f"| {label} | wrk, {args.connections} connections | {figures['rate']:.0f} | {figures['failed']:.0f} | "
        f"{figures['p50']:.1f} ms | - | {figures['p99']:.1f} ms | {per} |"
    )
    cpu = load.server_cpu_seconds(process.pid)
    paced = run_wrk(url, district, badges_file, args.seconds, PACED_CONNECTIONS, args.rate)
    cpu = load.server_cpu_seconds(process.pid) - cpu
    rows.append(
        f"| {label} | wrk, {args.rate:.0f}/s offered ({PACED_CONNECTIONS} connections, paced) | {paced['rate']:.0f} | "
        f"{paced['failed']:.0f} | {paced['p50']:.1f} ms | - | {paced['p99']:.1f} ms | "
        f"{cpu / max(1.0, paced['rate'] * args.seconds) * 1000:.2f} ms |"
    )
    rows.append(
        load.measured(
            f"{label} | Python, {args.rate:.0f}/s offered",
            process.pid,
            load.rush(url, district, args.rate, args.seconds),
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=300, help="offered exchanges per second for the latency run")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections")
    parser.add_argument(
        "--postgres", action="store_true", help="PostgreSQL (scripts/postgres); the lean reference is SQLite only"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="badge-server worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (scripts/install --dev installs it)")
    load.EXCHANGE_ONLY = True
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}; {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}")
    print("| server | load | exchanges/s | failed | p50 | p95 | p99 | server CPU per exchange |")
    print("|---|---|---|---|---|---|---|---|")
    rates = {}
    runs = [f"badge-server, {n} worker(s)" for n in args.workers] + ([] if args.postgres else ["lean reference"])
    with tempfile.TemporaryDirectory(prefix="badge-exchange-") as folder:
        district = load.make_district(Path(folder), load.fresh_postgres() if args.postgres else None)
        badges_file = Path(folder) / "badges.txt"
        badges_file.write_text("\n".join(district.payloads) + "\n")
        for label, workers in zip(runs, [*args.workers, 0], strict=False):  # 0: the lean reference
            process, url = load.start_server(district, workers) if workers else start_lean(district)
            try:
                rows = measure(label, process, url, district, badges_file, args)
                rates[label] = float(rows[0].split("|")[3])
                print("\n".join(rows), flush=True)
            finally:
                load.stop(process)
    first = runs[0]
    for label in runs[1:]:
        print(f"\n{first} / {label} (wrk): {rates[first] / rates[label]:.2f}")


if __name__ == "__main__":
    main()
