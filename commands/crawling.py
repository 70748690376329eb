"""``bijia crawl``, ``run``, ``runs`` and ``alerts``: crawling, and the unattended run cron starts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from commands.common import (
    DEFAULT_DB,
    ConfigOption,
    DbOption,
    FormatOption,
    VerboseOption,
    exit_for_crawl,
    print_report,
    progress_callback,
    progress_display,
    showing,
    user_errors,
)
from service.output import Format, render

app = typer.Typer()

MarketplaceOption = Annotated[
    list[str] | None, typer.Option("--marketplace", "-m", help="Only this marketplace (repeatable).")
]

RUN_EPILOG = """\b
Exit codes (for cron):
  0   all well: every marketplace crawled and published
  1   user error (bad database file, bad value)
  2   bad command line
  3   partial failure: some marketplaces failed, the others were published
  4   total failure: nothing published (all marketplaces failed; a stage failed, e.g. a full disk;
      interrupted; stopped at [run] max_minutes; or a stuck run holding the lock was stopped)
  5   published, but the alerts (or the run's record) could not be written
  75  another run holds the lock (EX_TEMPFAIL: try again later)
  78  invalid marketplaces file (EX_CONFIG)

Quiet on success when stderr is not a terminal; warnings and errors go to stderr
(one JSON object per line with --log-format json). See docs/cron.md."""


@app.command()
@user_errors
def crawl(
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    marketplace: MarketplaceOption = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a new one from the clock).")] = None,
    verbose: VerboseOption = False,
) -> None:
    """Crawl the marketplaces into the database (exit 3 if some failed, 4 if all failed)."""
    from service.crawl import crawl as crawl_marketplaces
    from service.logging_setup import configure

    configure(
        "text",
        "INFO" if verbose else "WARNING",
        library_level="INFO" if verbose else "ERROR",
        tracebacks=verbose,
    )
    progress = progress_display()
    with showing(progress):
        report = crawl_marketplaces(
            db, config, only=marketplace, run_id=run_id, verbose=verbose, progress=progress_callback(progress)
        )
    if (
        sys.stderr.isatty()
        or report.status != "finished"
        or any(m.status != "ok" for m in report.marketplaces)
    ):
        print_report(
            report.marketplaces, f"run {report.run_id}: {report.status}, {report.published} offers published"
        )
    exit_for_crawl(report.status)


@app.command("run", epilog=RUN_EPILOG)
@user_errors
def run_command(
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    marketplace: MarketplaceOption = None,
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
    match_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Processes that match (default: [run] match_workers of the marketplaces file, else every core).",
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Crawl the configured marketplaces, match, publish a snapshot and send alerts, under a lock (for cron).

    Matching is incremental: only offers new or changed since the last match are compared (`bijia match
    --full` regroups everything)."""
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
    progress = progress_display() if tty else None
    with showing(progress):
        report = run(
            db,
            config_path=config,
            only=marketplace,
            run_id=run_id,
            resume=resume,
            snapshots_dir=snapshots,
            log_level="INFO" if verbose else "WARNING",
            progress=progress_callback(progress),
            match_workers=match_workers,
        )
    if tty:
        alerts_sent = report.alerts.new if report.alerts else 0
        print_report(
            report.marketplaces,
            f"run {report.run_id}: {report.status} (exit {int(report.exit_code)}), {report.published} "
            f"offers published, {report.gone} gone, {report.products} products, snapshot {report.snapshot}, "
            f"{alerts_sent} alert(s), {report.seconds}s",
            report.notes,
        )
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))


@app.command()
@user_errors
def runs(
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    limit: Annotated[int, typer.Option(min=1, help="Most recent N runs.")] = 20,
) -> None:
    """List recent runs with their status and per-marketplace counts."""
    from service.runs import runs as recent_runs

    render(
        recent_runs(db, limit),
        ["run_id", "kind", "status", "exit", "started_at", "seconds", "summary"],
        fmt,
        title="Runs",
    )


@app.command()
@user_errors
def alerts(
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    run_id: Annotated[str | None, typer.Option(help="Only the alerts of this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most recent N alerts.")] = 50,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Only this kind (repeatable): below_target, real_drop, restocked, price_drop, …"),
    ] = None,
    product: Annotated[str | None, typer.Option(help="Only this product's alerts.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only alerts since: 24h, 7d, or a date (2026-11-01).")
    ] = None,
) -> None:
    """List recent alerts: watched products (bijia watch) and, opted in, every price/stock change."""
    from service.alerts import alerts as recent_alerts

    columns = [
        "run_id",
        "kind",
        "marketplace",
        "listing_id",
        "product_id",
        "title",
        "previous_price",
        "price",
    ]
    render(
        recent_alerts(db, run_id=run_id, limit=limit, kinds=kind, product_id=product, since=since),
        [*columns, "change", "channels"],
        fmt,
        title="Alerts",
    )


RedisOption = Annotated[
    str,
    typer.Option(
        "--redis", envvar="BIJIA_REDIS_URL", help="Redis URL of the shared frontier (redis://host:6379/0)."
    ),
]
RunIdOption = Annotated[str, typer.Option("--run-id", help="The run every worker and the writer share.")]


@app.command()
@user_errors
def worker(
    redis_url: RedisOption,
    run_id: RunIdOption,
    config: ConfigOption = None,
    marketplace: MarketplaceOption = None,
    alive_ttl: Annotated[
        int,
        typer.Option(min=2, max=600, help="Seconds of silence after which others take this worker's pages."),
    ] = 10,
    verbose: VerboseOption = False,
) -> None:
    """Crawl as one of several workers sharing a frontier in Redis (see docs/deploy.md); offers go to Redis
    for the writer (`bijia collect`). Ends when the run has no work left."""
    from service.distributed import work

    report = work(
        redis_url,
        run_id,
        config,
        only=marketplace,
        log_level="INFO" if verbose else "ERROR",
        alive_ttl=alive_ttl,
    )
    for name, m in report.marketplaces.items():
        typer.echo(
            f"{report.worker} {name}: {m['pages']} pages, {m['offers']} offers ({m['finish_reason']})",
            err=True,
        )


@app.command()
@user_errors
def collect(
    redis_url: RedisOption,
    run_id: RunIdOption,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    marketplace: MarketplaceOption = None,
    wait: Annotated[float, typer.Option(min=1, help="Seconds to wait for the first worker.")] = 300.0,
) -> None:
    """Be the one writer of a distributed crawl: store the workers' offers and commit the run when no worker is
    left (exit 3 if some marketplaces failed, 4 if all failed)."""
    from service.distributed import collect as collect_run

    report = collect_run(redis_url, run_id, db, config, only=marketplace, wait_for_workers=wait)
    crawl = report.crawl
    notes = [f"{report.requeued} page(s) of stopped workers fetched again"] if report.requeued else []
    if report.repeated:
        notes.append(f"{report.repeated} offer(s) that arrived twice stored once")
    print_report(
        crawl.marketplaces, f"run {crawl.run_id}: {crawl.status}, {crawl.published} offers published", notes
    )
    exit_for_crawl(crawl.status)
