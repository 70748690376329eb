"""bijia (比价) — crawl marketplaces, match the same product across them, compare prices.

Exit codes: 0 all well · 1 user error (bad database, bad value) · 2 bad command line ·
3 partial failure (some marketplaces failed, the rest were published) · 4 total failure (nothing published)
· 75 another run holds the lock · 78 invalid marketplaces file.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from service.errors import ExitCode, UserError
from service.output import Format

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB = Path("data/bijia.duckdb")
DEFAULT_SNAPSHOTS = Path("data/snapshots")

DbOption = Annotated[Path, typer.Option("--db", envvar="BIJIA_DB", help="DuckDB file to read and write.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="BIJIA_MARKETPLACES",
        help="Marketplaces TOML file (default: the bundled demo marketplaces).",
    ),
]
SnapshotsOption = Annotated[
    Path,
    typer.Option(
        "--snapshots", envvar="BIJIA_SNAPSHOTS", help="Folder of published snapshots that the API serves."
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show Scrapy's log (INFO).")]


def user_errors(func: F) -> F:
    """Turn library errors into one line on stderr and a distinct exit code (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from crawler.browser import BrowserNotFound
        from crawler.config import ConfigError
        from storage.db import StorageError

        try:
            return func(*args, **kwargs)
        except UserError as exc:
            _fail(str(exc), exc.code)
        except ConfigError as exc:
            _fail(str(exc), ExitCode.CONFIG)
        except (StorageError, BrowserNotFound) as exc:
            _fail(str(exc), ExitCode.ERROR)
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.FAILED)

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    typer.echo(f"bijia: error: {message}", err=True)
    raise typer.Exit(int(code))


def _progress():
    """A rich progress display on a terminal; ``None`` (quiet) otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} offers"),
        TimeElapsedColumn(),
        transient=True,
    )


def _progress_callback(progress) -> Callable[[str, int], None] | None:
    if progress is None:
        return None
    tasks: dict[str, Any] = {}

    def update(marketplace: str, offers: int) -> None:
        if marketplace not in tasks:
            tasks[marketplace] = progress.add_task(marketplace, total=None)
        progress.update(tasks[marketplace], completed=offers)

    return update


def _print_crawl(report) -> None:
    from rich.console import Console

    console = Console(stderr=True)
    for m in report.marketplaces:
        note = f" — {m.reason}" if m.reason else ""
        console.print(
            f"{m.name:12} {m.status:8} {m.pages:6} pages {m.offers:6} offers "
            f"{m.dropped:4} dropped {m.seconds:7.1f}s{note}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"run {report.run_id}: {report.status}, {report.published} offers published",
        highlight=False,
        soft_wrap=True,
    )


def _crawl_exit(report) -> None:
    if report.status == "failed":
        raise typer.Exit(int(ExitCode.FAILED))
    if report.status == "partial":
        raise typer.Exit(int(ExitCode.PARTIAL))


@app.command()
@user_errors
def crawl(
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    marketplace: Annotated[
        list[str] | None,
        typer.Option("--marketplace", "-m", help="Crawl only this marketplace (repeatable)."),
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a new one from the clock).")] = None,
    verbose: VerboseOption = False,
) -> None:
    """Crawl the marketplaces into the database (exit 3 if some failed, 4 if all failed)."""
    from crawler.config import load_marketplaces
    from crawler.runner import run_crawl
    from service.logging_setup import configure

    markets = load_marketplaces(config, only=marketplace)
    configure(
        "text",
        "INFO" if verbose else "WARNING",
        library_level="INFO" if verbose else "ERROR",
        tracebacks=verbose,
    )
    progress = _progress()
    with progress if progress is not None else nullcontext():
        report = run_crawl(
            markets,
            db_path=db,
            run_id=run_id,
            log_level="INFO" if verbose else "ERROR",
            progress=_progress_callback(progress),
            extra_settings={"LOG_INSTALL_ROOT_HANDLER": False},
        )
    if sys.stderr.isatty() or report.status != "finished":
        _print_crawl(report)
    _crawl_exit(report)


@app.command()
@user_errors
def match(
    db: DbOption = DEFAULT_DB,
    config: Annotated[
        Path | None, typer.Option(help="Matcher configuration JSON (default: built-in).")
    ] = None,
) -> None:
    """Group the stored offers into products (same SKU across marketplaces) with stable ids."""
    from service.match import run_match

    report = run_match(db, config_path=config)
    if sys.stdout.isatty():
        typer.echo(
            f"{report.offers} offers → {report.products} products "
            f"({report.multi_marketplace} on several marketplaces), {report.review} pairs to review, "
            f"{report.seconds}s"
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
    from service.output import render

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


review_app = typer.Typer(
    help="Low-confidence pairs from the last match, and your decisions on them.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(review_app, name="review")


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
    from service.output import render
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
    import json

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
) -> None:
    """Compare prices: each marketplace's best landed price, the lowest, where, and the saving."""
    show_comparison(db, query, fmt, limit, min_marketplaces)


def show_comparison(
    db: Path, query: str | None, fmt: Format, limit: int | None, min_marketplaces: int
) -> int:
    from service.output import comparison_table, render
    from storage import connect
    from storage.working_queries import compare as compare_rows

    con = connect(db, read_only=True)
    try:
        rows = compare_rows(con, query, min_marketplaces=min_marketplaces, limit=limit)
        marketplaces = sorted({b.marketplace for r in rows for b in r.best})
    finally:
        con.close()
    if not rows and fmt is Format.table:
        typer.echo("no products match" + (f" {query!r}" if query else ""), err=True)
        return 0
    flat, columns = comparison_table(rows, marketplaces)
    render(
        flat,
        columns,
        fmt,
        title="Lowest landed price (final price + shipping), CNY",
        json_rows=[r.to_dict() for r in rows],
    )
    return len(rows)


@app.command()
@user_errors
def demo(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file for the demo.")] = Path("data/demo.duckdb"),
    size: Annotated[int, typer.Option(min=10, max=100_000, help="SKUs in the generated catalogue.")] = 150,
    seed: Annotated[int, typer.Option(help="Catalogue seed.")] = 7,
    limit: Annotated[int, typer.Option(min=1, help="Rows of the comparison to print.")] = 1000,
    fmt: FormatOption = Format.table,
    fresh: Annotated[bool, typer.Option(help="Start from an empty database.")] = True,
    publish: Annotated[bool, typer.Option(help="Publish the result as a snapshot for `bijia serve`.")] = True,
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
) -> None:
    """Start the bundled demo marketplaces, crawl all five, match, and print the comparison."""
    from service.demo import run_demo

    if fresh:
        for suffix in ("", ".wal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    progress = _progress()
    with progress if progress is not None else nullcontext():
        report = run_demo(db, size=size, seed=seed, progress=_progress_callback(progress))
    _print_crawl(report.crawl)
    m = report.match
    typer.echo(
        f"matched {m.offers} offers into {m.products} products "
        f"({m.multi_marketplace} on several marketplaces) in {m.seconds}s; demo took {report.seconds}s",
        err=True,
    )
    typer.echo(report.truth.summary(), err=True)
    show_comparison(db, None, fmt, limit, 2)
    if publish:
        from storage.snapshots import publish as publish_snapshot

        snapshot = publish_snapshot(db, snapshots)
        typer.echo(f"published snapshot {snapshot} to {snapshots}/ (serve it: bijia serve)", err=True)
    _crawl_exit(report.crawl)


@app.command()
@user_errors
def publish(
    db: DbOption = DEFAULT_DB,
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
    keep: Annotated[int, typer.Option(min=1, help="Snapshots to keep.")] = 3,
) -> None:
    """Publish the database as a new read-only snapshot and swap it in atomically for `bijia serve`."""
    from storage.snapshots import publish as publish_snapshot

    typer.echo(publish_snapshot(db, snapshots, keep=keep))


@app.command()
@user_errors
def serve(
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve comparison data over HTTP (read-only JSON/CSV API, OpenAPI docs at /docs, a page at /)."""
    from api import serve as run_server
    from storage.snapshots import current_snapshot

    if current_snapshot(snapshots) is None:
        raise UserError(
            f"{snapshots}: no published snapshot yet (run `bijia demo`, `bijia run` or `bijia publish` first)"
        )
    run_server(snapshots, host=host, port=port, workers=workers, log_level="warning")


@app.command("demo-server")
@user_errors
def demo_server(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 = any free port).")
    ] = 8765,
    size: Annotated[int, typer.Option(min=10, help="SKUs in the generated catalogue.")] = 150,
    seed: Annotated[int, typer.Option(help="Catalogue seed.")] = 7,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SHOP:NAME[=VALUE]",
            help="Switch a fault on, e.g. techmall:status_429_every=5 or all:slow_ms=20 (repeatable).",
        ),
    ] = None,
) -> None:
    """Serve the demo marketplaces on 127.0.0.1 until interrupted (set BIJIA_DEMO_URL to its URL)."""
    import time

    from demo.catalogue import generate_catalogue
    from demo.faults import parse_fault
    from service.demo import demo_server as serve

    plan: dict = {}
    for spec in fault or []:
        try:
            plan = parse_fault(spec, plan)
        except ValueError as exc:
            raise UserError(f"--fault {spec!r}: {exc}", ExitCode.USAGE) from None
    with serve(generate_catalogue(size, seed), port, faults=plan) as url:
        typer.echo(f"demo marketplaces at {url}  (export BIJIA_DEMO_URL={url}); Ctrl-C stops", err=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@app.command()
@user_errors
def runs(
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    limit: Annotated[int, typer.Option(min=1, help="Most recent N runs.")] = 20,
) -> None:
    """List recent runs with their status and per-marketplace counts."""
    from service.output import render
    from storage import connect
    from storage.runs import recent_runs

    con = connect(db, read_only=True)
    try:
        rows = recent_runs(con, limit)
    finally:
        con.close()
    render(rows, ["run_id", "kind", "status", "started_at", "seconds", "summary"], fmt, title="Runs")


# --- unattended runs (cron): run, alerts, history — service/run.py, service/alerts.py, storage/history.py ---

RUN_EPILOG = """\b
Exit codes (for cron):
  0   all well: every marketplace crawled and published
  1   user error (bad database file, bad value)
  2   bad command line
  3   partial failure: some marketplaces failed, the others were published
  4   total failure: nothing published (all marketplaces failed, interrupted, or match/publish failed)
  75  another run holds the lock (EX_TEMPFAIL: try again later)
  78  invalid marketplaces file (EX_CONFIG)

Quiet on success when stderr is not a terminal; warnings and errors go to stderr
(one JSON object per line with --log-format json). See docs/cron.md."""


@app.command("run", epilog=RUN_EPILOG)
@user_errors
def run_command(
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    marketplace: Annotated[
        list[str] | None, typer.Option("--marketplace", "-m", help="Run only this marketplace (repeatable).")
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            help="Run id: a finished run is not run again (idempotent rerun); an unfinished one is continued."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the last run if it was killed or interrupted, else start a new one."
        ),
    ] = False,
    snapshots: Annotated[
        Path | None,
        typer.Option(
            "--snapshots",
            envvar="BIJIA_SNAPSHOTS",
            help="Folder of published snapshots (default: [run] snapshots_dir, else 'snapshots' beside the db).",
        ),
    ] = None,
    log_format: Annotated[
        str,
        typer.Option("--log-format", help="Log lines on stderr: text or json (one JSON object per line)."),
    ] = "text",
    verbose: VerboseOption = False,
) -> None:
    """Crawl the configured marketplaces, match, publish a snapshot and send alerts, under a lock (for cron)."""
    from service.logging_setup import LogFormat, configure
    from service.run import run

    if log_format not in ("text", "json"):
        raise typer.BadParameter("must be 'text' or 'json'", param_hint="--log-format")
    json_logs = log_format == "json"
    configure(
        LogFormat(log_format),
        "INFO" if verbose or json_logs else "WARNING",
        library_level="INFO" if verbose else ("WARNING" if json_logs else "ERROR"),
        tracebacks=verbose,
    )
    tty = sys.stderr.isatty() and not json_logs
    progress = _progress() if tty else None
    with progress if progress is not None else nullcontext():
        report = run(
            db,
            config_path=config,
            only=marketplace,
            run_id=run_id,
            resume=resume,
            snapshots_dir=snapshots,
            log_level="INFO" if verbose else "WARNING",
            progress=_progress_callback(progress),
        )
    if tty:
        _print_run(report)
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))


def _print_run(report) -> None:
    from rich.console import Console

    console = Console(stderr=True)
    for m in report.marketplaces:
        note = f" — {m.reason}" if m.reason else ""
        console.print(
            f"{m.name:12} {m.status:8} {m.pages:6} pages {m.offers:6} offers {m.errors:4} errors "
            f"{m.seconds:7.1f}s{note}",
            highlight=False,
        )
    alerts = report.alerts.new if report.alerts else 0
    console.print(
        f"run {report.run_id}: {report.status} (exit {int(report.exit_code)}), {report.published} "
        f"offers published, {report.gone} gone, {report.products} products, snapshot {report.snapshot}, "
        f"{alerts} alert(s), {report.seconds}s",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"  note: {note}", highlight=False)


@app.command()
@user_errors
def alerts(
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    run_id: Annotated[str | None, typer.Option(help="Only the alerts of this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most recent N alerts.")] = 50,
) -> None:
    """List recent alerts: price drops/rises, out of stock, back in stock, new lowest marketplace."""
    from service.output import render
    from storage import connect
    from storage.alerts import recent_alerts

    con = connect(db, read_only=True)
    try:
        rows = recent_alerts(con, run_id=run_id, limit=limit)
    finally:
        con.close()
    for row in rows:
        row["change"] = row.get("change_percent") or row.get("previous_marketplace") or ""
        row["price"] = row.get("price") or row.get("landed_price")
    render(
        rows,
        [
            "run_id",
            "kind",
            "marketplace",
            "listing_id",
            "product_id",
            "title",
            "previous_price",
            "price",
            "change",
            "delivered_at",
        ],
        fmt,
        title="Alerts",
    )


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
    import json

    from service.output import render
    from storage import connect
    from storage.history import discount_facts, price_history

    con = connect(db, read_only=True)
    try:
        facts = discount_facts(con, [product_id]).get(product_id)
        rows = price_history(con, product_id, days=days)
    finally:
        con.close()
    if facts is None:
        raise UserError(f"no product {product_id!r} (see `bijia compare`)")
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


from typing import Literal  # noqa: E402 (kept inside the marketplaces block)

marketplaces_app = typer.Typer(
    help="List, add and check the shops in a marketplaces file.", no_args_is_help=True
)
app.add_typer(marketplaces_app, name="marketplaces")
TimeoutOption = Annotated[
    float, typer.Option(min=0.5, max=120, help="Seconds to wait for each HTTP request.")
]

ShapeChoice = Literal["auto", "jsonld", "shopify", "woocommerce", "browser", "instant"]


@marketplaces_app.command("list")
@user_errors
def marketplaces_list(config: ConfigOption = None, fmt: FormatOption = Format.table) -> None:
    """The marketplaces of the file (disabled ones too): shape, URL, currency, politeness, discovery."""
    from service.marketplaces import LIST_COLUMNS, list_marketplaces
    from service.output import render

    render(list_marketplaces(config), LIST_COLUMNS, fmt, title="Marketplaces")


@marketplaces_app.command("add")
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
    from decimal import Decimal, InvalidOperation

    from service.marketplaces import add_marketplace
    from service.output import render

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


@marketplaces_app.command("check")
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
    from service.output import render

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


if __name__ == "__main__":
    app()
