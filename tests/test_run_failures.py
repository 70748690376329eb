"""Every failure point of ``bijia run``, in process: the crawl, the commit, matching, publishing, alerts and
recording the outcome each fail once (a full disk where a full disk can happen, a bug elsewhere). Each time
the report, the exit code and the runs table say the same thing, the note says what failed and what was
kept, the database and the published snapshot stay usable, and the next run completes with exact counts.

The crawl is replaced by one that stages known offers (Scrapy's event loop runs once per process); the
rest of the run is the real one.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import service.alerts
import service.outcome
import service.run
import storage.snapshots
from crawler.runner import CrawlReport, MarketplaceReport
from service.errors import ExitCode
from service.run import run
from storage import connected
from storage.offers import stage_offers, start_run
from storage.snapshots import current_snapshot
from tests.conftest import make_offer

SHOPS = ("alpha", "beta")
TITLES = ["Apple iPhone 15 128GB Black", "Sony WH-1000XM5 Headphones", "Xiaomi Mi Band 8"]
DISK_FULL = 'Could not write file "{}": No space left on device'


@dataclass
class Setup:
    db: Path
    config: Path
    snaps: Path
    alerts: Path
    prices: dict[str, str]

    def run(self, **kwargs) -> service.run.RunReport:
        return run(self.db, config_path=self.config, snapshots_dir=self.snaps, **kwargs)

    def row(self, run_id: str) -> tuple[str, dict]:
        with connected(self.db, read_only=True) as con:
            status, stats = con.execute(
                "SELECT status, stats FROM runs WHERE run_id = ?", [run_id]
            ).fetchone()
        return status, json.loads(stats or "{}")

    def offers(self) -> set[tuple[str, str, str]]:
        with connected(self.db, read_only=True) as con:
            rows = con.execute("SELECT marketplace, listing_id, price FROM offers").fetchall()
        return {(m, lid, f"{p:.2f}") for m, lid, p in rows}

    def expected(self) -> set[tuple[str, str, str]]:
        return {
            (shop, f"{shop}-{i}", self.prices[f"{shop}-{i}"]) for shop in SHOPS for i in range(len(TITLES))
        }


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    alerts = tmp_path / "alerts.jsonl"
    config = tmp_path / "m.toml"
    config.write_text(
        "".join(
            f'[[marketplace]]\nname = "{s}"\nshape = "jsonld"\nbase_url = "http://127.0.0.1:9/{s}/"\n'
            for s in SHOPS
        )
        + f'[alerts]\nfile = "{alerts}"\n',
        encoding="utf-8",
    )
    prices = {
        f"{s}-{i}": f"{100 + 10 * i + (5 if s == 'beta' else 0)}.00"
        for s in SHOPS
        for i in range(len(TITLES))
    }
    setup = Setup(tmp_path / "b.duckdb", config, tmp_path / "snaps", alerts, prices)

    def fake_crawl(markets, *, db_path, run_id, **_: object) -> CrawlReport:
        offers = [
            make_offer(m.name, f"{m.name}-{i}", title, setup.prices[f"{m.name}-{i}"])
            for m in markets
            for i, title in enumerate(TITLES)
        ]
        with connected(db_path) as con:
            start_run(con, run_id, "crawl", [m.name for m in markets])
            stage_offers(con, run_id, offers)
        reports = [
            MarketplaceReport(m.name, "ok", 1, len(TITLES), 0, 0, 0.1, finish_reason="finished")
            for m in markets
        ]
        return CrawlReport(run_id, "finished", 0, reports)

    monkeypatch.setattr(service.run, "run_crawl", fake_crawl)
    return setup


def disk_full(path: Path) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def break_crawl(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args, **kwargs):
        raise disk_full(Path(f"{setup.db}.state") / "jobs" / "q" / "p0")

    monkeypatch.setattr(service.run, "run_crawl", full)


def break_commit(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """The COMMIT of the crawl's transaction fails as DuckDB's does on a full disk (rolled back already)."""
    real = service.run.commit_run

    class FullAtCommit:
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con = con

        def execute(self, sql: str, params: object = None) -> object:
            if sql == "COMMIT":
                self.con.execute("ROLLBACK")
                raise duckdb.TransactionException(
                    "TransactionContext Error: Failed to commit: " + DISK_FULL.format(f"{setup.db}.wal")
                )
            return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    monkeypatch.setattr(service.run, "commit_run", lambda con, *a: real(FullAtCommit(con), *a))


def break_match(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(db_path, workers=None):
        raise RuntimeError("a bug in matching")

    monkeypatch.setattr(service.run, "run_match", bug)


def break_publish(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(working, out, *args):
        out.write_bytes(b"x" * 100)  # half-written
        raise duckdb.IOException("IO Error: " + DISK_FULL.format(out))

    monkeypatch.setattr(storage.snapshots, "_build", full)


def break_alerts(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path, rows):
        raise disk_full(path)

    monkeypatch.setattr(service.alerts, "append_jsonl", full)


def break_record(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(con, run_id, status, stats):
        raise duckdb.TransactionException(
            "TransactionContext Error: Failed to commit: " + DISK_FULL.format("x.wal")
        )

    monkeypatch.setattr(service.outcome, "finish_run", full)


# (breaker, exit code, recorded status, words in the note, the crawl committed?)
CASES: dict[str, tuple[Callable, ExitCode, str, tuple[str, ...], bool]] = {
    "crawl": (break_crawl, ExitCode.FAILED, "failed", ("disk full writing", "nothing published"), False),
    "commit": (
        break_commit,
        ExitCode.FAILED,
        "failed",
        ("disk full writing", ".wal", "as before this run"),
        False,
    ),
    "match": (break_match, ExitCode.FAILED, "failed", ("RuntimeError: a bug in matching", "committed"), True),
    "publish": (
        break_publish,
        ExitCode.FAILED,
        "failed",
        ("disk full writing", ".tmp", "is unchanged"),
        True,
    ),
    "alerts": (break_alerts, ExitCode.INCOMPLETE, "finished", ("disk full writing", "alerts.jsonl"), True),
    "record": (break_record, ExitCode.INCOMPLETE, "committed", ("record failed", "disk full writing"), True),
}


@pytest.mark.parametrize("stage", list(CASES))
def test_a_failed_stage_is_recorded_as_what_happened(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, stage: str
):
    breaker, code, status, words, committed = CASES[stage]
    first = setup.run()
    assert first.exit_code == ExitCode.OK and setup.offers() == setup.expected()
    good = current_snapshot(setup.snaps)
    assert good is not None and good.id == first.snapshot
    before = setup.offers()
    setup.prices["alpha-0"] = "80.00"  # a price drop: the second run has an alert to write

    with monkeypatch.context() as patch:
        breaker(setup, patch)
        report = setup.run()
    assert (report.exit_code, report.failed_stage) == (code, stage), report.notes
    note = next(n for n in report.notes if n.startswith(f"{stage} "))
    assert all(w in note for w in words), note
    recorded, stats = setup.row(report.run_id)
    assert recorded == status
    if stage != "record":
        assert (report.status, stats["exit_code"], stats["failed_stage"]) == (status, int(code), stage)
        assert note in stats["notes"]
    # the database and the published snapshot stay usable; nothing half-published
    assert setup.offers() == (setup.expected() if committed else before)
    snap = current_snapshot(setup.snaps)
    assert snap is not None and (snap.id == good.id) == (stage not in ("alerts", "record"))
    with connected(snap.path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM offers").fetchone() == (len(before),)
    assert not list(setup.snaps.glob(".*.tmp*"))

    again = setup.run()
    assert again.exit_code == ExitCode.OK, again.notes
    assert setup.offers() == setup.expected()
    assert setup.row(again.run_id)[0] == "finished"
    if stage == "record":  # the run that could not record its outcome is settled by the next one
        settled, stats = setup.row(report.run_id)
        assert settled == "failed" and "never recorded its outcome" in stats["died"]
    with connected(setup.db, read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM runs WHERE status IN ('running', 'committed')"
        ).fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM staging_offers").fetchone() == (0,)


def test_a_run_killed_after_its_commit_is_never_recorded_finished(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
):
    """The process dies during publishing (here: the publish never returns to the run): the runs table
    must not say finished with exit 0, and the next run says what became of it."""
    setup.run()

    class Killed(BaseException):
        pass

    def die(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(service.run, "publish", die)
        with pytest.raises(Killed):
            setup.run()
    with connected(setup.db, read_only=True) as con:
        ((run_id, status, stats),) = con.execute(
            "SELECT run_id, status, stats FROM runs WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    assert status == "committed" and json.loads(stats)["exit_code"] is None
    assert setup.run().exit_code == ExitCode.OK
    settled, stats = setup.row(run_id)
    assert settled == "failed" and stats["exit_code"] == ExitCode.FAILED
