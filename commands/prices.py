"""``bijia compare``, ``show`` and ``history``: where a product is cheapest, every offer of one product, and
how its price moved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from commands.common import DEFAULT_DB, DbOption, FormatOption, user_errors
from commands.shopper import NearOption, RadiusOption, SortOption, ValueOfTimeOption, show_nearby
from service.errors import UserError
from service.output import Format, render

app = typer.Typer()

CurrencyOption = Annotated[
    str | None,
    typer.Option(
        "--currency",
        envvar="BIJIA_CURRENCY",
        help="Display currency (default: the stored setting, CNY). Rates: `bijia rates set`.",
    ),
]
UnknownShippingOption = Annotated[
    str | None,
    typer.Option(
        "--unknown-shipping",
        help="Offers whose shipping fee is unknown: 'flag' (ranked by price, marked +?) or 'exclude' "
        "(not ranked). Default: the stored setting (flag).",
    ),
]
ProductIdArgument = Annotated[str, typer.Argument(help="Product id (see `bijia compare`).")]
ExcelOption = Annotated[
    bool, typer.Option("--excel", help="CSV for Excel: a UTF-8 BOM so that Chinese shows right.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file instead of stdout (needed for xlsx)."),
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Comma-separated columns to show, in order (default: all that fit the terminal; see --format json "
        "for every field).",
    ),
]


def pick_columns(columns: list[str], wanted: str | None) -> list[str]:
    if not wanted:
        return columns
    chosen = [c.strip() for c in wanted.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in columns]
    if unknown:
        raise UserError(f"--columns: no column {', '.join(unknown)} (columns: {', '.join(columns)})")
    return chosen


@app.command()
@user_errors
def compare(
    query: Annotated[
        str | None,
        typer.Argument(
            help="What to find: words of a title (e.g. 'iphone 256', '华为 mate'), a brand or category in "
            "either language, a GTIN/EAN/UPC or a model number. Most relevant first."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many products.")] = 50,
    min_marketplaces: Annotated[
        int | None,
        typer.Option(min=1, help="Only products on at least N marketplaces (default 2; 1 with a query)."),
    ] = None,
    columns: ColumnsOption = None,
    currency: CurrencyOption = None,
    unknown_shipping: UnknownShippingOption = None,
    excel: ExcelOption = False,
    output: OutputOption = None,
    near: NearOption = None,
    radius: RadiusOption = None,
    sort: SortOption = "best",
    value_of_time: ValueOfTimeOption = None,
) -> None:
    """Compare prices: each marketplace's best landed price (price after coupon + shipping), the lowest,
    where, the saving and whether it is a real discount. `+?` marks an unknown shipping fee.

    With --near: each product's offers ranked for a shopper there (stores by distance and delivery time)."""
    if near is not None:
        show_nearby(db, query, fmt, limit, 1, near, radius, sort, value_of_time)
        return
    show_comparison(
        db, query, fmt, limit, min_marketplaces, columns, currency, unknown_shipping, excel, output
    )


def show_comparison(
    db: Path,
    query: str | None,
    fmt: Format,
    limit: int | None,
    min_marketplaces: int | None,
    columns: str | None = None,
    currency: str | None = None,
    unknown_shipping: str | None = None,
    excel: bool = False,
    output: Path | None = None,
) -> list[str]:
    """Print the comparison in ``fmt``; returns its product ids."""
    from service.compare import compare as comparison
    from service.tables import COMPARE_KEEP, comparison_table

    result = comparison(
        db,
        query,
        limit=limit,
        min_marketplaces=min_marketplaces,
        currency=currency,
        unknown_shipping=unknown_shipping,
    )
    if not result.rows and fmt is Format.table:
        typer.echo("no products match" + (f" {query!r}" if query else ""), err=True)
        return []
    flat, all_columns = comparison_table(result.rows, result.marketplaces, text=fmt is Format.table)
    display = result.display
    rates = display.rates_note()
    render(
        flat,
        pick_columns(all_columns, columns),
        fmt,
        title=f"Lowest landed price (券后价 + shipping), {display.currency}"
        + (f"; rates {rates}" if rates else ""),
        json_rows=[r.to_dict() for r in result.rows],
        excel=excel,
        keep=COMPARE_KEEP,
        output=output,
    )
    return [r.product_id for r in result.rows]


@app.command()
@user_errors
def show(
    product_id: ProductIdArgument,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    columns: ColumnsOption = None,
    currency: CurrencyOption = None,
    unknown_shipping: UnknownShippingOption = None,
    excel: ExcelOption = False,
    output: OutputOption = None,
) -> None:
    """One product with every offer: price, 券后价, shipping, landed price, stock, delivery time,
    store/seller, distance (instant retail), each offer's 30-day reference price, and a history summary."""
    from service.compare import show as product_view
    from service.tables import (
        OFFER_COLUMNS,
        OFFER_KEEP,
        facts_line,
        history_summary,
        offer_rows,
        product_json,
    )

    view = product_view(db, product_id, currency=currency, unknown_shipping=unknown_shipping)
    rows = offer_rows([*view.offers, *view.apart], view.offer_facts)
    if fmt is Format.json:
        render([], [], fmt, json_rows=[product_json(view)], output=output)
        return
    if fmt is Format.table:
        typer.echo(f"{view.product_id}  {view.title}" + (f"  ({view.brand})" if view.brand else ""))
        typer.echo(f"price: {facts_line(view.facts, view.display.currency)}")
        typer.echo(f"history (30 days): {history_summary(view.days)}")
        if view.apart:
            typer.echo(
                f"{len(view.apart)} offer(s) not ranked: no rate into {view.display.currency} or shipping unknown"
            )
    render(
        rows,
        pick_columns(OFFER_COLUMNS, columns),
        fmt,
        title=f"Offers ({view.display.currency}: display_price ranks them; +? shipping unknown)",
        excel=excel,
        keep=OFFER_KEEP,
        output=output,
    )


@app.command()
@user_errors
def history(
    product_id: ProductIdArgument,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    days: Annotated[int | None, typer.Option(min=1, max=3650, help="Only the last N days.")] = None,
    currency: CurrencyOption = None,
    excel: ExcelOption = False,
    output: OutputOption = None,
) -> None:
    """A product's price history by day and marketplace (local time), and its reference price: the lowest
    price in the 30 days before the current price took effect ("real discount" when below it)."""
    from service.compare import history as price_history
    from service.tables import HISTORY_COLUMNS, facts_line, history_summary

    view = price_history(db, product_id, days=days, currency=currency)
    if fmt is Format.json:
        typer.echo(
            json.dumps(
                {
                    "facts": view.facts.to_dict() if view.facts else None,
                    "currency": view.display.currency,
                    "days": view.days,
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return
    if fmt is Format.table:
        typer.echo(f"{product_id}: {facts_line(view.facts, view.display.currency)}")
        typer.echo(f"history: {history_summary(view.days)}")
    render(
        view.days,
        HISTORY_COLUMNS,
        fmt,
        title=f"Price history of {product_id} by day (券后价 in each offer's currency; local time)",
        excel=excel,
        keep=("day", "marketplace", "low"),
        output=output,
    )
