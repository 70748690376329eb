"""Stopping a run on time: SIGTERM/SIGINT and the run's own deadline.

During the crawl Scrapy's handlers stop the crawl gracefully (the queue is kept for ``--resume``). Outside
it — matching, publishing, alerts — :class:`Stopper` turns the signal into :class:`RunStopped` in the main
thread, so ``bijia run`` records what happened and exits within seconds (systemd's ``TimeoutStopSec``),
instead of ignoring the signal (Scrapy's handlers stay installed after the crawl) until SIGKILL.

The deadline (``[run] max_minutes``) sends the process SIGTERM itself: the same graceful path. If the run
is still there ``grace`` seconds later, a second SIGTERM (Scrapy then stops at once); after another
``grace`` seconds the process exits (4) without waiting any longer.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

from service.errors import ExitCode

log = logging.getLogger("bijia.run")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunStopped(BaseException):
    """The run was asked to stop (a signal or its deadline); ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Stopper:
    def __init__(self, run_id: str, max_seconds: float | None = None, grace: float = 30.0) -> None:
        self.run_id = run_id
        self.max_seconds = max_seconds
        self.grace = grace
        self.reason: str | None = None
        self.timed_out = False
        self._shielded = 0
        self._saved: dict[int, Any] = {}
        self._timers: list[threading.Timer] = []

    def __enter__(self) -> Stopper:
        self.install()
        if self.max_seconds:
            self._later(self.max_seconds, self._deadline)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for timer in self._timers:
            timer.cancel()
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()

    def install(self) -> None:
        """(Re)install the handlers: after the crawl, Scrapy's are still in place."""
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only; a run in another thread (tests) has no handlers
        for signum in SIGNALS:
            previous = signal.signal(signum, self._on_signal)
            self._saved.setdefault(signum, previous)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """A block a signal must not cut short (recording the outcome); a stop asked meanwhile is kept."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.reason = self.reason or f"stopped by {signal.Signals(signum).name}"
        if not self._shielded:
            raise RunStopped(self.reason)

    def _later(self, seconds: float, action: Any) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def _deadline(self) -> None:
        minutes = (self.max_seconds or 0) / 60
        self.reason, self.timed_out = f"stopped: ran longer than [run] max_minutes = {minutes:g}", True
        log.error(
            "run %s %s; stopping it",
            self.run_id,
            self.reason,
            extra={"event": "run_timeout", "run_id": self.run_id, "max_seconds": self.max_seconds},
        )
        os.kill(os.getpid(), signal.SIGTERM)
        self._later(self.grace, lambda: os.kill(os.getpid(), signal.SIGTERM))
        self._later(2 * self.grace, self._give_up)

    def _give_up(self) -> None:
        log.error(
            "run %s did not stop within %.0f s of its deadline; exiting now (`bijia run --resume` continues it)",
            self.run_id,
            2 * self.grace,
            extra={"event": "run_killed", "run_id": self.run_id},
        )
        logging.shutdown()
        os._exit(int(ExitCode.FAILED))
