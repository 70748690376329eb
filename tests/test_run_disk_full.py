"""``bijia run`` on a really full disk: a small tmpfs (root mounts one; skipped with the reason otherwise).

The database folder (database, WAL, JOBDIR) or the snapshot folder fills up mid-run. Each time: one clear
line saying what is full and what was kept, no traceback, exit 4, the run recorded failed; the database and
the published snapshot stay readable with the last good data; once space is freed the next run completes
with exact counts. A disk too full to start says so before crawling anything (exit 1).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.catalogue import generate_catalogue
from demo.server import DemoServer
from storage.snapshots import current_snapshot
from tests.test_run import API_SHOPS, bijia, query, truth

pytestmark = pytest.mark.slow


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of our own (several engineers share this machine: never a system-wide one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not permitted'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path, leave: int) -> Path:
    """Take all free space of ``mount`` but ``leave`` bytes; returns the ballast file (delete it to free)."""
    stat = os.statvfs(mount)
    ballast = mount / "ballast"
    with open(ballast, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, max(0, stat.f_bavail * stat.f_frsize - leave))
    return ballast


def offers(db: Path) -> set[tuple[str, str]]:
    return set(query(db, "SELECT marketplace, listing_id FROM offers"))


def snapshot_offers(snaps: Path) -> int:
    snap = current_snapshot(snaps)
    assert snap is not None
    return query(snap.path, "SELECT count(*) FROM offers")[0][0]


def one_clear_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if "disk full" in line]
    assert len(lines) == 1, stderr
    return lines[0]


def good_then_full(server: DemoServer, args: list[str], snaps: Path, disk: Path, leave: int) -> tuple:
    """A good run, then ``disk`` filled but ``leave`` bytes and the same run again (it must fail, exit 4):
    (the good snapshot, the ballast, the failed run's one line about the full disk)."""
    assert bijia(server, *args).returncode == 0
    good = current_snapshot(snaps)
    assert good is not None
    ballast = fill(disk, leave=leave)
    failed = bijia(server, *args)
    assert failed.returncode == 4, failed.stderr
    return good, ballast, one_clear_line(failed.stderr)


def test_the_database_folder_fills_up_mid_run(tmpfs: Path, tmp_path: Path):
    db, snaps = tmpfs / "b.duckdb", tmp_path / "snaps"
    args = ["run", "--db", str(db), "--snapshots", str(snaps), *API_SHOPS]
    with DemoServer(generate_catalogue(20, 7)) as server:
        expected = truth(server, {"shopline", "woomart"})
        # the first run's 1 MB reserve stays allocated; 16 KB more is not enough for the crawl
        good, ballast, line = good_then_full(server, args, snaps, tmpfs, 16 * 1024)
        assert f"disk full writing {tmpfs}" in line and "nothing published" in line and "kept:" in line
        assert good.id in line  # what was kept, by name
        ((status, exit_code),) = query(
            db,
            "SELECT status, stats->>'exit_code' FROM runs WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1",
        )
        assert (status, exit_code) == ("failed", "4")
        assert offers(db) == expected  # the database as before the run, readable
        assert current_snapshot(snaps) == good and snapshot_offers(snaps) == len(expected)

        ballast.unlink()
        again = bijia(server, *args)
        assert again.returncode == 0, again.stderr
        assert offers(db) == expected
        assert query(db, "SELECT count(*), count(DISTINCT run_id) FROM prices") == [(2 * len(expected), 2)]
        assert query(db, "SELECT count(*) FROM staging_offers") == [(0,)]
        assert current_snapshot(snaps) != good and snapshot_offers(snaps) == len(expected)


def test_the_snapshot_folder_fills_up(tmpfs: Path, tmp_path: Path):
    db, snaps = tmp_path / "b.duckdb", tmpfs / "snaps"
    args = ["run", "--db", str(db), "--snapshots", str(snaps), *API_SHOPS]
    with DemoServer(generate_catalogue(20, 7)) as server:
        expected = truth(server, {"shopline", "woomart"})
        good, ballast, line = good_then_full(server, args, snaps, tmpfs, 64 * 1024)
        assert (
            f"publish failed: disk full writing {snaps}" in line
            and f"snapshot {good.id} is unchanged" in line
        )
        assert query(db, "SELECT status FROM runs WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1") == [
            ("failed",)
        ]
        assert current_snapshot(snaps) == good and snapshot_offers(snaps) == len(expected)
        assert [p.name for p in snaps.iterdir() if p.name.startswith(".") and "tmp" in p.name] == []

        ballast.unlink()
        assert bijia(server, *args).returncode == 0
        assert current_snapshot(snaps) != good and snapshot_offers(snaps) == len(expected)


def test_a_disk_too_full_to_start_says_so_before_crawling(tmpfs: Path, tmp_path: Path):
    fill(tmpfs, leave=256 * 1024)
    with DemoServer(generate_catalogue(20, 7)) as server:
        done = bijia(
            server, "run", "--db", str(tmpfs / "b.duckdb"), "--snapshots", str(tmp_path / "s"), *API_SHOPS
        )
        assert sum(server.requests.values()) == 0
    assert done.returncode == 1
    line = one_clear_line(done.stderr)
    assert line.startswith("bijia: error: disk full writing") and "nothing was crawled" in line
