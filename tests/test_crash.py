"""Crash test: `bijia run` killed with SIGKILL at random points, then `bijia run --resume`.

After each kill the published snapshot is still the previous good one (or, when the kill came after the
swap, the new complete one), a run is never recorded finished before it has finished, and the resumed run
completes with exact counts: every true listing stored
once with the right landed price, one history row per listing and committed run, staging empty.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from demo.catalogue import generate_catalogue
from demo.server import DemoServer
from tests.test_faults_harness import BIJIA, PLAIN_SHOPS, ROOT, assert_exact, bijia_env, truth

pytestmark = pytest.mark.slow
TRIALS = int(os.environ.get("BIJIA_CRASH_TRIALS", "20"))
SEED = int(os.environ.get("BIJIA_CRASH_SEED", "20261125"))


def _run_args(db: Path, snaps: Path, *extra: str) -> list[str]:
    return [
        *BIJIA,
        "run",
        "--db",
        str(db),
        "--snapshots",
        str(snaps),
        *[a for s in PLAIN_SHOPS for a in ("-m", s)],
        *extra,
    ]


def _current(snaps: Path) -> str | None:
    from storage.snapshots import current_snapshot

    snap = current_snapshot(snaps)
    return snap.id if snap else None


def _snapshot_offers(snaps: Path) -> int:
    from storage.snapshots import current_snapshot

    snap = current_snapshot(snaps)
    assert snap is not None and snap.path.is_file()
    con = duckdb.connect(str(snap.path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM offers").fetchone()[0]
    finally:
        con.close()


def _db_state(db: Path) -> tuple[str | None, str | None, int]:
    """(newest run id, its status, staged rows) — where the kill landed."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT run_id, status FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
        (staged,) = con.execute("SELECT count(*) FROM staging_offers").fetchone()
    finally:
        con.close()
    return (row[0], row[1], staged) if row else (None, None, staged)


def _committed_runs(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(DISTINCT run_id) FROM prices").fetchone()[0]
    finally:
        con.close()


def _complete(db: Path, snaps: Path, env: dict[str, str], *extra: str) -> float:
    started = time.monotonic()
    done = subprocess.run(
        _run_args(db, snaps, *extra), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - started


@pytest.mark.timeout(1800)  # ~3 minutes on 2 idle cores; a busy shared machine needs more
def test_sigkill_at_random_points_then_resume(tmp_path: Path):
    rng = random.Random(SEED)
    db, snaps = tmp_path / "b.duckdb", tmp_path / "snapshots"
    with DemoServer(generate_catalogue(24, 3)) as server:
        env = bijia_env(server.base_url)
        expected = truth(server)
        total = sum(len(expected[s]) for s in PLAIN_SHOPS)
        full = _complete(db, snaps, env)
        assert_exact(db, expected, PLAIN_SHOPS)
        good = _current(snaps)
        assert good is not None and _snapshot_offers(snaps) == total
        landed: dict[str, int] = {}
        for trial in range(TRIALS):
            last_run = _db_state(db)[0]
            delay = rng.uniform(0.3, 0.95 * full)
            proc = subprocess.Popen(
                _run_args(db, snaps), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(delay)
            alive = proc.poll() is None
            if alive:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            run_id, status, staged = _db_state(db)
            now = _current(snaps)
            if not alive:
                where = "after the run ended"
            elif now != good:  # the kill came after the new snapshot was swapped in: it must be complete
                # and the run is finished only if it lived to record that (else the next run settles it)
                assert status in ("committed", "finished"), (trial, delay, status)
                where = "after publish"
            elif run_id == last_run:
                where = "before the run started"
            elif status == "running":
                where = "during the crawl"
            else:
                where = f"after commit ({status}), before publish"
            landed[where] = landed.get(where, 0) + 1
            assert _snapshot_offers(snaps) == total, (trial, delay)  # whichever it is, it is whole

            _complete(db, snaps, env, "--resume")
            got = assert_exact(db, expected, PLAIN_SHOPS)
            assert got.offer_rows == total
            assert set(got.prices.values()) == {1}
            assert len(got.prices) == total * _committed_runs(db), "a run's history is partial"
            assert _current(snaps) != good, "the resumed run published a new snapshot"
            good = _current(snaps)
            assert _snapshot_offers(snaps) == total
    print(f"\n{TRIALS} SIGKILL trials (seed {SEED}, full run {full:.1f}s): {landed}")
    assert landed.get("during the crawl", 0) >= TRIALS // 3, landed
