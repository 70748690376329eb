"""Worker processes for the matcher: forked after the shared data is set, so they read it without copying.

Forked workers share their parent's pages until either process writes to one. Python's cycle collector
writes to every object it visits (its bookkeeping sits in each object's header), so a full collection in a
worker — or in the parent while the workers run — would copy every page holding the prepared rows. Before
forking, :func:`fork_map` moves every object alive into the collector's permanent generation
(``gc.freeze``, the fix Instagram described for its forked web servers): neither process's collector
visits them until the workers are done. The objects made afterwards are collected as usual, unless the
collector is paused altogether, as it is for a whole match (:func:`matching.collector.gc_paused`). The
heap's free pages are handed back to the system first (:func:`matching.heap.release_freed_memory`).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from .heap import release_freed_memory

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fork_map(task: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``task`` over ``items``, in order, on up to ``workers`` forked processes (here when one is enough).
    The caller sets the module state the tasks read before calling."""
    if workers <= 1 or len(items) <= 1:
        return [task(item) for item in items]
    release_freed_memory()
    with (
        frozen_heap(),
        ProcessPoolExecutor(min(workers, len(items)), mp_context=multiprocessing.get_context("fork")) as pool,
    ):
        return list(pool.map(task, items, chunksize=1))


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive now out of the cycle collector's reach for the block (``gc.freeze``); back in its
    oldest generation afterwards — unless the process had frozen objects itself (the storefront freezes its
    own, ``api.app``): then everything stays frozen, as ``gc.unfreeze`` cannot tell whose they were."""
    ours = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()
