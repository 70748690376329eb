"""``bijia marketplaces list|add|check``: the shops in a marketplaces file."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from commands.common import ConfigOption, FormatOption, user_errors
from crawler.shapes import SHAPES
from service.errors import ExitCode, UserError
from service.output import Format, render

GROUP = "marketplaces"
app = typer.Typer(help="List, add and check the shops in a marketplaces file.", no_args_is_help=True)
TimeoutOption = Annotated[
    float, typer.Option(min=0.5, max=120, help="Seconds to wait for each HTTP request.")
]

ShapeChoice = Enum("ShapeChoice", {name: name for name in ("auto", *SHAPES)}, type=str)  # type: ignore[misc]
"""``--shape``: auto, or a shape of ``crawler.shapes.SHAPES``."""
AUTO = ShapeChoice("auto")


@app.command("list")
@user_errors
def marketplaces_list(config: ConfigOption = None, fmt: FormatOption = Format.table) -> None:
    """The marketplaces of the file (disabled ones too): shape, URL, currency, politeness, discovery."""
    from service.marketplaces import LIST_COLUMNS, list_marketplaces

    render(list_marketplaces(config), LIST_COLUMNS, fmt, title="Marketplaces")


@app.command("add")
@user_errors
def marketplaces_add(
    url: Annotated[str, typer.Argument(help="The shop's base URL, a listing page, or a listing API URL.")],
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
    shape: Annotated[
        ShapeChoice,
        typer.Option(help="The shop's shape; auto probes it and proposes a field map when none fits."),
    ] = AUTO,
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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Probe and preview only; the file is not changed.")
    ] = False,
    preview: Annotated[
        bool, typer.Option(help="Crawl one page as `bijia crawl` would and show its first offers.")
    ] = True,
    timeout: TimeoutOption = 10.0,
    fmt: FormatOption = Format.table,
) -> None:
    """Add a shop: probe its shape (Shopify, WooCommerce, schema.org…) or propose a field map from its
    JSON, its HTML or the page rendered in Chromium; append a validated, commented entry; preview it."""
    from service.marketplaces import PREVIEW_COLUMNS, add_marketplace, preview_rows

    try:
        shipping = Decimal(default_shipping) if default_shipping is not None else None
    except InvalidOperation:
        raise UserError(f"--default-shipping: not a number: {default_shipping!r}") from None
    added = add_marketplace(
        config,
        url,
        name=name,
        shape=shape.value,
        title=title,
        currency=currency,
        start_urls=start_url,
        sitemap_urls=sitemap_url,
        default_shipping=shipping,
        timeout=timeout,
        dry_run=dry_run,
        preview=preview,
    )
    market = added.marketplace
    row = {
        "name": market.name,
        "shape": market.shape,
        "base_url": market.base_url,
        "found": "; ".join(added.found.notes),
    }
    payload = {
        **market.model_dump(mode="json", exclude_none=True),
        "found": added.found.notes,
        "written": added.written,
        "preview": {"offers": added.preview.offers if added.preview else [], "fill": added.fill},
    }
    where = f"Dry run: not written to {config}" if dry_run else f"Added to {config}"
    render([row], list(row), fmt, title=where, json_rows=[payload])
    if fmt == Format.table:
        typer.echo(added.block)
        if added.preview is not None:
            render(preview_rows(added), PREVIEW_COLUMNS, fmt, title=f"Preview: first offers of {market.name}")
            typer.echo("fill: " + "  ".join(f"{k} {v * 100:.0f}%" for k, v in added.fill.items()))
    if not dry_run:
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
    db: Annotated[
        Path,
        typer.Option(
            envvar="BIJIA_DB", help="Database whose last runs the fill rates are compared with (drift)."
        ),
    ] = Path("bijia.duckdb"),
    pages: Annotated[int, typer.Option(min=1, max=100, help="Listing pages to crawl per marketplace.")] = 1,
    timeout: TimeoutOption = 10.0,
    fmt: FormatOption = Format.table,
) -> None:
    """Crawl a few pages per marketplace exactly as `bijia crawl` does and report per-field fill rates,
    empty required fields and fields that fell since the last run (exit 3 if some fail, 4 if all fail)."""
    from service.marketplaces_check import CHECK_COLUMNS, FILL_COLUMNS, check_marketplaces, percent

    results = check_marketplaces(config, names, db=db, pages=pages, timeout=timeout)
    render(
        [r.row() for r in results],
        CHECK_COLUMNS,
        fmt,
        title=f"{pages} page(s) per marketplace, crawled as `bijia crawl` does",
        json_rows=[r.json() for r in results],
    )
    if fmt == Format.table:
        fills = [{"name": r.name, **{f: percent(r.fill.get(f)) for f in FILL_COLUMNS[1:]}} for r in results]
        render(fills, FILL_COLUMNS, fmt, title="Fill rate per field (usable offers)")
    failed = [r.name for r in results if r.status == "failed"]
    if failed:
        typer.echo(f"failed: {', '.join(failed)}", err=True)
        raise typer.Exit(int(ExitCode.FAILED if len(failed) == len(results) else ExitCode.PARTIAL))
