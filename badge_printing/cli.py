"""``badge-print``: badge sheets from a CSV, for districts that keep their badges elsewhere."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import click

from badge_printing.card import SHAPES, BadgeCard, name_sort_key
from badge_printing.errors import CardFileError, FontsMissing, LayoutError, TemplateError
from badge_printing.glabels import read_glabels
from badge_printing.sheets import PrintOptions, render_calibration, write_sheets
from badge_printing.templates import BUILT_IN, get_template

REQUIRED = ("name", "payload")
OPTIONAL = ("class", "school", "expires", "reference", "initial", "color", "shape")
MAX_PAYLOAD = 512


def read_cards(path: Path) -> list[BadgeCard]:
    """Every card in the CSV, or one error listing every bad row (nothing is printed half)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardFileError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8") from None
    rows = list(csv.DictReader(text.splitlines()))
    header = list(rows[0].keys()) if rows else next(csv.reader(text.splitlines()), [])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CardFileError(f"{path}, line 1: missing column(s) {', '.join(missing)}; needed: name, payload")
    problems, cards = [], []
    for line, row in enumerate(rows, start=2):
        values = {k: (v or "").strip() for k, v in row.items() if k}
        for column in REQUIRED:
            if not values.get(column):
                problems.append(f"{path}, line {line}, column {column}: value is required but empty")
        if len(values.get("payload", "")) > MAX_PAYLOAD:
            problems.append(f"{path}, line {line}, column payload: longer than {MAX_PAYLOAD} characters")
        if values.get("shape") and values["shape"] not in SHAPES:
            problems.append(f"{path}, line {line}, column shape: {values['shape']!r} is not one of {', '.join(SHAPES)}")
        expires = None
        if values.get("expires"):
            try:
                expires = date.fromisoformat(values["expires"])
            except ValueError:
                problems.append(f"{path}, line {line}, column expires: {values['expires']!r} is not a YYYY-MM-DD date")
        if problems:
            continue
        cards.append(
            BadgeCard(
                payload=values["payload"],
                name=values["name"],
                initial=values.get("initial", ""),
                class_name=values.get("class", ""),
                school=values.get("school", ""),
                expires=expires,
                reference=values.get("reference", ""),
                color=values.get("color", ""),
                shape=values.get("shape", ""),
                key=values["payload"],
            )
        )
    if problems:
        raise CardFileError("\n".join(problems))
    if not cards:
        raise CardFileError(f"{path}: no cards (the file has a header but no rows)")
    return sorted(cards, key=lambda c: name_sort_key(c.name))


@click.command()
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Cards: columns name, payload and optionally " + ", ".join(OPTIONAL) + ".",
)
@click.option("--template", "template_name", default="square-2in-letter", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="PDF to write.")
@click.option("--list-templates", is_flag=True, help="List the built-in templates and exit.")
@click.option("--calibration", is_flag=True, help="Write the template's calibration page instead of badges.")
@click.option("--offset-x", type=float, default=0.0, help="Move everything right by this many mm.")
@click.option("--offset-y", type=float, default=0.0, help="Move everything down by this many mm.")
@click.option("--cut-marks/--no-cut-marks", default=None, help="Default: only on plain-paper templates.")
@click.option(
    "--glabels",
    "glabels_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Take the template from this gLabels template file; --template names the part.",
)
@click.option("--title", default="Badges", show_default=True)
def main(
    csv_path: Path | None,
    template_name: str,
    output: Path | None,
    list_templates: bool,
    calibration: bool,
    offset_x: float,
    offset_y: float,
    cut_marks: bool | None,
    glabels_file: Path | None,
    title: str,
) -> None:
    """Print badge sheets from a CSV of names and QR payloads."""
    if list_templates:
        for template in BUILT_IN.values():
            click.echo(f"{template.name:20} {template.per_sheet:2} per sheet  {template.description}")
            click.echo(f"{'':20} source: {template.source}")
        return
    if output is None:
        raise click.UsageError("give -o FILE.pdf")
    try:
        template = read_glabels(glabels_file, template_name) if glabels_file else get_template(template_name)
        options = PrintOptions(offset_x_mm=offset_x, offset_y_mm=offset_y, cut_marks=cut_marks, title=title)
        if calibration:
            output.write_bytes(render_calibration(template, options))
            click.echo(f"calibration page for {template.name} written to {output}")
            return
        if csv_path is None:
            raise click.UsageError("give --csv FILE (or --calibration, or --list-templates)")
        cards = read_cards(csv_path)
        partial = output.with_name(output.name + ".partial")
        with partial.open("wb") as handle:
            count = write_sheets(cards, template, handle, options)
        partial.replace(output)  # never leave a half-written PDF under the real name
    except (CardFileError, TemplateError, LayoutError, FontsMissing) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{count} badges on {template.name} written to {output}")
