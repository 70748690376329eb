"""Rendering rows as a rich table, JSON or CSV — the same data in each format."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    title: str | None = None,
    json_rows: Sequence[Any] | None = None,
) -> None:
    """Print ``rows`` (dicts keyed by ``columns``) to stdout. ``json_rows`` overrides the JSON payload."""
    if fmt is Format.json:
        json.dump(
            list(json_rows if json_rows is not None else rows),
            sys.stdout,
            ensure_ascii=False,
            indent=2,
            default=str,
        )
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for column in columns:
            table.add_column(
                column,
                overflow="fold",
                justify="right" if column.endswith(("price", "saving", "¥")) else "left",
            )
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        Console(width=None if sys.stdout.isatty() else 200).print(table)


def comparison_table(rows: Sequence[Any], marketplaces: Sequence[str]) -> tuple[list[dict], list[str]]:
    """Flatten ``storage.working_queries.ComparisonRow``s: product, one column per marketplace, lowest, where, saving."""
    columns = ["product_id", "product", *marketplaces, "lowest_price", "where", "saving"]
    flat = []
    for row in rows:
        prices = {b.marketplace: b.landed_price for b in row.best}
        flat.append(
            {
                "product_id": row.product_id,
                "product": row.title,
                **{m: prices.get(m) for m in marketplaces},
                "lowest_price": row.lowest.landed_price,
                "where": row.lowest.marketplace,
                "saving": row.saving,
            }
        )
    return flat, columns
