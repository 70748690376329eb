"""What a run reports: its status, exit code and notes — and the one line that says what failed and what was
kept when a stage fails.

The status and exit code are those of what actually happened:

| failed stage | status | exit | kept |
|---|---|---|---|
| crawl, commit | failed (interrupted when stopped) | 4 | the database and the snapshot as before the run |
| match, publish | failed | 4 | the committed crawl; the snapshot as before |
| alerts | finished / partial | 5 | the published snapshot; the run's alerts are missing |
| record | (what it was) | 5 or worse | everything; the runs table lags until the next run |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from crawler.runner import MarketplaceReport
from service.alerts import AlertsReport
from service.errors import ExitCode, worse
from service.state import release_reserve, state_dir
from service.stopping import RunStopped
from storage import connected
from storage.failures import StorageError, describe, disk_full_message, disk_full_path, first_line
from storage.offers import fail_unfinished, finish_run
from storage.snapshots import current_snapshot

log = logging.getLogger("bijia.run")
DONE = {"finished": ExitCode.OK, "partial": ExitCode.PARTIAL, "failed": ExitCode.FAILED}


@dataclass
class RunReport:
    run_id: str
    status: str  # running | committed | finished | partial | failed | interrupted | already-<status>
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
    stage: str = "crawl"
    """The stage running now (crawl, commit, match, publish, alerts, record); a failure names it."""
    failed_stage: str | None = None
    committed: bool = False
    disk_full: bool = False
    snapshots_dir: str | None = None
    error: BaseException | None = None
    """An unexpected exception (a bug, not a full disk): its traceback goes with the last log line (-v)."""

    def summary(self, *, final: bool = True) -> dict[str, Any]:
        """What the runs table keeps (``bijia runs``); ``final=False`` while the run goes on (no exit code
        yet: a run that dies before recording its outcome must not show one)."""
        return {
            "marketplaces": {m.name: m.to_dict() for m in self.marketplaces},
            "published": self.published,
            "gone": self.gone,
            "products": self.products,
            "snapshot": self.snapshot,
            "alerts": self.alerts.to_dict() if self.alerts else None,
            "resumed": self.resumed,
            "notes": self.notes,
            "failed_stage": self.failed_stage,
            "exit_code": int(self.exit_code) if final else None,
            "seconds": self.seconds,
        }


def finished(report: RunReport, status: str) -> None:
    report.status, report.exit_code = status, DONE[status]


def failed_stage(report: RunReport, exc: BaseException, stop_reason: str | None, db_path: Path) -> None:
    """Record that ``report.stage`` failed with ``exc``: status, exit code and one note saying what
    failed and what was kept."""
    stage = report.failed_stage = report.stage
    stopped = isinstance(exc, RunStopped | KeyboardInterrupt)
    reason = (stop_reason or "interrupted") if stopped else _reason(exc, stage, db_path, report)
    snapshot = _current(report)
    if stage in ("alerts", "record"):
        report.exit_code = worse(report.exit_code, ExitCode.INCOMPLETE)
        kept = f"kept: snapshot {report.snapshot}, published; this run's alerts were not all written"
    elif report.committed:
        report.status, report.exit_code = "failed", ExitCode.FAILED
        kept = "kept: the crawl, committed to the database (the next run publishes it); " + (
            f"the published snapshot {snapshot} is unchanged" if snapshot else "no snapshot published yet"
        )
    else:
        report.status, report.exit_code = ("interrupted" if stopped else "failed"), ExitCode.FAILED
        kept = "nothing published; kept: the database as before this run" + (
            f" and the published snapshot {snapshot}" if snapshot else ""
        )
        if stopped:
            kept += "; `bijia run --resume` continues it"
    report.notes.append(f"{stage} {'stopped' if stopped else 'failed'}: {reason}; {kept}")


def _reason(exc: BaseException, stage: str, db_path: Path, report: RunReport) -> str:
    """One line for a stage's exception; unexpected ones keep their traceback for ``-v``."""
    full = disk_full_path(exc)
    if full is not None:
        report.disk_full = True
        return disk_full_message(full or _stage_folder(stage, db_path, report))
    if isinstance(exc, StorageError):
        return str(exc)
    if isinstance(exc, duckdb.Error):
        return str(describe(exc, db_path))
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or first_line(exc)}"
    report.error = exc
    return f"{type(exc).__name__}: {first_line(exc)}"


def _stage_folder(stage: str, db_path: Path, report: RunReport) -> str:
    """The folder a stage writes, when a full disk did not say which file."""
    if stage == "publish" and report.snapshots_dir:
        return report.snapshots_dir
    if stage == "crawl":
        return str(state_dir(db_path) / "jobs")
    return str(db_path)


def _current(report: RunReport) -> str | None:
    try:
        snap = current_snapshot(Path(report.snapshots_dir)) if report.snapshots_dir else None
    except (StorageError, OSError):
        return None
    return snap.id if snap else None


def record(db_path: Path, report: RunReport) -> None:
    """Write the run's outcome to the runs table (best effort: a full disk or a damaged database must not
    hide the outcome; the exit code then says it) and log the last line."""
    if report.disk_full and release_reserve(db_path):
        report.notes.append("the 1 MB reserve beside the database was freed to record this")
    try:
        with connected(db_path) as con:
            finish_run(con, report.run_id, report.status, report.summary())
            if report.failed_stage == "match":
                fail_unfinished(con, "match")
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - never lose the outcome to bookkeeping
        report.failed_stage = report.failed_stage or "record"
        report.exit_code = worse(report.exit_code, ExitCode.INCOMPLETE)
        why = _reason(exc, "record", db_path, report)
        report.notes.append(
            f"record failed: {why}; the runs table does not show this outcome (the next run settles it)"
        )
    _log_outcome(report)


def _log_outcome(report: RunReport) -> None:
    done = [
        f"{report.published} offers {'published' if report.snapshot or not report.published else 'committed'}"
    ]
    if report.products is not None:
        done.append(f"{report.products} products")
    if report.snapshot:
        done.append(f"snapshot {report.snapshot}")
    if report.alerts:
        done.append(f"{report.alerts.new} alert(s)")
    log.log(
        logging.INFO if report.exit_code == ExitCode.OK else logging.ERROR,
        "run %s %s (exit %d): %s",
        report.run_id,
        report.status,
        report.exit_code,
        "; ".join([", ".join(done), *report.notes]),
        exc_info=report.error,
        extra={
            "event": "run_finished",
            "run_id": report.run_id,
            "status": report.status,
            "exit_code": int(report.exit_code),
            "failed_stage": report.failed_stage,
            "published": report.published,
            "gone": report.gone,
            "products": report.products,
            "snapshot": report.snapshot,
            "alerts": report.alerts.new if report.alerts else 0,
            "seconds": report.seconds,
        },
    )
