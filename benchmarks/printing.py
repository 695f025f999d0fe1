"""Printing benchmark: time and peak memory for a 30-badge class and a 5,000-badge school.

Run: .venv/bin/python -m benchmarks.printing   (prints a Markdown table row per case)
"""

from __future__ import annotations

import gc
import io
import os
import platform
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date

from badge_printing import BadgeCard, get_template, write_groups_zip, write_sheets
from badge_printing.fonts import ensure_fonts
from badge_server.contract.payload import new_payload

NAMES = ["José García", "Аня Иванова", "محمد العلي", "王小明", "Maximilian-Alexander Featherstonehaugh", "Zoë Müller"]


def cards(count: int) -> Iterator[BadgeCard]:
    for n in range(count):
        yield BadgeCard(
            payload=str(new_payload()),
            name=f"{NAMES[n % len(NAMES)]} {n}",
            class_name="Grade 2 – Room 4",
            school="Maple Street Elementary",
            expires=date(2027, 6, 30),
            reference=f"R{n:05d}-1",
            key=str(n),
        )


def classes(count: int, size: int = 25) -> Iterator[tuple[str, list[BadgeCard]]]:
    source = cards(count)
    for n in range(0, count, size):
        yield f"Class {n // size + 1}", [next(source) for _ in range(min(size, count - n))]


def run_once(count: int, as_list: bool) -> int:
    template = get_template("square-2in-letter")
    with tempfile.TemporaryFile() if not as_list else io.BytesIO() as output:
        if as_list:
            drawn = write_sheets(list(cards(count)), template, output)
        else:  # a school: one PDF per class of 25 in a ZIP, one class in memory at a time
            drawn = write_groups_zip(classes(count), template, output)
        assert drawn == count
        return output.tell()


def measure(label: str, count: int, as_list: bool) -> str:
    # Timed without tracing (tracemalloc slows allocation-heavy code several times over);
    # memory measured in a second, traced run.
    gc.collect()
    started = time.perf_counter()
    size = run_once(count, as_list)
    elapsed = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    run_once(count, as_list)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (
        f"| {label} | {count} | {elapsed:.2f} s | {count / elapsed:.0f} | {peak / 2**20:.1f} MiB | "
        f"{size / 2**20:.1f} MiB |"
    )


def main() -> None:
    ensure_fonts()  # font loading is a one-off per process; not part of a print
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| case | badges | time | badges/s | peak Python memory | PDF size |")
    print("|---|---|---|---|---|---|")
    print(measure("class (cover page, in memory)", 30, as_list=True))
    print(measure("school, 200 classes (ZIP of class PDFs)", 5000, as_list=False))


if __name__ == "__main__":
    main()
