"""Memory of a process tree as the machine pays for it: the proportional set size (PSS) of a process and of
all its descendants, sampled on a thread. Forked workers share their parent's pages; their RSS counts those
pages again, their PSS splits each shared page between the processes that map it — so the sum of PSS is
the physical memory the tree holds (Linux ``/proc/<pid>/smaps_rollup``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:  # the thread or process ended meanwhile
            continue
    return out


def tree_pss_kb(pid: int) -> tuple[int, int]:
    """(PSS of ``pid`` alone, PSS of ``pid`` and every descendant), kB; 0 for a process that ended."""
    own = total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)
        own = kb if p == pid else own
        total += kb
        todo.extend(_children(p))
    return own, total


class PssSampler:
    """Peak summed PSS of this process's tree, overall and per named stage (``stage(name)`` starts one)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self.main_peak = 0
        self._stage = "start"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def stage(self, name: str) -> None:
        self.sample()
        self._stage = name
        self.sample()

    def sample(self) -> None:
        own, total = tree_pss_kb(os.getpid())
        self.main_peak = max(self.main_peak, own)
        self.peaks[self._stage] = max(self.peaks.get(self._stage, 0), total)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def peak_mb(self) -> float:
        return max(self.peaks.values(), default=0) / 1024
