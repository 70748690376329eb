"""``bijia match``, ``eval-matching``, ``review`` and ``explain``: grouping offers into products, and the
merchandiser's control over it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from commands.common import DEFAULT_DB, DbOption, FormatOption, user_errors
from service.errors import UserError
from service.output import Format, render

app = typer.Typer()
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, max=256, help="Processes that score candidate pairs (default: every usable core)."),
]
review_app = typer.Typer(
    help="Low-confidence pairs from the last match, and your decisions on them.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(review_app, name="review")


@app.command()
@user_errors
def match(
    db: DbOption = DEFAULT_DB,
    config: Annotated[
        Path | None, typer.Option(help="Matcher configuration JSON (default: built-in).")
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Regroup every offer from scratch (default: only offers new or changed since the last match, "
            "and the products they touch).",
        ),
    ] = False,
    workers: WorkersOption = None,
) -> None:
    """Group the stored offers into products (same SKU across marketplaces) with stable ids.

    Incremental by default: offers whose title, brand, GTIN, MPN, attributes or category are new or changed
    since the last match are compared with every stored offer, and only the products they join, leave or
    found are regrouped. A changed matcher configuration regroups everything, as --full does."""
    from service.match import run_match

    report = run_match(db, config_path=config, full=full, workers=workers)
    if sys.stdout.isatty():
        typer.echo(
            f"{report.offers} offers → {report.products} products "
            f"({report.multi_marketplace} on several marketplaces), {report.review} pairs to review, "
            f"{report.mode}: {report.changed} changed, {report.regrouped} regrouped, {report.seconds}s"
        )


@app.command("eval-matching")
@user_errors
def eval_matching(
    dataset: Annotated[
        str,
        typer.Argument(
            help="abt-buy, wdc-products, ali-ember-zh[/category] or demo (read from ../shared/data or BIJIA_SHARED)."
        ),
    ],
    split: Annotated[str, typer.Option(help="Split to evaluate (test, valid, train).")] = "test",
    fmt: FormatOption = Format.table,
) -> None:
    """Measure the matcher on a labelled benchmark: precision, recall, F1 and pairs/second."""
    from matching.evaluate import DatasetMissing, evaluate

    try:
        report = evaluate(dataset, split)
    except DatasetMissing as exc:
        raise UserError(str(exc)) from None
    except (ValueError, KeyError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    row = {k: v for k, v in report.to_dict().items() if k != "config"}
    render(
        [row],
        ["dataset", "split", "profile", "precision", "recall", "f1", "pairs", "pairs_per_second"],
        fmt,
        title="Matching on a labelled benchmark",
        json_rows=[report.to_dict()],
    )


@review_app.callback()
@user_errors
def review(
    ctx: typer.Context,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    limit: Annotated[int, typer.Option(min=1, help="Pairs to show.")] = 30,
) -> None:
    """List pairs the matcher was unsure about (confirm or split them with the subcommands)."""
    if ctx.invoked_subcommand is not None:
        return
    from service.review import review_queue

    rows = review_queue(db, limit)
    render(rows, ["key_a", "key_b", "score", "grouped", "title_a", "title_b"], fmt, title="Pairs to review")


NoteOption = Annotated[str | None, typer.Option(help="Why (kept with the decision).")]


def _decide(db: Path, key_a: str, key_b: str, decision: str, note: str | None, shown: str) -> None:
    from service.review import decide

    decide(db, key_a, key_b, decision, note)
    typer.echo(f"{decision}: {key_a} {shown} {key_b}; run `bijia match` to apply", err=True)


@review_app.command("confirm")
@user_errors
def review_confirm(key_a: str, key_b: str, db: DbOption = DEFAULT_DB, note: NoteOption = None) -> None:
    """Decide that two offers ARE the same product (every later match keeps them together)."""
    _decide(db, key_a, key_b, "confirm", note, "=")


@review_app.command("split")
@user_errors
def review_split(key_a: str, key_b: str, db: DbOption = DEFAULT_DB, note: NoteOption = None) -> None:
    """Decide that two offers are NOT the same product (every later match keeps them apart)."""
    _decide(db, key_a, key_b, "split", note, "≠")


@app.command()
@user_errors
def explain(
    key_a: Annotated[str, typer.Argument(help="An offer key: marketplace/listing_id.")],
    key_b: Annotated[str, typer.Argument(help="Another offer key.")],
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
) -> None:
    """Explain why two offers were grouped (or not): identifiers, attributes, vetoes, each score."""
    from service.review import explain_pair

    explanation, product_a, product_b = explain_pair(db, key_a, key_b)
    if fmt is Format.table:
        typer.echo(str(explanation))
        same = product_a is not None and product_a == product_b
        typer.echo(
            f"  stored grouping: {product_a} / {product_b} → {'same product' if same else 'different'}"
        )
    else:
        typer.echo(
            json.dumps(
                {**explanation.to_dict(), "product_a": product_a, "product_b": product_b},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
