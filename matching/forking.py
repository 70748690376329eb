"""Worker processes for the matcher: forked after the shared data is set, so they read it without copying."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fork_map(task: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``task`` over ``items``, in order, on up to ``workers`` forked processes (here when one is enough).
    The caller sets the module state the tasks read before calling."""
    if workers <= 1 or len(items) <= 1:
        return [task(item) for item in items]
    with ProcessPoolExecutor(
        min(workers, len(items)), mp_context=multiprocessing.get_context("fork")
    ) as pool:
        return list(pool.map(task, items, chunksize=1))
