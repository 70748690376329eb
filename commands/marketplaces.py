"""``bijia marketplaces list|add|check``: the shops in a marketplaces file."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal

import typer

from commands.common import ConfigOption, FormatOption, user_errors
from service.errors import ExitCode, UserError
from service.output import Format, render

GROUP = "marketplaces"
app = typer.Typer(help="List, add and check the shops in a marketplaces file.", no_args_is_help=True)
TimeoutOption = Annotated[
    float, typer.Option(min=0.5, max=120, help="Seconds to wait for each HTTP request.")
]

ShapeChoice = Literal["auto", "jsonld", "shopify", "woocommerce", "browser", "instant"]


@app.command("list")
@user_errors
def marketplaces_list(config: ConfigOption = None, fmt: FormatOption = Format.table) -> None:
    """The marketplaces of the file (disabled ones too): shape, URL, currency, politeness, discovery."""
    from service.marketplaces import LIST_COLUMNS, list_marketplaces

    render(list_marketplaces(config), LIST_COLUMNS, fmt, title="Marketplaces")


@app.command("add")
@user_errors
def marketplaces_add(
    url: Annotated[
        str, typer.Argument(help="The shop's base URL (or a category page of a schema.org shop).")
    ],
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            envvar="BIJIA_MARKETPLACES",
            help="Marketplaces TOML file to append to (created if missing).",
        ),
    ] = Path("marketplaces.toml"),
    name: Annotated[str | None, typer.Option(help="Marketplace name (default: from the URL).")] = None,
    shape: Annotated[ShapeChoice, typer.Option(help="The shop's shape; auto probes it.")] = "auto",
    title: Annotated[str | None, typer.Option(help="Display name.")] = None,
    currency: Annotated[
        str | None, typer.Option(help="ISO 4217 currency when the shop does not say (default CNY).")
    ] = None,
    start_url: Annotated[
        list[str] | None, typer.Option(help="Category page to walk (jsonld; repeatable).")
    ] = None,
    sitemap_url: Annotated[
        list[str] | None, typer.Option(help="Sitemap or robots.txt URL (jsonld; repeatable).")
    ] = None,
    default_shipping: Annotated[
        str | None, typer.Option(help="Flat shipping fee when the shop states none.")
    ] = None,
    timeout: TimeoutOption = 10.0,
    fmt: FormatOption = Format.table,
) -> None:
    """Add a shop: probe its shape (Shopify, WooCommerce, schema.org, …), append a validated entry."""
    from service.marketplaces import add_marketplace

    try:
        shipping = Decimal(default_shipping) if default_shipping is not None else None
    except InvalidOperation:
        raise UserError(f"--default-shipping: not a number: {default_shipping!r}") from None
    market, found = add_marketplace(
        config,
        url,
        name=name,
        shape=shape,
        title=title,
        currency=currency,
        start_urls=start_url,
        sitemap_urls=sitemap_url,
        default_shipping=shipping,
        timeout=timeout,
    )
    row = {
        "name": market.name,
        "shape": market.shape,
        "base_url": market.base_url,
        "start_urls": " ".join(market.start_urls),
        "sitemap_urls": " ".join(market.sitemap_urls),
        "found": "; ".join(found.notes),
    }
    render(
        [row],
        list(row),
        fmt,
        title=f"Added to {config}",
        json_rows=[{**market.model_dump(mode="json"), "found": found.notes}],
    )
    typer.echo(
        f"added {market.name!r} ({market.shape}) to {config}; try `bijia marketplaces check "
        f"{market.name} -c {config}`",
        err=True,
    )


@app.command("check")
@user_errors
def marketplaces_check(
    names: Annotated[
        list[str] | None, typer.Argument(help="Marketplaces to check (default: the enabled ones).")
    ] = None,
    config: ConfigOption = None,
    timeout: TimeoutOption = 10.0,
    fmt: FormatOption = Format.table,
) -> None:
    """Fetch one page per marketplace and report what it yields (exit 3 if some fail, 4 if all fail)."""
    from service.marketplaces import CHECK_COLUMNS, check_marketplaces

    results = check_marketplaces(config, names, timeout=timeout)
    render(
        [r.row() for r in results],
        CHECK_COLUMNS,
        fmt,
        title="One page per marketplace",
        json_rows=[r.row() for r in results],
    )
    failed = [r.name for r in results if r.status == "failed"]
    if failed:
        typer.echo(f"failed: {', '.join(failed)}", err=True)
        raise typer.Exit(int(ExitCode.FAILED if len(failed) == len(results) else ExitCode.PARTIAL))
