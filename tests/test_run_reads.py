"""Looking never breaks a run. DuckDB allows one writing process or many readers: a reader that holds the
working database makes the run wait for it (``BIJIA_DB_WAIT``), and the CLI's read commands, finding the
run writing, read the last published snapshot instead, say so, and list the run in progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.server import DemoServer
from tests.test_run import API_SHOPS, BIJIA, ROOT, bijia, query, truth, write_config

pytestmark = pytest.mark.slow
HOLD_READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SELECT count(*) FROM offers").fetchall()
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_a_reader_holding_the_database_makes_the_run_wait_not_fail(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    args = ["run", "--db", str(db), *API_SHOPS]
    with DemoServer(generate_catalogue(20, 7)) as server:
        assert bijia(server, *args).returncode == 0
        reader = subprocess.Popen(
            [sys.executable, "-c", HOLD_READER, str(db), "4"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
            done = bijia(server, *args)
        finally:
            reader.wait(timeout=30)
        assert done.returncode == 0, done.stderr
        expected = truth(server, {"shopline", "woomart"})
    assert set(query(db, "SELECT marketplace, listing_id FROM offers")) == expected
    assert query(db, "SELECT status FROM runs WHERE kind = 'run' ORDER BY started_at DESC") == [
        ("finished",),
        ("finished",),
    ]


def _read(db: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIJIA, *command, "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_read_commands_during_a_run_read_the_published_state_and_the_run_never_fails(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    config = write_config(tmp_path / "m.toml", techmall_concurrency=1)
    args = ["--db", str(db), "-c", str(config), "-m", "techmall", "-m", "shopline"]
    with DemoServer(generate_catalogue(24, 7)) as server:
        assert bijia(server, "run", *args).returncode == 0
        ((product,),) = query(db, "SELECT product_id FROM products ORDER BY product_id LIMIT 1")
        server.state.plan = {"techmall": Faults(slow_ms=200)}  # a crawl of several seconds
        run = subprocess.Popen(
            [BIJIA, "run", *args],
            cwd=ROOT,
            env={**os.environ, "BIJIA_DEMO_URL": server.base_url},
            stderr=subprocess.PIPE,
            text=True,
        )
        reads: list[subprocess.CompletedProcess] = []
        try:
            while run.poll() is None:
                commands = [
                    ("runs", "--format", "json"),
                    ("alerts",),
                    ("compare", "phone"),
                    ("history", product),
                ]
                reads.extend(_read(db, *command) for command in commands)
        finally:
            _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        expected = truth(server, {"techmall", "shopline"})
    assert len(reads) >= 4
    failed = [r for r in reads if r.returncode != 0 and "no products match" not in r.stderr]
    assert failed == [], [(r.args, r.returncode, r.stderr) for r in failed]
    assert all("Traceback" not in r.stderr for r in reads)
    during = [r for r in reads if "reading the last published snapshot" in r.stderr]
    assert during, "no read happened while the run held the database"
    listed = [json.loads(r.stdout) for r in reads if r.args[1] == "runs" and "reading the last" in r.stderr]
    assert any(rows[0]["status"] == "running" and "in progress" in rows[0]["summary"] for rows in listed)
    assert set(query(db, "SELECT marketplace, listing_id FROM offers")) == expected
    assert query(db, "SELECT count(*) FROM runs WHERE status <> 'finished'") == [(0,)]
