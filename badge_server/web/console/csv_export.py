"""CSV downloads from the console (the audit log, the day's report): one way to write them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from fastapi.responses import Response


def safe_cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    # A cell starting with = + - @ is a formula to a spreadsheet; a value from the network or a
    # roster (a device name, a username, a school's name) must not become one on an admin's computer.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A CSV attachment; every cell but numbers goes through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell if isinstance(cell, int) else safe_cell(cell) for cell in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
