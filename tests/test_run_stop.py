"""Stopping ``bijia run`` and a run that dies: SIGTERM during the run's own stages stops it within seconds
(systemd's stop timeout, not a SIGKILL); a run past ``[run] max_minutes`` stops itself and says so; a run
killed while publishing is never recorded finished with exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.server import DemoServer
from tests.test_run import API_SHOPS, BIJIA, ROOT, bijia, query, truth, write_config

pytestmark = pytest.mark.slow
PAUSED = """
import sys, time
import service.run

def paused(*args, **kwargs):
    print("paused", flush=True)
    time.sleep(120)

setattr(service.run, sys.argv[1], paused)
from cli import app
app(sys.argv[2:])
"""


def paused_run(server: DemoServer, stage: str, *args: str) -> subprocess.Popen:
    """``bijia run`` that stops in ``stage`` (``run_match`` or ``publish``) until signalled."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED, stage, "run", *args],
        cwd=ROOT,
        env={**os.environ, "BIJIA_DEMO_URL": server.base_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "paused", proc.communicate()
    return proc


def last_run(db: Path) -> tuple[str, str, dict]:
    ((run_id, status, stats),) = query(
        db, "SELECT run_id, status, stats FROM runs WHERE kind = 'run' ORDER BY started_at DESC LIMIT 1"
    )
    return run_id, status, json.loads(stats or "{}")


def test_sigterm_while_matching_stops_the_run_within_seconds(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    with DemoServer(generate_catalogue(20, 7)) as server:
        proc = paused_run(server, "run_match", "--db", str(db), *API_SHOPS)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("SIGTERM did not stop the run within 30 s")
        seconds = time.monotonic() - started
    assert proc.returncode == 4, stderr
    assert "match stopped: stopped by SIGTERM" in stderr and "Traceback" not in stderr
    _, status, stats = last_run(db)
    assert (status, stats["exit_code"], stats["failed_stage"]) == ("failed", 4, "match")
    assert seconds < 30


def test_a_run_killed_while_publishing_is_not_recorded_finished(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    with DemoServer(generate_catalogue(20, 7)) as server:
        proc = paused_run(server, "publish", "--db", str(db), *API_SHOPS)
        proc.kill()
        proc.communicate()
        run_id, status, stats = last_run(db)
        assert status == "committed" and stats["exit_code"] is None  # not "finished", not exit 0
        listed = subprocess.run(
            [BIJIA, "runs", "--db", str(db), "--format", "json"], cwd=ROOT, capture_output=True, text=True
        )
        assert json.loads(listed.stdout)[0]["exit"] is None

        assert bijia(server, "run", "--db", str(db), *API_SHOPS).returncode == 0
    settled = dict(query(db, "SELECT run_id, status FROM runs WHERE kind = 'run'"))
    assert settled[run_id] == "failed" and list(settled.values()).count("finished") == 1
    stats = json.loads(query(db, "SELECT stats FROM runs WHERE run_id = ?", [run_id])[0][0])
    assert stats["exit_code"] == 4 and "never recorded its outcome" in stats["died"]


def test_a_run_longer_than_max_minutes_stops_itself_and_says_so(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    config = write_config(tmp_path / "m.toml", "[run]\nmax_minutes = 0.15\n", techmall_concurrency=1)
    args = ["--db", str(db), "-c", str(config), "-m", "techmall", "-m", "shopline"]
    with DemoServer(generate_catalogue(24, 7), faults={"techmall": Faults(slow_ms=400)}) as server:
        started = time.monotonic()
        stopped = bijia(server, "run", *args)
        seconds = time.monotonic() - started
        assert stopped.returncode == 4, stopped.stderr
        assert (
            "ran longer than [run] max_minutes = 0.15" in stopped.stderr and "Traceback" not in stopped.stderr
        )
        assert seconds < 9 + 30 + 15  # the deadline, the graceful stop, start-up on a busy machine
        _, status, stats = last_run(db)
        assert status == "interrupted" and stats["exit_code"] == 4

        server.state.plan = {}
        write_config(config, techmall_concurrency=1)  # no deadline for the rest
        resumed = bijia(server, "run", "--resume", *args)
        assert resumed.returncode == 0, resumed.stderr
        expected = truth(server, {"techmall", "shopline"})
    assert set(query(db, "SELECT marketplace, listing_id FROM offers")) == expected
