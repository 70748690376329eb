"""A damaged database and bad paths: one line on stderr, a non-zero exit, never a traceback, never exit 0.

A truncated database file, a database with garbage written over its middle, ``--db`` naming a folder or a
path under a file, ``--snapshots`` naming a file or an impossible folder. The bad ``--snapshots`` is said
before anything is crawled (not after an hour of crawling, at publish time).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from demo.catalogue import generate_catalogue
from demo.server import DemoServer
from tests.test_run import API_SHOPS, bijia, query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoServer]:
    root = tmp_path_factory.mktemp("good")
    server = DemoServer(generate_catalogue(20, 7)).__enter__()
    assert bijia(server, "run", "--db", str(root / "b.duckdb"), *API_SHOPS).returncode == 0
    yield root / "b.duckdb", server
    server.__exit__(None, None, None)


def one_line_error(done) -> str:
    assert done.returncode not in (0, None), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bijia: error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["runs"],
        ["compare", "phone"],
        ["history", "PRODUCT"],  # a product the database holds: its history is read
        ["match"],
        ["publish", "--snapshots", "s"],
        ["run", "--snapshots", "s", *API_SHOPS],
    ],
)
def test_a_truncated_database_is_one_line_for_every_command(good_db, tmp_path: Path, command: list[str]):
    db, server = good_db
    broken = tmp_path / "b.duckdb"
    shutil.copy(db, broken)
    os.truncate(broken, 300_000)
    (product,) = query(db, "SELECT min(product_id) FROM products")[0]
    command = [str(tmp_path / c) if c == "s" else product if c == "PRODUCT" else c for c in command]
    line = one_line_error(bijia(server, *command, "--db", str(broken)))
    assert str(broken) in line and "damaged" in line


def test_garbage_in_the_middle_of_the_database_never_exits_0(good_db, tmp_path: Path):
    db, server = good_db
    broken = tmp_path / "b.duckdb"
    shutil.copy(db, broken)
    size = broken.stat().st_size
    rng = random.Random(19)
    with open(broken, "r+b") as fh:
        fh.seek(size // 4)
        fh.write(rng.randbytes(size // 2))
    done = bijia(server, "run", "--db", str(broken), "--snapshots", str(tmp_path / "s"), *API_SHOPS)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "damaged" in done.stderr


@pytest.mark.parametrize(
    ("db", "snapshots", "words"),
    [
        ("folder", "snaps", "is a folder"),
        ("file/b.duckdb", "snaps", "cannot create the folder"),
        ("b.duckdb", "file", "not a folder"),
        ("b.duckdb", "file/snaps", "cannot create the snapshots folder"),
    ],
)
def test_a_bad_db_or_snapshots_path_is_said_before_crawling(good_db, tmp_path: Path, db, snapshots, words):
    _, server = good_db
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("not a folder")
    before = sum(server.requests.values())
    done = bijia(
        server, "run", "--db", str(tmp_path / db), "--snapshots", str(tmp_path / snapshots), *API_SHOPS
    )
    assert words in one_line_error(done) and done.returncode == 1
    assert sum(server.requests.values()) == before  # nothing crawled


def test_a_damaged_database_is_restored_from_the_snapshot_and_runs_again(good_db, tmp_path: Path):
    db, server = good_db
    snaps = db.parent / "snapshots"
    restored = tmp_path / "b.duckdb"
    done = bijia(server, "restore", "--db", str(restored), "--snapshots", str(snaps))
    assert done.returncode == 0 and "restored" in done.stderr, done.stderr
    again = bijia(server, "restore", "--db", str(restored), "--snapshots", str(snaps))
    assert "move it" in one_line_error(again)  # never over a file
    run = bijia(server, "run", "--db", str(restored), "--snapshots", str(tmp_path / "s"), *API_SHOPS)
    assert run.returncode == 0, run.stderr
    before = query(db, "SELECT marketplace, listing_id, price FROM offers ORDER BY ALL")
    assert query(restored, "SELECT marketplace, listing_id, price FROM offers ORDER BY ALL") == before
