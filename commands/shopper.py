"""Shopper decisions: ``compare --near`` (its options and output live here), ``basket`` and ``watch``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from service.output import Format, render

app = typer.Typer()

NearOption = Annotated[
    str | None,
    typer.Option(
        "--near",
        metavar="LAT,LNG",
        help="Rank each product's offers for a shopper here (degrees, e.g. 39.9042,116.4074): distance to "
        "stores, arrival time, the cheapest / fastest / best pick with a reason.",
    ),
]
RadiusOption = Annotated[
    str | None,
    typer.Option(
        "--radius",
        metavar="DISTANCE",
        help="With --near: only stores this close (3km, 800m); default each store's own radius.",
    ),
]
SortOption = Annotated[
    str,
    typer.Option(
        "--sort",
        metavar="price|arrival|best",
        help="With --near: order offers by landed price, arrival time, or best.",
    ),
]
ValueOfTimeOption = Annotated[
    str | None,
    typer.Option(
        "--value-of-time",
        metavar="YUAN_PER_HOUR",
        help="With --near: what an hour of waiting saved is worth to you; decides the best pick (default ¥2/h).",
    ),
]


def show_nearby(
    db: Path,
    query: str | None,
    fmt: Format,
    limit: int,
    min_marketplaces: int,
    near: str,
    radius: str | None,
    sort: str,
    value_of_time: str | None,
) -> int:
    """Print each product's offers ranked for a place; returns how many products."""
    from service.nearby import choice_rows, compare_near, where

    place = where(near, radius, sort, value_of_time)
    choices = compare_near(db, query, place, limit=limit, min_marketplaces=min_marketplaces)
    if not choices:
        typer.echo(
            f"no product{f' matching {query!r}' if query else ''} can be bought near {place.at}", err=True
        )
        return 0
    if fmt is Format.json:
        render([], [], fmt, json_rows=[c.to_dict() for c in choices])
    elif fmt is Format.csv:
        rows = choice_rows(choices)
        render(rows, [k for k in rows[0] if k != "where"], fmt)
    else:
        _print_choices(choices, place.value_of_time)
    return len(choices)


def _print_choices(choices: list[Any], value_of_time: Any) -> None:
    """Per product: its ranked offers (80 columns) and one line per pick."""
    from rich.console import Console
    from rich.table import Table

    from service.nearby import choice_rows

    console = Console(width=None if sys.stdout.isatty() else 100)
    for choice in choices:
        table = Table(title=f"{choice.title} ({choice.product_id})", title_justify="left", expand=False)
        for column, justify in (
            ("#", "right"),
            ("where", "left"),
            ("arrives", "left"),
            ("landed ¥", "right"),
            ("pick", "left"),
        ):
            table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for row in choice_rows([choice]):
            table.add_row(
                str(row["rank"]), row["where"], row["arrives"], f"{row['landed_price']:,.2f}", row["pick"]
            )
        console.print(table)
        for name, reason in choice.ranking.reasons.items():
            console.print(f"  {name}: {reason}", highlight=False, soft_wrap=True)
    console.print(
        f"best = lowest landed price + ¥{value_of_time}/h × hours to arrival (--value-of-time)", style="dim"
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
