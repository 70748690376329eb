"""Rendering rows as a table that fits the terminal, JSON, CSV (Excel-ready on request) or an Excel
workbook — the same data in each format.

A table too wide for the terminal drops its least important columns (named on stderr) rather than
squeezing every column into a few characters; the widest text column is shortened with an ellipsis.
CSV cells that begin with ``=``, ``+``, ``-``, ``@`` (or a tab/CR) are prefixed with ``'`` so that a
spreadsheet shows them as text instead of running them as formulas; ``excel=True`` adds the UTF-8 BOM
that makes Excel read Chinese as UTF-8.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from service.errors import UserError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
MIN_TEXT_WIDTH = 14
NUMERIC_SUFFIXES = ("price", "saving", "shipping", "landed", "low", "high", "rate", "¥")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def guard_formula(text: str) -> str:
    """``=1+2`` → ``'=1+2``: a spreadsheet shows the cell as text instead of evaluating it."""
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    title: str | None = None,
    json_rows: Sequence[Any] | None = None,
    excel: bool = False,
    keep: Sequence[str] = (),
    output: Path | None = None,
) -> None:
    """Write ``rows`` (dicts keyed by ``columns``) to stdout or ``output``. ``json_rows`` overrides the JSON
    payload; ``keep``: the table's columns in the order they are dropped last (the rest go first, from the
    right) when the terminal is too narrow."""
    if fmt is Format.xlsx:
        write_xlsx(rows, columns, _binary_target(output), title=title)
        return
    with _text_target(output, excel and fmt is Format.csv) as out:
        if fmt is Format.json:
            payload = list(json_rows if json_rows is not None else rows)
            json.dump(payload, out, ensure_ascii=False, indent=2, default=_json_default)
            out.write("\n")
        elif fmt is Format.csv:
            write_csv(rows, columns, out)
        else:
            print_table(rows, columns, title=title, keep=keep, out=out)


def write_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([guard_formula(cell_text(row.get(c))) for c in columns])


def write_xlsx(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], target: IO[bytes], *, title: str | None = None
) -> None:
    """One sheet: a bold header row, numbers as numbers, times in local time, widths to fit."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = (title or "bijia")[:31].translate(str.maketrans("[]:*?/\\", "       "))
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_xlsx_value(row.get(c)) for c in columns])
    for n, column in enumerate(columns, start=1):
        width = max([len(column), *(len(cell_text(r.get(column))) for r in rows[:200])])
        sheet.column_dimensions[sheet.cell(1, n).column_letter].width = min(60, width + 2)
    sheet.freeze_panes = "A2"
    book.save(target)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone().replace(tzinfo=None)
    if isinstance(value, str):
        return guard_formula(value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


class _text_target:  # noqa: N801 (a context manager used like open())
    def __init__(self, output: Path | None, bom: bool) -> None:
        self.output, self.bom = output, bom
        self.handle: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        self.handle = open(self.output, "w", encoding="utf-8", newline="") if self.output else sys.stdout
        if self.bom:
            self.handle.write(BOM)
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.output and self.handle is not None:
            self.handle.close()


def _binary_target(output: Path | None) -> IO[bytes]:
    if output is not None:
        return open(output, "wb")
    if sys.stdout.isatty():
        raise UserError("an Excel workbook is binary: give --output FILE.xlsx (or redirect stdout)")
    return sys.stdout.buffer


def terminal_width() -> int:
    """``COLUMNS`` or the terminal's width; 200 when stdout is not a terminal."""
    return shutil.get_terminal_size((200, 24)).columns


def fit_columns(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], width: int, keep: Sequence[str] = ()
) -> tuple[list[str], list[str], dict[str, int]]:
    """(columns shown, columns dropped, shown widths): drop columns until the table fits ``width``, the
    least important first (those not in ``keep`` from the right, then ``keep`` from its end); the widest
    text column may shrink to ``MIN_TEXT_WIDTH``."""
    from rich.cells import cell_len

    natural = {c: max([cell_len(c), *(cell_len(cell_text(r.get(c))) for r in rows)]) for c in columns}
    order = [c for c in reversed(columns) if c not in keep] + [c for c in reversed(keep) if c in columns]
    shown, dropped = list(columns), []

    def needed(cols: list[str]) -> int:
        text = max((c for c in cols if not _numeric(c)), key=lambda c: natural[c], default=None)
        base = sum(natural[c] for c in cols) + 3 * len(cols) + 1
        return base - (max(0, natural[text] - MIN_TEXT_WIDTH) if text else 0)

    for column in order:
        if needed(shown) <= width or len(shown) <= 2:
            break
        shown.remove(column)
        dropped.append(column)
    widths = dict(natural)
    overflow = sum(natural[c] for c in shown) + 3 * len(shown) + 1 - width
    text = max((c for c in shown if not _numeric(c)), key=lambda c: natural[c], default=None)
    if overflow > 0 and text:
        widths[text] = max(MIN_TEXT_WIDTH, natural[text] - overflow)
    return shown, dropped, {c: widths[c] for c in shown}


def _numeric(column: str) -> bool:
    return column.endswith(NUMERIC_SUFFIXES) or column.isupper()


def print_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    keep: Sequence[str] = (),
    out: IO[str] | None = None,
) -> None:
    from rich.console import Console
    from rich.table import Table

    width = terminal_width()
    shown, dropped, widths = fit_columns(rows, columns, width, keep)
    table = Table(title=title, show_lines=False, title_justify="left")
    for column in shown:
        table.add_column(
            column,
            no_wrap=True,
            overflow="ellipsis",
            max_width=widths[column],
            justify="right" if _numeric(column) else "left",
        )
    for row in rows:
        table.add_row(*(cell_text(row.get(c)) for c in shown))
    target = out or sys.stdout
    Console(file=target, width=width, highlight=False).print(table)
    target.flush()
    if dropped:
        sys.stderr.write(
            f"(not shown for the {width}-column terminal: {', '.join(dropped)}; widen it, pick with "
            "--columns, or use --format csv|json)\n"
        )
