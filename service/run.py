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
* **Status**: per marketplace from Scrapy's stats and the offers staged for the run (all attempts);
  exit 0 all well, 3 some marketplaces failed (the rest published), 4 nothing published (every
  marketplace failed, the run was interrupted, or matching/publishing failed).
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.config import Marketplace, MarketplacesFile, load_config, select_marketplaces
from crawler.runner import CrawlReport, MarketplaceReport, ProgressCallback
from service.alerts import AlertsReport, feed_path
from service.errors import ExitCode, UserError

log = logging.getLogger("bijia.run")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
"""A run id names a folder (``<db>.state/jobs/<run_id>``): no separators, no ``..``."""
UNFINISHED = ("running", "interrupted")
DONE = {"finished": ExitCode.OK, "partial": ExitCode.PARTIAL, "failed": ExitCode.FAILED}
CLEAN = "CLEAN"


@dataclass
class RunReport:
    run_id: str
    status: str  # finished | partial | failed | interrupted | already-<status>
    exit_code: ExitCode
    resumed: bool = False
    marketplaces: list[MarketplaceReport] = field(default_factory=list)
    published: int = 0
    gone: int = 0
    products: int | None = None
    snapshot: str | None = None
    alerts: AlertsReport | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """What the runs table keeps (``bijia runs``)."""
        return {
            "marketplaces": {m.name: m.to_dict() for m in self.marketplaces},
            "published": self.published,
            "gone": self.gone,
            "products": self.products,
            "snapshot": self.snapshot,
            "alerts": self.alerts.to_dict() if self.alerts else None,
            "resumed": self.resumed,
            "notes": self.notes,
            "exit_code": int(self.exit_code),
            "seconds": self.seconds,
        }


def state_dir(db_path: Path) -> Path:
    return Path(f"{db_path}.state")


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
) -> RunReport:
    """Do one whole run; returns its report (``exit_code`` says what cron should know)."""
    from service.lock import run_lock, update_holder

    started = time.monotonic()
    if run_id is not None and not RUN_ID.match(run_id):
        raise UserError(
            f"run id {run_id!r}: use 1-100 letters, digits, '.', '_' or '-' "
            "(it names a folder), starting with a letter or digit",
            ExitCode.USAGE,
        )
    db_path = Path(db_path)
    config = load_config(config_path)
    markets = select_marketplaces(config, config_path, only)
    if not markets:
        raise UserError("no enabled marketplaces to crawl", ExitCode.CONFIG)
    with run_lock(db_path) as lock:
        run_id, resumed, report = _choose_run(db_path, run_id, resume)
        if report is not None:
            return report
        update_holder(lock, run_id=run_id)
        markets = _run_marketplaces(db_path, run_id, markets, config, config_path, resumed)
        report = RunReport(run_id, "running", ExitCode.OK, resumed)
        crawl = _crawl(db_path, run_id, markets, config, log_level, progress, scrapy_root_handler, report)
        if crawl is not None:
            _finish(db_path, crawl, config, snapshots_dir, report)
        report.seconds = round(time.monotonic() - started, 2)
        _record(db_path, report)
    return report


def _choose_run(db_path: Path, run_id: str | None, resume: bool) -> tuple[str, bool, RunReport | None]:
    """(run id, resumed?, a report when there is nothing to do)."""
    from crawler.runner import new_run_id
    from storage import connect

    con = connect(db_path)
    try:
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
                return (
                    run_id,
                    False,
                    RunReport(
                        run_id,
                        f"already-{row[1]}",
                        DONE[row[1]],
                        notes=[f"run {run_id} was {row[1]} already; nothing done"],
                    ),
                )
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
    finally:
        con.close()


def _abandon_others(con, db_path: Path, run_id: str) -> None:
    """Unfinished runs other than ``run_id`` can never be resumed once a newer run starts."""
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


def _run_marketplaces(
    db_path: Path,
    run_id: str,
    markets: list[Marketplace],
    config: MarketplacesFile,
    config_path: Path | None,
    resumed: bool,
) -> list[Marketplace]:
    """Record the run as running; a resumed run keeps the marketplaces it started with."""
    from storage import connect
    from storage.db import one_row
    from storage.offers import start_run

    con = connect(db_path)
    try:
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
        start_run(
            con,
            run_id,
            "run",
            [m.name for m in markets],
            {
                "marketplaces": [m.name for m in markets],
                "alerts": config.alerts.model_dump(),
                "run": config.run.model_dump(),
            },
        )
    finally:
        con.close()
    log.info(
        "run %s %s: %s",
        run_id,
        "resumed" if resumed else "started",
        ", ".join(m.name for m in markets),
        extra={
            "event": "run_resumed" if resumed else "run_started",
            "run_id": run_id,
            "marketplaces": [m.name for m in markets],
        },
    )
    return markets


def crawl_extra_settings(
    db_path: Path, config: MarketplacesFile, scrapy_root_handler: bool
) -> dict[str, Any]:
    extra: dict[str, Any] = {"LOG_INSTALL_ROOT_HANDLER": scrapy_root_handler}
    if config.run.batch_size:
        extra["BIJIA_BATCH_SIZE"] = config.run.batch_size
    if config.run.http_cache:
        from crawler.httpcache import cache_settings

        extra.update(cache_settings(str((state_dir(db_path) / "httpcache").resolve())))
    return extra


def _crawl(
    db_path: Path,
    run_id: str,
    markets: list[Marketplace],
    config: MarketplacesFile,
    log_level: str,
    progress: ProgressCallback | None,
    scrapy_root_handler: bool,
    report: RunReport,
) -> CrawlReport | None:
    """Crawl into staging (not published). Returns ``None`` when the crawl was interrupted."""
    from crawler.runner import run_crawl

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
    (jobdir / CLEAN).touch()
    report.marketplaces = _with_staged(db_path, run_id, crawl.marketplaces)
    if any(m.finish_reason == "shutdown" for m in crawl.marketplaces):
        report.status, report.exit_code = "interrupted", ExitCode.FAILED
        report.notes.append("interrupted: nothing published; `bijia run --resume` continues this run")
        log.error(
            "run %s interrupted; nothing published; `bijia run --resume` continues it",
            run_id,
            extra={"event": "run_interrupted", "run_id": run_id},
        )
        return None
    return crawl


def _with_staged(db_path: Path, run_id: str, reports: list[MarketplaceReport]) -> list[MarketplaceReport]:
    """Re-derive each marketplace's status from the offers staged by every attempt of the run (a resumed
    crawl scrapes only what the killed attempt had not staged yet)."""
    from storage import connect
    from storage.offers import staged_count

    con = connect(db_path)
    try:
        staged = staged_count(con, run_id)
    finally:
        con.close()
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


def _finish(
    db_path: Path, crawl: CrawlReport, config: MarketplacesFile, snapshots_dir: Path | None, report: RunReport
) -> None:
    from storage import connect
    from storage.history import mark_gone
    from storage.offers import commit_run

    ok = [m.name for m in report.marketplaces if m.status != "failed"]
    report.status = "finished" if len(ok) == len(report.marketplaces) else ("partial" if ok else "failed")
    report.exit_code = DONE[report.status]
    con = connect(db_path)
    try:
        report.published = commit_run(con, crawl.run_id, ok, report.status, report.summary())
        report.gone = mark_gone(con, ok, config.run.gone_after_runs) if ok else 0
    finally:
        con.close()
    shutil.rmtree(state_dir(db_path) / "jobs" / crawl.run_id, ignore_errors=True)
    for m in report.marketplaces:
        level = logging.WARNING if m.status == "failed" else logging.INFO
        log.log(
            level,
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
    if not ok:
        return
    if not _stage(report, "match", lambda: _match(db_path, report)):
        return
    if _stage(report, "publish", lambda: _publish(db_path, snapshots_dir, config, report)):
        feed = feed_path(snapshots_for(db_path, config, snapshots_dir))
        _stage(report, "alerts", lambda: _alerts(db_path, config, report, feed), fatal=False)


def _stage(report: RunReport, name: str, step, *, fatal: bool = True) -> bool:
    try:
        step()
        return True
    except Exception as exc:  # a failed stage is reported in the exit code and the runs table
        report.notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
        log.error(
            "run %s: %s failed: %s",
            report.run_id,
            name,
            exc,
            exc_info=True,
            extra={"event": f"{name}_failed", "run_id": report.run_id},
        )
        if fatal:
            report.exit_code = ExitCode.FAILED
        return False


def _match(db_path: Path, report: RunReport) -> None:
    from service.match import run_match

    match = run_match(db_path)
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


def _publish(db_path: Path, snapshots_dir: Path | None, config: MarketplacesFile, report: RunReport) -> None:
    try:
        from storage.snapshots import publish
    except ImportError:
        report.notes.append("no storage.snapshots module: publishing skipped")
        return
    target = snapshots_for(db_path, config, snapshots_dir)
    report.snapshot = publish(db_path, target, keep=3)
    log.info(
        "published snapshot %s to %s",
        report.snapshot,
        target,
        extra={"event": "published", "run_id": report.run_id, "snapshot": report.snapshot},
    )


def _alerts(db_path: Path, config: MarketplacesFile, report: RunReport, feed: Path) -> None:
    from service.alerts import alerts_file, run_alerts
    from storage import connect

    con = connect(db_path)
    try:
        report.alerts = run_alerts(
            con, report.run_id, config.alerts, alerts_file(db_path, config.alerts), feed
        )
    finally:
        con.close()
    report.notes += [
        f"alert channel {name} {outcome}"
        for name, outcome in report.alerts.channels.items()
        if outcome.startswith("failed")
    ]


def _record(db_path: Path, report: RunReport) -> None:
    from storage import connect
    from storage.offers import finish_run

    con = connect(db_path)
    try:
        finish_run(con, report.run_id, report.status, report.summary())
    finally:
        con.close()
    level = logging.INFO if report.exit_code == ExitCode.OK else logging.ERROR
    done = [f"{report.published} offers published"]
    if report.products is not None:
        done.append(f"{report.products} products")
    if report.snapshot:
        done.append(f"snapshot {report.snapshot}")
    if report.alerts:
        done.append(f"{report.alerts.new} alert(s)")
    log.log(
        level,
        "run %s %s (exit %d): %s",
        report.run_id,
        report.status,
        report.exit_code,
        "; ".join([", ".join(done), *report.notes]),
        extra={
            "event": "run_finished",
            "run_id": report.run_id,
            "status": report.status,
            "exit_code": int(report.exit_code),
            "published": report.published,
            "gone": report.gone,
            "products": report.products,
            "snapshot": report.snapshot,
            "alerts": report.alerts.new if report.alerts else 0,
            "seconds": report.seconds,
        },
    )
