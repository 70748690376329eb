"""The run lock: exclusive, refused at once with exit 75 and who holds it, recovered after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.errors import ExitCode
from service.lock import LockedError, lock_path, run_lock

ROOT = Path(__file__).resolve().parents[1]
BIJIA = ROOT / ".venv" / "bin" / "bijia"
HOLD = """
import sys, time
from service.lock import run_lock
with run_lock(sys.argv[1], run_id="holder-run"):
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(db: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_second_holder_is_refused_and_a_killed_holders_lock_is_recovered(db_path):
    proc = _holder(db_path)
    try:
        with pytest.raises(LockedError) as refused, run_lock(db_path):
            pass
        assert refused.value.code == ExitCode.LOCKED
        assert f"pid {proc.pid}" in str(refused.value) and "holder-run" in str(refused.value)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # the kernel dropped the flock with the process: the lock file is still there, the lock is free
    assert lock_path(db_path).exists()
    with run_lock(db_path, run_id="next") as path:
        assert '"run_id": "next"' in path.read_text()
    with run_lock(db_path):  # released on exit too
        pass


def test_bijia_run_exits_75_while_another_run_holds_the_lock(db_path):
    proc = _holder(db_path)
    try:
        started = time.monotonic()
        result = subprocess.run(
            [str(BIJIA), "run", "--db", str(db_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "BIJIA_DEMO_URL": "http://127.0.0.1:9"},
        )
        assert result.returncode == 75, result.stderr
        assert "another bijia run holds the lock" in result.stderr and f"pid {proc.pid}" in result.stderr
        assert time.monotonic() - started < 30  # refused at once, no crawl
        assert not db_path.exists()  # the refused run did not even open the database
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


STUCK = """
import fcntl, json, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # hung: deaf to SIGTERM
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
holder = {"pid": os.getpid(), "run_id": "stuck", "started_at": "2020-01-01T00:00:00+00:00", "max_seconds": 60}
os.write(fd, json.dumps(holder).encode())
print("locked", flush=True)
time.sleep(600)
"""


def test_a_holder_stuck_past_its_deadline_is_stopped_and_said_with_exit_4(db_path, monkeypatch):
    """An endless run must not make every later run exit 75 unnoticed: once the holder is well past its
    deadline, the next run stops it (SIGTERM, then SIGKILL) and exits 4 with one line saying so."""
    import service.lock

    monkeypatch.setattr(service.lock, "STOP_WAIT", 1.0)
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(lock_path(db_path))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError) as refused, run_lock(db_path, max_seconds=60):
            pass
    finally:
        proc.kill()
        proc.wait()
    message = str(refused.value)
    assert refused.value.code == ExitCode.FAILED
    assert f"pid {proc.pid}" in message and "longer than its limit of 1 min" in message
    assert "stopped it (SIGKILL)" in message and "--resume" in message
    with run_lock(db_path, run_id="after"):  # free again: the next slot runs
        pass
