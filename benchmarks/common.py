"""Shared helpers for the benchmarks: medians, a demo server in its own process, RSS sampling, tables.

Every benchmark prints medians of several runs; the machine is shared and noisy, so ratios taken in the
same session (bijia ÷ raw Scrapy) say more than absolute figures.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIJIA = [PYTHON, "-c", "from cli import app; app()"]


def cores() -> int:
    """CPUs this process may run on (the affinity mask, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """``min–max`` of the runs, to show how noisy the median is."""
    if len(values) < 2:
        return ""
    return f"{min(values):,.0f}–{max(values):,.0f}"


@dataclass
class Figure:
    """One row of the benchmark table."""

    section: str
    name: str
    value: str
    unit: str = ""
    note: str = ""
    command: str = ""


@dataclass
class Table:
    figures: list[Figure] = field(default_factory=list)

    def add(self, *args: str, **kwargs: str) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def render(self) -> str:
        rows = [("section", "figure", "value", "unit", "note")]
        rows += [(f.section, f.name, f.value, f.unit, f.note) for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for n, row in enumerate(rows):
            lines.append(
                "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
            )
            if n == 0:
                lines.append("  ".join("-" * w for w in widths) + "  ----")
        return "\n".join(lines)


# ------------------------------------------------------------------ demo server in its own process


@contextmanager
def demo_server_process(size: int, seed: int = 7, faults: Sequence[str] = ()) -> Iterator[str]:
    """``python -m demo.server`` on a free port in a separate process (no shared GIL); yields its base URL."""
    args = [PYTHON, "-m", "demo.server", "--port", "0", "--size", str(size), "--seed", str(seed)]
    for spec in faults:
        args += ["--fault", spec]
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if not found:
            raise RuntimeError(f"demo server did not start: {line}{proc.stderr.read()}")
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_env(base_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if base_url:
        env["BIJIA_DEMO_URL"] = base_url
    return env


# ------------------------------------------------------------------ memory of a process tree (from /proc)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def tree_pids(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _proc_kb(path: str, field: str) -> int:
    """The ``field:`` line of a /proc file (in kB) as bytes; 0 when unreadable or the process is gone."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (``VmRSS``), 0 when it is gone."""
    return _proc_kb(f"/proc/{pid}/status", "VmRSS")


def pss_bytes(pid: int) -> int:
    """Proportional set size (shared pages split between their users), 0 when unreadable or gone."""
    return _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss")


def tree_pss(pid: int) -> int:
    """Sum of PSS over a process tree: the tree's real share of memory (no double counting)."""
    return sum(pss_bytes(p) for p in tree_pids(pid))


def tree_rss(pid: int) -> int:
    """Sum of RSS over a process and all its descendants (Chromium's renderers included).

    Shared pages are counted once per process, so this over-states the absolute figure; the *slope* over
    time is what shows whether pages and contexts are closed.
    """
    return sum(rss_bytes(p) for p in tree_pids(pid))


class RssSampler:
    """Samples ``measure(pid)`` (default ``tree_rss``) every ``interval`` seconds in a thread; ``samples`` are
    (seconds, bytes)."""

    def __init__(self, pid: int, interval: float = 0.5, measure=None) -> None:
        self.pid, self.interval = pid, interval
        self.measure = measure or tree_rss
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - start, self.measure(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max((b for _, b in self.samples), default=0)


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"
