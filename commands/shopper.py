"""Shopper decisions: ``compare --near`` (its options and output live here), ``basket`` and ``watch``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from commands.common import DEFAULT_DB, DbOption, FormatOption, user_errors
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
    from rich.markup import escape
    from rich.table import Table

    from service.nearby import choice_rows

    console = Console(width=None if sys.stdout.isatty() else 100)
    for choice in choices:  # shop texts are data, never markup: titles may hold [brackets]
        title = escape(f"{choice.title} ({choice.product_id})")
        table = Table(title=title, title_justify="left", expand=False)
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
                str(row["rank"]),
                escape(row["where"]),
                row["arrives"],
                f"{row['landed_price']:,.2f}",
                row["pick"],
            )
        console.print(table)
        for name, reason in choice.ranking.reasons.items():
            console.print(f"  {name}: {reason}", highlight=False, soft_wrap=True, markup=False)
    console.print(
        f"best = lowest landed price + ¥{value_of_time}/h × hours to arrival (--value-of-time)", style="dim"
    )


BASKET_EPILOG = """\b
Examples:
  bijia basket P0000012:2 P0000345 P0000678:3
  bijia basket P0000012:6 P0000345 --near 39.9042,116.4074 --radius 3km
Instant-retail stores take part only with --near (and only those that reach you)."""


@app.command(epilog=BASKET_EPILOG)
@user_errors
def basket(
    items: Annotated[
        list[str],
        typer.Argument(
            metavar="PRODUCT[:QTY]...", help="Product ids (see `bijia compare`), each with a quantity."
        ),
    ],
    db: DbOption = DEFAULT_DB,
    near: NearOption = None,
    radius: RadiusOption = None,
    method: Annotated[
        str,
        typer.Option(
            help="exact (integer programme), heuristic (local search) or auto (exact up to 20 products × 10 shops)."
        ),
    ] = "auto",
    fmt: FormatOption = Format.table,
) -> None:
    """The cheapest way to buy several products across shops: shipping once per shop, 包邮 thresholds,
    store and cross-store promotions; the plan per shop and the saving against buying each item at its
    own cheapest offer."""
    from service.basket import basket as plan_basket
    from service.nearby import where

    if method not in ("auto", "exact", "heuristic"):
        raise typer.BadParameter("use exact, heuristic or auto", param_hint="--method")
    place = where(near, radius) if near else None
    plan = plan_basket(db, items, place, method=method)
    if fmt is Format.json:
        typer.echo(dumps(plan.to_dict()))
        return
    rows = [
        {
            "shop": shop["shop"],
            **item,
            "shipping": shop["shipping"],
            "promotions": " ".join(shop["promotions"]),
        }
        for shop in plan.to_dict()["shops"]
        for item in shop["items"]
    ]
    if fmt is Format.csv:
        render(
            rows, ["shop", "product_id", "title", "listing_id", "quantity", "unit_price", "line_total"], fmt
        )
        return
    _print_plan(plan.to_dict())


def _print_plan(plan: dict[str, Any]) -> None:
    """Per shop: what to buy there, its promotions and shipping; then the total and the saving."""
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 100, highlight=False, markup=False)
    for shop in plan["shops"]:  # shop texts are data, never markup (markup=False)
        console.print(f"{shop['shop']}  total ¥{shop['total']}", soft_wrap=True, style="bold")
        for item in shop["items"]:
            console.print(
                f"  {item['quantity']} × {item['title']}  ({item['listing_id']}) ¥{item['unit_price']} → ¥{item['line_total']}",
                soft_wrap=True,
            )
        promos = ", ".join(shop["promotions"]) or "none"
        shipping = "free (" + shop["free_shipping"] + ")" if shop["free_shipping"] else f"¥{shop['shipping']}"
        console.print(
            f"  subtotal ¥{shop['subtotal']}, promotions −¥{shop['promotion_saving']} ({promos}), shipping {shipping}",
            soft_wrap=True,
        )
    for cross in plan["cross_store"]:
        console.print(
            f"{cross['marketplace']} cross-store: −¥{cross['saving']} ({', '.join(cross['promotions'])})",
            soft_wrap=True,
        )
    console.print(
        f"total ¥{plan['total']} — each item at its own cheapest offer: ¥{plan['naive_total']}, "
        f"saving ¥{plan['saving']} ({plan['method']}, {plan['seconds'] * 1000:.0f} ms)",
        soft_wrap=True,
        style="bold",
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


watch_app = typer.Typer(
    help="Watch products: a target price (到价提醒), a real drop, back in stock.", no_args_is_help=True
)
app.add_typer(watch_app, name="watch")


@watch_app.command("add")
@user_errors
def watch_add(
    product_id: Annotated[str, typer.Argument(metavar="PRODUCT", help="Product id (see `bijia compare`).")],
    db: DbOption = DEFAULT_DB,
    below: Annotated[
        str | None,
        typer.Option(metavar="PRICE", help="Alert when its lowest landed price is at or below PRICE (yuan)."),
    ] = None,
    drop: Annotated[
        str | None,
        typer.Option(
            metavar="PERCENT",
            help="Alert when it is PERCENT below its 30-day low (a real discount), e.g. 10%.",
        ),
    ] = None,
    back_in_stock: Annotated[
        bool, typer.Option("--back-in-stock", help="Alert when it can be bought again.")
    ] = False,
    label: Annotated[str | None, typer.Option(help="A note shown with its alerts.")] = None,
) -> None:
    """Watch a product. Each condition alerts once when it becomes true (not at every run while it holds)."""
    from service.watching import watch_add as add

    watch = add(db, product_id, below=below, drop=drop, back_in_stock=back_in_stock, label=label)
    typer.echo(f"watch {watch.watch_id}: {product_id}", err=True)


@watch_app.command("list")
@user_errors
def watch_list(db: DbOption = DEFAULT_DB, fmt: FormatOption = Format.table) -> None:
    """The watchlist, with the conditions that hold now."""
    from service.watching import watch_list as listed

    columns = [
        "watch_id",
        "product_id",
        "title",
        "below",
        "drop_percent",
        "back_in_stock",
        "label",
        "holding",
    ]
    render(listed(db), columns, fmt, title="Watchlist")


@watch_app.command("remove")
@user_errors
def watch_remove(
    watch_id: Annotated[int, typer.Argument(help="The watch's number (see `bijia watch list`).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Stop watching."""
    from service.watching import watch_remove as remove

    remove(db, watch_id)
