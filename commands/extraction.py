"""``bijia eval-extraction``: how well product pages are read, on a public benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commands.common import FormatOption, user_errors
from service.output import Format, render

app = typer.Typer()


@app.command("eval-extraction")
@user_errors
def eval_extraction(
    benchmark: Annotated[
        Path | None,
        typer.Option(
            help="The product-extraction-benchmark folder (default: ../shared/pages/… or $BIJIA_SHARED/pages/…)."
        ),
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option(help="Write bijia's per-page errors here (TSV; default: in the temporary directory)."),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Score the product-page reader on the public product extraction benchmark (140 real pages):
    precision, recall and F1 for price, SKU and availability, beside Zyte, Diffbot and extruct."""
    from service.extraction import eval_extraction as run

    result = run(benchmark, errors)
    render(
        result.rows(),
        ["attribute", "system", "f1", "precision", "recall", "support"],
        fmt,
        title=f"Product extraction benchmark, {result.pages} pages ({result.seconds}s for bijia)",
    )
    if fmt is Format.table:
        typer.echo(f"bijia's errors, one per line: {result.errors_file}")


@app.command("eval-real-pages")
@user_errors
def eval_real_pages(
    folder: Annotated[
        Path | None,
        typer.Option(
            help="A folder of saved pages with a truth.json (default: tests/fixtures/real_product_pages)."
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Check the product-page reader on real saved product pages against a truth read from each page by
    hand: title, price, currency, availability and SKU per page (right, wrong, missed), with totals for
    all pages and for the pages from Chinese marketplaces. JSON/CSV give the per-page rows."""
    from service.held_out import eval_real_pages as run

    result = run(folder)
    rows = [check.row() for check in result.checks]
    if fmt is not Format.table:
        columns = list(rows[0]) if rows else ["page"]
        render(rows, columns, fmt)
        return
    marks = {"right": "ok", "wrong": "WRONG", "missed": "missed", None: "-"}
    short = {"title": "title", "price": "price", "currency": "cur.", "availability": "stock", "sku": "sku"}
    table = [
        {"page": c.page[:24]}
        | {short[f]: marks[c.verdicts[f]] for f in short}
        | {"read / true price": f"{c.got['price'] or '-'} / {c.truth['price'] or '-'}"}
        for c in result.checks
    ]
    render(table, list(table[0]) if table else ["page"], fmt, title="Real product pages, field by field")
    render(
        result.totals(),
        ["field", "pages", "right", "wrong", "missed", "judged"],
        fmt,
        title="Totals (page = title, price and currency right)",
    )
