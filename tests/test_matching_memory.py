"""What keeps the matcher's workers from copying the parent's memory."""

from __future__ import annotations

import gc

from matching.forking import fork_map

KEPT = [[k] for k in range(1_000)]
"""Objects alive before the workers fork (each a list: the cycle collector tracks it)."""


def _frozen_in_worker(k: int) -> tuple[int, int, bool]:
    return k, gc.get_freeze_count(), gc.is_tracked(KEPT[k])


def test_workers_run_with_the_parents_objects_out_of_the_collectors_reach() -> None:
    frozen_before = gc.get_freeze_count()
    got = fork_map(_frozen_in_worker, list(range(6)), 2)
    assert [k for k, _, _ in got] == list(range(6))  # in order
    assert all(count >= len(KEPT) for _, count, _ in got)  # the parent's objects: frozen in the workers
    assert all(tracked for _, _, tracked in got)
    assert gc.get_freeze_count() == frozen_before  # and given back to the parent's collector afterwards


def test_one_worker_forks_nothing_and_freezes_nothing() -> None:
    assert fork_map(_frozen_in_worker, [3], 2) == [(3, gc.get_freeze_count(), True)]
