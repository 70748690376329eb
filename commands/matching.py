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
model_app = typer.Typer(
    help="The matcher's model: re-fit it with your review decisions, list the models, choose one.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


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


EVAL_COLUMNS = ["dataset", "model", "threshold", "precision", "recall", "f1", "pairs"]


@app.command("eval-matching")
@user_errors
def eval_matching(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="A DeepMatcher-format folder (tableA.csv, tableB.csv, train/valid/test.csv with ltable_id, "
            "rtable_id, label), or a shared set: abt-buy, wdc-products, ali-ember-zh[/category], demo "
            "(read from ../shared/data or $BIJIA_SHARED/data)."
        ),
    ] = None,
    split: Annotated[
        str, typer.Option(help="Split to score (test, valid, train, or another NAME.csv).")
    ] = "test",
    columns: Annotated[
        str | None,
        typer.Option(
            help="Which table columns hold what, e.g. title=name,brand=manufacturer,mpn=modelno,price=price "
            "(fields: title, brand, mpn, gtin, price, description, category; unmapped ones are guessed "
            "from the usual column names)."
        ),
    ] = None,
    fit: Annotated[
        bool,
        typer.Option("--fit", help="Also fit a model on the set's train split (chosen on its valid split)."),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="With --fit: write the fitted model to this file.")] = None,
    transfer: Annotated[
        bool,
        typer.Option(
            "--transfer",
            help="Fit on all shared sets but one (+ demo catalogues) and score the left-out one, for each.",
        ),
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Measure the matcher on labelled pairs: the shipped default model (nothing re-fitted), precision,
    recall, F1 and pairs/second. Nothing is written unless --out is given."""
    from service.evaluation import eval_matching as run_eval
    from service.evaluation import eval_transfer

    say = (lambda text: typer.echo(text, err=True)) if sys.stderr.isatty() else None
    if transfer:
        rows = eval_transfer(split, progress=say)
        render(rows, ["left_out", "fit_on", "precision", "recall", "f1", "pairs"], fmt, title="Transfer")
        return
    if dataset is None:
        raise UserError("name a labelled set (a DeepMatcher folder or abt-buy, …) or give --transfer")
    if out is not None and not fit:
        raise UserError("--out writes the model fitted with --fit; add --fit")
    reports = run_eval(dataset, split, columns, fit, out, progress=say)
    rows = [{k: v for k, v in r.items() if k != "config"} for r in reports]
    render(rows, EVAL_COLUMNS, fmt, title="Matching on labelled pairs", json_rows=reports)


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


@model_app.command("fit")
@user_errors
def model_fit(
    db: DbOption = DEFAULT_DB,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the model to this file instead of the database, fitted on the shared sets only "
            "(the shipped default: --out matching/models/default.json)."
        ),
    ] = None,
) -> None:
    """Re-fit the matcher on the shared training sets plus your review decisions (confirm = same product,
    split = not) and make it the model `bijia match` uses. Needs ../shared/data (or $BIJIA_SHARED/data)."""
    from service.model import model_fit as fit_model

    report = fit_model(None if out else db, out)
    f1 = ", ".join(f"{k} {v:.3f}" for k, v in report.valid_f1.items())
    typer.echo(
        f"model {report.version}: {report.confirmed} confirmed + {report.split} split decisions, threshold "
        f"{report.threshold}; valid F1 {f1}; stored in {report.stored} ({report.seconds}s)"
    )


@model_app.command("list")
@user_errors
def model_list(db: DbOption = DEFAULT_DB, fmt: FormatOption = Format.table) -> None:
    """The shipped default and the models fitted into this database; which one `bijia match` uses."""
    from service.model import model_list as list_models

    rows = list_models(db)
    render(
        rows,
        ["version", "model", "created", "decisions", "active", "products", "valid_f1"],
        fmt,
        title="Models",
    )


@model_app.command("use")
@user_errors
def model_use(
    version: Annotated[str, typer.Argument(help="A stored model's version, or 'default' (the shipped one).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Choose the model `bijia match` uses."""
    from service.model import model_use as use

    use(db, version)
    typer.echo(f"`bijia match` now uses {version}", err=True)
