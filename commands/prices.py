"""``bijia compare`` and ``history``: where a product is cheapest, and how its price moved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from commands.common import DEFAULT_DB, DbOption, FormatOption, user_errors
from commands.shopper import NearOption, RadiusOption, SortOption, ValueOfTimeOption, show_nearby
from service.output import Format, comparison_table, render

app = typer.Typer()


@app.command()
@user_errors
def compare(
    query: Annotated[
        str | None, typer.Argument(help="Words that must occur in a title (e.g. 'iphone 256').")
    ] = None,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many products.")] = 50,
    min_marketplaces: Annotated[
        int, typer.Option(min=1, help="Only products on at least N marketplaces.")
    ] = 2,
    near: NearOption = None,
    radius: RadiusOption = None,
    sort: SortOption = "best",
    value_of_time: ValueOfTimeOption = None,
) -> None:
    """Compare prices: each marketplace's best landed price, the lowest, where, and the saving.

    With --near: each product's offers ranked for a shopper there (stores by distance and delivery time)."""
    if near is not None:
        show_nearby(db, query, fmt, limit, 1, near, radius, sort, value_of_time)
        return
    show_comparison(db, query, fmt, limit, min_marketplaces)


def show_comparison(
    db: Path, query: str | None, fmt: Format, limit: int | None, min_marketplaces: int
) -> int:
    """Print the comparison in ``fmt``; returns how many products it holds."""
    from service.compare import compare as comparison

    result = comparison(db, query, limit=limit, min_marketplaces=min_marketplaces)
    if not result.rows and fmt is Format.table:
        typer.echo("no products match" + (f" {query!r}" if query else ""), err=True)
        return 0
    flat, columns = comparison_table(result.rows, result.marketplaces)
    render(
        flat,
        columns,
        fmt,
        title="Lowest landed price (final price + shipping), CNY",
        json_rows=[r.to_dict() for r in result.rows],
    )
    return len(result.rows)


@app.command()
@user_errors
def history(
    product_id: Annotated[str, typer.Argument(help="Product id (see `bijia compare`).")],
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Only the last N days of observations.")
    ] = None,
) -> None:
    """A product's price history and its "real discount" facts (lowest price in the 30 days before)."""
    from service.compare import history as price_history

    facts, rows = price_history(db, product_id, days=days)
    if fmt is Format.json:
        typer.echo(
            json.dumps({"facts": facts.to_dict(), "history": rows}, ensure_ascii=False, indent=2, default=str)
        )
        return
    if fmt is Format.table:
        f = facts.to_dict()
        typer.echo(
            f"{product_id}: now {f['price_now']} at {f['marketplace']} since {f['since']}; "
            f"30-day low before {f['low_30d']}; all-time low {f['low_all_time']}; "
            f"real discount: {'yes' if facts.is_real_discount else 'no'}",
            err=True,
        )
    render(
        rows,
        [
            "observed_at",
            "marketplace",
            "listing_id",
            "price",
            "final_price",
            "shipping",
            "landed_price",
            "in_stock",
        ],
        fmt,
        title=f"Price history of {product_id}",
    )
