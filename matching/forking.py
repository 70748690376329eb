"""Worker processes for the matcher: forked after the shared data is set, so they read it without copying.

Forked workers share their parent's pages until either process writes to one. Python's cycle collector
writes to every object it visits (its bookkeeping sits in each object's header), so a full collection in a
worker — or in the parent while the workers run — would copy every page holding the prepared rows. Before
forking, :func:`fork_map` moves every object alive into the collector's permanent generation
(``gc.freeze``, the fix Instagram described for its forked web servers): neither process's collector
visits them until the workers are done. The objects made afterwards are collected as usual. The heap's
free pages are handed back to the system first (:func:`matching.heap.release_freed_memory`).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

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


def fork_map_in_lanes(task: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """:func:`fork_map` for tasks whose neighbours share work (a worker caching what one item built saves
    the next item's time): each worker takes the items of its own contiguous lane in order, and a worker whose
    lane is done takes the second half of the lane with most items left. ``pool.map`` hands the items out in
    turn instead, so each worker sees every other item and half of what it caches is of no use to its next
    one. The results are in the items' order, as :func:`fork_map`'s."""
    workers = min(workers, len(items))
    if workers <= 1:
        return [task(item) for item in items]
    global _LANES
    context = multiprocessing.get_context("fork")
    cuts = [len(items) * w // workers for w in range(workers + 1)]
    bounds = context.Array("q", [b for w in range(workers) for b in (cuts[w], cuts[w + 1])], lock=True)
    _LANES = _Lanes(task, items, bounds)
    try:
        parts = fork_map(_run_lane, range(workers), workers)
    finally:
        _LANES = None
    got: dict[int, R] = dict(pair for part in parts for pair in part)
    return [got[k] for k in range(len(items))]


@dataclass
class _Lanes:
    task: Callable[[Any], Any]
    items: Sequence[Any]
    bounds: Any
    """Shared by the workers: lane ``w`` still holds items ``bounds[2w]`` up to ``bounds[2w + 1]``."""


_LANES: _Lanes | None = None
"""What the forked lane workers read: set before they start."""


def _run_lane(lane: int) -> list[tuple[int, Any]]:
    assert _LANES is not None, "set by fork_map_in_lanes before the workers fork"
    done: list[tuple[int, Any]] = []
    while (k := _next_item(_LANES.bounds, lane)) is not None:
        done.append((k, _LANES.task(_LANES.items[k])))
    return done


def _next_item(bounds: Any, lane: int) -> int | None:
    """The next item of ``lane`` (``bounds``: the shared ``multiprocessing.Array``) — after taking over the back half of the fullest lane when it has none."""
    with bounds.get_lock():
        start, end = bounds[2 * lane], bounds[2 * lane + 1]
        if start >= end:
            left = [bounds[2 * v + 1] - bounds[2 * v] for v in range(len(bounds) // 2)]
            fullest = max(range(len(left)), key=left.__getitem__)
            if not left[fullest]:
                return None
            end = bounds[2 * fullest + 1]
            start = end - (left[fullest] + 1) // 2
            bounds[2 * fullest + 1] = start
            bounds[2 * lane + 1] = end
        bounds[2 * lane] = start + 1
        return start


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
