"""``bijia rates``: the exchange rates and price settings that comparisons use (stored in the database;
nothing is fetched from the network)."""

from __future__ import annotations

from typing import Annotated

import typer

from commands.common import DEFAULT_DB, DbOption, FormatOption, user_errors
from service.output import Format, render

GROUP = "rates"

app = typer.Typer(
    help="Exchange rates (dated, supplied by you) and the display currency / unknown-shipping settings.",
    no_args_is_help=True,
)


@app.command("set")
@user_errors
def set_rate(
    currency: Annotated[str, typer.Argument(help="Currency converted from, e.g. USD.")],
    quote: Annotated[str, typer.Argument(help="Currency converted into, e.g. CNY.")],
    rate: Annotated[str, typer.Argument(help="How many QUOTE one CURRENCY is worth, e.g. 7.12.")],
    day: Annotated[
        str | None,
        typer.Option("--date", help="The day the rate applies from (YYYY-MM-DD; default today)."),
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Store a rate: 1 CURRENCY = RATE QUOTE from --date on (the inverse converts the other way)."""
    from service.rates import set_rate as store_rate

    stored = store_rate(db, currency, quote, rate, day)
    typer.echo(f"1 {stored.currency} = {stored.rate.normalize()} {stored.quote} from {stored.valid_on}")


@app.command("list")
@user_errors
def list_rates(db: DbOption = DEFAULT_DB, fmt: FormatOption = Format.table) -> None:
    """The stored rates (newest first per pair) and the price settings."""
    from service.rates import rates

    listed, settings = rates(db)
    render(
        [r.__dict__ for r in listed],
        ["currency", "quote", "rate", "valid_on"],
        fmt,
        title=f"Rates (display currency {settings.display_currency}; unknown shipping: {settings.unknown_shipping})",
    )


@app.command("setting")
@user_errors
def setting(
    name: Annotated[str, typer.Argument(help="display_currency or unknown_shipping.")],
    value: Annotated[str, typer.Argument(help="A currency code (CNY) / flag or exclude.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Store a price setting: the display currency, or what the lowest landed price does with an unknown
    shipping fee (flag: rank by price and mark it; exclude: leave the offer out)."""
    from service.rates import set_setting

    settings = set_setting(db, name, value)
    typer.echo(f"display currency {settings.display_currency}; unknown shipping: {settings.unknown_shipping}")
