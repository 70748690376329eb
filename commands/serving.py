"""``bijia demo``, ``demo-server``, ``publish`` and ``serve``: the bundled demo, and snapshots for the
storefront API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from commands.common import (
    DEFAULT_DB,
    DEFAULT_SNAPSHOTS,
    DbOption,
    FormatOption,
    SnapshotsOption,
    exit_for_crawl,
    print_report,
    progress_callback,
    progress_display,
    showing,
    user_errors,
)
from commands.prices import show_comparison
from service.errors import ExitCode, UserError
from service.output import Format

app = typer.Typer()


@app.command()
@user_errors
def demo(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file for the demo.")] = Path("data/demo.duckdb"),
    size: Annotated[int, typer.Option(min=10, max=100_000, help="SKUs in the generated catalogue.")] = 150,
    seed: Annotated[int, typer.Option(help="Catalogue seed.")] = 7,
    limit: Annotated[int, typer.Option(min=1, help="Rows of the comparison to print.")] = 15,
    fmt: FormatOption = Format.table,
    fresh: Annotated[bool, typer.Option(help="Start from an empty database.")] = True,
    publish: Annotated[bool, typer.Option(help="Publish the result as a snapshot for `bijia serve`.")] = True,
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also the matching time and its score against the truth.")
    ] = False,
) -> None:
    """Start the bundled demo marketplaces, crawl them all, match, publish, and print the comparison."""
    from service.demo import run_demo
    from service.serving import publish as publish_snapshot

    if fresh:
        for suffix in ("", ".wal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    progress = progress_display()
    with showing(progress):
        report = run_demo(db, size=size, seed=seed, progress=progress_callback(progress))
    crawl = report.crawl
    print_report(
        crawl.marketplaces, f"run {crawl.run_id}: {crawl.status}, {crawl.published} offers published"
    )
    m = report.match
    typer.echo(
        f"{m.products} products found on the demo marketplaces, {m.multi_marketplace} of them sold by "
        "several: where each is cheapest, and by how much —",
        err=True,
    )
    if verbose:
        typer.echo(f"matched {m.offers} offers in {m.seconds}s; demo took {report.seconds}s", err=True)
        typer.echo(report.truth.summary(), err=True)
    shown = show_comparison(db, None, fmt, limit, 2)
    if publish:
        publish_snapshot(db, snapshots)
    if fmt is Format.table:
        typer.echo(
            f'\nnext: bijia compare "iphone 13" --db {db}    (any words, a brand in either language, a barcode)\n'
            f"      bijia show {shown[0] if shown else 'PRODUCT_ID'} --db {db}    (every offer: 券后价, shipping, stock, delivery)\n"
            f"      bijia serve                                 (the storefront page and API at http://127.0.0.1:8000/)",
            err=True,
        )
    exit_for_crawl(crawl.status)


@app.command()
@user_errors
def publish(
    db: DbOption = DEFAULT_DB,
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
    keep: Annotated[int, typer.Option(min=1, help="Snapshots to keep.")] = 3,
) -> None:
    """Publish the database as a new read-only snapshot and swap it in atomically for `bijia serve`."""
    from service.serving import publish as publish_snapshot

    typer.echo(publish_snapshot(db, snapshots, keep=keep))


@app.command()
@user_errors
def restore(
    db: DbOption = DEFAULT_DB,
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
    snapshot: Annotated[str | None, typer.Option(help="Snapshot id (default: the current one).")] = None,
) -> None:
    """Rebuild a damaged working database from a published snapshot (move the damaged file aside first)."""
    from service.serving import restore as restore_database

    snapshot_id, offers = restore_database(db, snapshots, snapshot_id=snapshot)
    typer.echo(f"restored {db} from snapshot {snapshot_id}: {offers} offers", err=True)


@app.command()
@user_errors
def replicate(
    source: Annotated[
        Path, typer.Argument(help="A snapshots folder to copy from (e.g. rsync'ed from the writer).")
    ],
    replica: Annotated[Path, typer.Argument(help="The snapshots folder a `bijia serve` replica serves.")],
    keep: Annotated[int, typer.Option(min=1, help="Snapshots to keep in the replica.")] = 3,
) -> None:
    """Copy the current snapshot into an API replica's folder and swap it in atomically (see docs/deploy.md)."""
    from service.serving import replicate as replicate_snapshot

    typer.echo(replicate_snapshot(source, replica, keep=keep))


@app.command()
@user_errors
def serve(
    snapshots: SnapshotsOption = DEFAULT_SNAPSHOTS,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    max_concurrency: Annotated[
        int,
        typer.Option(
            min=0,
            help="Requests in progress per worker before more get an immediate 503 with Retry-After "
            "(0: no limit). Keeps a burst from turning into timeouts; see docs/api.md.",
        ),
    ] = 64,
) -> None:
    """Serve comparison data over HTTP (read-only JSON/CSV API, OpenAPI docs at /docs, a page at /)."""
    from api.server import serve as run_server
    from service.serving import require_snapshot

    require_snapshot(snapshots)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(
        f"bijia storefront at http://{shown}:{port}/  (API http://{shown}:{port}/api/v1/products, docs /docs); "
        "Ctrl-C stops",
        err=True,
    )
    run_server(
        snapshots, host=host, port=port, workers=workers, log_level="warning", max_concurrency=max_concurrency
    )


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
    from demo.catalogue import generate_catalogue
    from demo.faults import parse_fault
    from service.demo import demo_server as serve_demo

    plan: dict = {}
    for spec in fault or []:
        try:
            plan = parse_fault(spec, plan)
        except ValueError as exc:
            raise UserError(f"--fault {spec!r}: {exc}", ExitCode.USAGE) from None
    with serve_demo(generate_catalogue(size, seed), port, faults=plan) as url:
        typer.echo(f"demo marketplaces at {url}  (export BIJIA_DEMO_URL={url}); Ctrl-C stops", err=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
