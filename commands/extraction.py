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
