"""``bijia run``: the whole unattended job — lock → crawl → commit → match → publish → alerts → exit code.

* **Lock**: ``service.lock.run_lock`` (flock on ``<db>.lock``); a second run raises ``LockedError`` (75).
* **Run ids**: a new one from the clock; ``run_id=`` of a finished run does nothing (idempotent rerun) and
  of an unfinished one continues it; ``resume=True`` continues the latest unfinished run, if any.
  Starting a new run abandons older unfinished ones (their staged offers are deleted).
* **Resume**: offers are staged under the run id as they are crawled (keyed, so re-staging never
  duplicates) and only published at the end. Each marketplace gets a Scrapy ``JOBDIR`` under
  ``<db>.state/jobs/<run_id>/``. Scrapy writes its queue state only on a graceful stop, so a ``JOBDIR``
  is reused only if the last attempt stopped gracefully (SIGINT/SIGTERM: ``CLEAN`` marker); after a
  SIGKILL it is discarded and the walk starts again (cheap with the HTTP cache), while the offers staged
  before the kill are kept. Either way nothing crawled is lost and nothing is stored twice.
* **Status** (``service.outcome``): what actually happened, always. Per marketplace from Scrapy's stats
  and the offers staged for the run; a stage that fails (a full disk, a damaged database, a signal, the
  deadline) is one clear line saying what failed and what was kept, and the runs table says the same.
  Exit 0 all well, 3 some marketplaces failed (the rest published), 4 nothing published, 5 published but
  the alerts (or the run's record) could not be written.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.redact import url_secrets
from crawler.config import Marketplace, MarketplacesFile, load_config, select_marketplaces
from crawler.httpcache import cache_settings
from crawler.runner import CrawlReport, MarketplaceReport, ProgressCallback, new_run_id, run_crawl
from service.alerts import alerts_file, feed_path, run_alerts
from service.errors import ExitCode, UserError
from service.lock import run_lock, update_holder
from service.logging_setup import remember_secrets
from service.match import run_match
from service.outcome import DONE, RunReport, failed_stage, finished, record
from service.state import ensure_reserve, state_dir
from service.stopping import RunStopped, Stopper
from storage import connected
from storage.db import check_path, one_row
from storage.failures import DiskFull, disk_full_message
from storage.history import mark_gone
from storage.offers import commit_run, fail_unfinished, settle_committed, staged_count, start_run
from storage.snapshots import check_snapshots_dir, publish

log = logging.getLogger("bijia.run")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
"""A run id names a folder (``<db>.state/jobs/<run_id>``): no separators, no ``..``."""
UNFINISHED = ("running", "interrupted")
COMMITTED = "committed"
"""A run whose crawl is committed while it matches, publishes and sends alerts; a run found in this state
by a later run died on the way (SIGKILL, OOM) and is recorded failed."""
CLEAN = "CLEAN"

__all__ = ["RunReport", "run", "snapshots_for", "state_dir"]


def run(
    db_path: Path,
    *,
    config_path: Path | None = None,
    only: list[str] | None = None,
    run_id: str | None = None,
    resume: bool = False,
    snapshots_dir: Path | None = None,
    log_level: str = "ERROR",
    progress: ProgressCallback | None = None,
    scrapy_root_handler: bool = False,
    match_workers: int | None = None,
) -> RunReport:
    """Do one whole run; returns its report (``exit_code`` says what cron should know). ``match_workers``:
    processes for matching (default: the file's ``[run] match_workers``, else every usable core)."""
    started = time.monotonic()
    if run_id is not None and not RUN_ID.match(run_id):
        raise UserError(
            f"run id {run_id!r}: use 1-100 letters, digits, '.', '_' or '-' "
            "(it names a folder), starting with a letter or digit",
            ExitCode.USAGE,
        )
    db_path = Path(db_path)
    config = load_config(config_path)
    if match_workers is not None:
        config.run.match_workers = match_workers
    remember_secrets(config_secrets(config))
    markets = select_marketplaces(config, config_path, only)
    if not markets:
        raise UserError("no enabled marketplaces to crawl", ExitCode.CONFIG)
    check_path(db_path)
    target = snapshots_for(db_path, config, snapshots_dir)
    check_snapshots_dir(target)  # a bad --snapshots is said now, not after an hour of crawling
    max_seconds = config.run.max_minutes * 60
    with run_lock(db_path, max_seconds=max_seconds) as lock:
        run_id, resumed, report = _choose_run(db_path, run_id, resume)
        if report is not None:
            return report
        update_holder(lock, run_id=run_id)
        ensure_reserve(db_path)
        markets = _run_marketplaces(db_path, run_id, markets, config, config_path, resumed)
        report = RunReport(run_id, "running", ExitCode.OK, resumed, snapshots_dir=str(target))
        with Stopper(run_id, max_seconds) as stop:
            try:
                _stages(
                    db_path, markets, config, target, log_level, progress, scrapy_root_handler, report, stop
                )
            except (Exception, RunStopped, KeyboardInterrupt) as exc:  # noqa: BLE001 - recorded, exit code says it
                with stop.shielded():
                    failed_stage(report, exc, stop.reason, db_path)
            with stop.shielded():
                report.seconds = round(time.monotonic() - started, 2)
                record(db_path, report)
    return report


def config_secrets(config: MarketplacesFile) -> list[str]:
    """Secret values of the configuration, masked in every log line even where a library prints them
    without their URL: the secret parts of URLs, and the values of the variables channels read secrets from."""
    alerts = config.alerts
    found = url_secrets(alerts.webhook_url) if alerts.webhook_url else []
    for channel in alerts.channel:
        if url := getattr(channel, "url", None):
            found += url_secrets(url)
        for attr in ("url_env", "secret_env", "password_env"):
            value = os.environ.get(getattr(channel, attr, None) or "")
            if value:
                found += [value, *url_secrets(value)]
    return found


def _choose_run(db_path: Path, run_id: str | None, resume: bool) -> tuple[str, bool, RunReport | None]:
    """(run id, resumed?, a report when there is nothing to do)."""
    with connected(db_path) as con:
        _settle_dead_runs(con)
        if run_id is not None:
            row = con.execute("SELECT kind, status FROM runs WHERE run_id = ?", [run_id]).fetchone()
            if row and row[0] != "run":
                raise UserError(f"run id {run_id!r} belongs to a `bijia {row[0]}` run, not to `bijia run`")
            if row and row[1] in ("finished", "partial"):
                log.info(
                    "run %s is %s already; nothing to do",
                    run_id,
                    row[1],
                    extra={"event": "run_already_done", "run_id": run_id, "status": row[1]},
                )
                note = f"run {run_id} was {row[1]} already; nothing done"
                return run_id, False, RunReport(run_id, f"already-{row[1]}", DONE[row[1]], notes=[note])
            resumed = row is not None
        else:
            row = con.execute(
                "SELECT run_id, status FROM runs WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1"
            ).fetchone()
            resumed = bool(resume and row and row[1] in UNFINISHED)
            run_id = row[0] if resumed and row else new_run_id()
            if resume and not resumed:
                log.info(
                    "nothing to resume; starting run %s",
                    run_id,
                    extra={"event": "nothing_to_resume", "run_id": run_id},
                )
        _abandon_others(con, db_path, run_id)
        return run_id, resumed, None


def _settle_dead_runs(con) -> None:
    """Runs left ``committed`` never recorded their outcome (we hold the lock: they are not running — killed,
    or the disk was full): record them failed, their crawl kept (this run publishes it)."""
    note = "never recorded its outcome after its crawl was committed (killed, or the disk was full)"
    for old in settle_committed(con, COMMITTED, note, int(ExitCode.FAILED)):
        log.warning("run %s %s; recorded failed", old, note, extra={"event": "run_died", "run_id": old})
    fail_unfinished(con, "match")  # a match that died with its run (a live one holds the file)


def _abandon_others(con, db_path: Path, run_id: str) -> None:
    """Unfinished runs other than ``run_id`` can never be resumed once a newer run starts; failed runs'
    staged offers are never committed."""
    stale = [
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE kind = 'run' AND list_contains(?, status) AND run_id <> ?",
            [list(UNFINISHED), run_id],
        ).fetchall()
    ]
    for old in stale:
        con.execute("DELETE FROM staging_offers WHERE run_id = ?", [old])
        con.execute("UPDATE runs SET status = 'abandoned' WHERE run_id = ?", [old])
        shutil.rmtree(state_dir(db_path) / "jobs" / old, ignore_errors=True)
        log.warning(
            "abandoned unfinished run %s (resume it with `bijia run --resume` next time)",
            old,
            extra={"event": "run_abandoned", "run_id": old},
        )
    con.execute(
        "DELETE FROM staging_offers WHERE run_id IN "
        "(SELECT run_id FROM runs WHERE kind = 'run' AND status = 'failed' AND run_id <> ?)",
        [run_id],
    )


def _run_marketplaces(
    db_path: Path,
    run_id: str,
    markets: list[Marketplace],
    config: MarketplacesFile,
    config_path: Path | None,
    resumed: bool,
) -> list[Marketplace]:
    """Record the run as running; a resumed run keeps the marketplaces it started with."""
    with connected(db_path) as con:
        if resumed:
            (stored,) = one_row(con, "SELECT marketplaces FROM runs WHERE run_id = ?", [run_id])
            if stored and sorted(stored) != sorted(m.name for m in markets):
                log.info(
                    "resuming run %s with its marketplaces %s",
                    run_id,
                    ", ".join(stored),
                    extra={"event": "resume_marketplaces", "run_id": run_id, "marketplaces": stored},
                )
                markets = select_marketplaces(config, config_path, list(stored), include_disabled=True)
        names = [m.name for m in markets]
        settings = {
            "marketplaces": names,
            "alerts": config.alerts.model_dump(),
            "run": config.run.model_dump(),
        }
        start_run(con, run_id, "run", names, settings)
    log.info(
        "run %s %s: %s",
        run_id,
        "resumed" if resumed else "started",
        ", ".join(m.name for m in markets),
        extra={"event": "run_resumed" if resumed else "run_started", "run_id": run_id, "marketplaces": names},
    )
    return markets


def crawl_extra_settings(
    db_path: Path, config: MarketplacesFile, scrapy_root_handler: bool
) -> dict[str, Any]:
    extra: dict[str, Any] = {"LOG_INSTALL_ROOT_HANDLER": scrapy_root_handler}
    if config.run.batch_size:
        extra["BIJIA_BATCH_SIZE"] = config.run.batch_size
    if config.run.http_cache:
        extra.update(cache_settings(str((state_dir(db_path) / "httpcache").resolve())))
    return extra


def _stages(
    db_path: Path,
    markets: list[Marketplace],
    config: MarketplacesFile,
    target: Path,
    log_level: str,
    progress: ProgressCallback | None,
    scrapy_root_handler: bool,
    report: RunReport,
    stop: Stopper,
) -> None:
    """crawl → commit → match → publish → alerts; ``report.stage`` names the one running (an exception
    from it is recorded by ``failed_stage``)."""
    crawl = _crawl(db_path, markets, config, log_level, progress, scrapy_root_handler, report, stop)
    if crawl is None:
        return
    report.stage = "commit"
    if not _commit(db_path, crawl, config, report):
        return
    steps: list[tuple[str, Callable[[], None]]] = [
        ("match", lambda: _match(db_path, report, config.run.match_workers)),
        ("publish", lambda: _publish(db_path, target, report)),
        ("alerts", lambda: _alerts(db_path, config, target, report)),
    ]
    for name, step in steps:
        report.stage = name
        step()
    report.stage = "record"


def _crawl(
    db_path: Path,
    markets: list[Marketplace],
    config: MarketplacesFile,
    log_level: str,
    progress: ProgressCallback | None,
    scrapy_root_handler: bool,
    report: RunReport,
    stop: Stopper,
) -> CrawlReport | None:
    """Crawl into staging (not published). Returns ``None`` when the crawl was interrupted."""
    run_id = report.run_id
    jobdir = state_dir(db_path) / "jobs" / run_id
    if jobdir.exists() and not (jobdir / CLEAN).exists():
        shutil.rmtree(jobdir)
        report.notes.append(
            "the last attempt was killed: its crawl queue was discarded, its staged offers kept"
        )
        log.info(
            "run %s: discarding the crawl queue of a killed attempt (staged offers are kept)",
            run_id,
            extra={"event": "jobdir_discarded", "run_id": run_id},
        )
    (jobdir / CLEAN).unlink(missing_ok=True)
    jobdir.mkdir(parents=True, exist_ok=True)
    crawl = run_crawl(
        markets,
        db_path=db_path,
        run_id=run_id,
        log_level=log_level,
        jobdir=jobdir,
        progress=progress,
        extra_settings=crawl_extra_settings(db_path, config, scrapy_root_handler),
        publish=False,
    )
    stop.install()  # Scrapy's signal handlers stay behind after the crawl: ours again for the stages
    (jobdir / CLEAN).touch()
    report.marketplaces = _with_staged(db_path, run_id, crawl.marketplaces)
    if crawl.disk_full is not None:  # Scrapy logged it and went on: the crawl is not what the shops hold
        path = crawl.disk_full or str(jobdir)
        raise DiskFull(disk_full_message(path), path)
    if stop.reason or any(m.finish_reason == "shutdown" for m in crawl.marketplaces):
        reason = stop.reason or "interrupted"
        report.status, report.exit_code = "interrupted", ExitCode.FAILED
        report.notes.append(f"{reason}: nothing published; `bijia run --resume` continues this run")
        log.error(
            "run %s %s; nothing published; `bijia run --resume` continues it",
            run_id,
            reason,
            extra={"event": "run_interrupted", "run_id": run_id},
        )
        return None
    return crawl


def _with_staged(db_path: Path, run_id: str, reports: list[MarketplaceReport]) -> list[MarketplaceReport]:
    """Re-derive each marketplace's status from the offers staged by every attempt of the run (a resumed
    crawl scrapes only what the killed attempt had not staged yet)."""
    with connected(db_path) as con:
        staged = staged_count(con, run_id)
    for m in reports:
        scraped, m.offers = m.offers, staged.get(m.name, 0)
        if m.finish_reason != "finished":
            continue
        if m.offers == 0:
            m.status = "failed"
            m.reason = m.reason or "no offers"
        elif m.status == "failed" and scraped == 0 and not m.errors:  # resumed: all was staged before
            m.status, m.reason = "ok", ""
    return reports


def _commit(db_path: Path, crawl: CrawlReport, config: MarketplacesFile, report: RunReport) -> bool:
    """Publish the crawl into the working database (one transaction); ``False`` when nothing was ok."""
    ok = [m.name for m in report.marketplaces if m.status != "failed"]
    finished(report, "finished" if len(ok) == len(report.marketplaces) else ("partial" if ok else "failed"))
    with connected(db_path) as con:
        status = COMMITTED if ok else report.status
        report.published = commit_run(con, crawl.run_id, ok, status, report.summary(final=not ok))
        report.committed = True
        report.gone = mark_gone(con, ok, config.run.gone_after_runs) if ok else 0
    shutil.rmtree(state_dir(db_path) / "jobs" / crawl.run_id, ignore_errors=True)
    for m in report.marketplaces:
        log.log(
            logging.INFO if m.status == "ok" else logging.WARNING,  # degraded: a cap cut it, say so
            "%s: %s, %d pages, %d offers, %d errors, %.1fs%s",
            m.name,
            m.status,
            m.pages,
            m.offers,
            m.errors,
            m.seconds,
            f" ({m.reason})" if m.reason else "",
            extra={
                "event": "marketplace",
                "run_id": crawl.run_id,
                "marketplace": m.name,
                **{k: v for k, v in m.to_dict().items() if k != "name"},
            },
        )
    return bool(ok)


def _match(db_path: Path, report: RunReport, workers: int | None) -> None:
    match = run_match(db_path, workers=workers)
    report.products = match.products
    log.info(
        "matched %d offers into %d products",
        match.offers,
        match.products,
        extra={
            "event": "matched",
            "run_id": report.run_id,
            "match_run_id": match.run_id,
            **{k: v for k, v in match.__dict__.items() if k != "run_id"},
        },
    )


def snapshots_for(db_path: Path, config: MarketplacesFile, snapshots_dir: Path | None) -> Path:
    if snapshots_dir is not None:
        return Path(snapshots_dir)
    if config.run.snapshots_dir:
        return Path(config.run.snapshots_dir)
    return Path(db_path).parent / "snapshots"


def _publish(db_path: Path, target: Path, report: RunReport) -> None:
    report.snapshot = publish(db_path, target, keep=3)
    log.info(
        "published snapshot %s to %s",
        report.snapshot,
        target,
        extra={"event": "published", "run_id": report.run_id, "snapshot": report.snapshot},
    )


def _alerts(db_path: Path, config: MarketplacesFile, target: Path, report: RunReport) -> None:
    with connected(db_path) as con:
        report.alerts = run_alerts(
            con, report.run_id, config.alerts, alerts_file(db_path, config.alerts), feed_path(target)
        )
    report.notes += [
        f"alert channel {name} {outcome}"
        for name, outcome in report.alerts.channels.items()
        if outcome.startswith("failed")
    ]
