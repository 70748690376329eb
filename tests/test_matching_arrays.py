"""The matcher's array helpers give what numpy's slower general functions give."""

from __future__ import annotations

import numpy as np
import pytest

from matching.arrays import SortedUnion, sorted_unique


@pytest.mark.parametrize("size", [0, 1, 2, 7, 10_000])
def test_sorted_unique_is_numpys_unique(size: int) -> None:
    rng = np.random.default_rng(size)
    wide = rng.integers(-(2**62), 2**62, size, dtype=np.int64)
    repeated = np.concatenate([wide, wide[: size // 2], rng.integers(0, 5, size)])
    for values in (wide, repeated):
        got = sorted_unique(values)
        assert got.dtype == values.dtype
        assert np.array_equal(got, np.unique(values))


@pytest.mark.parametrize(("parts", "dedup_at"), [(1, 1), (3, 5), (16, 40), (16, 20_000_000), (1000, 7)])
def test_sorted_union_is_the_unique_values_of_everything_added(parts: int, dedup_at: int) -> None:
    """Whatever the ranges and however often they deduplicate: arrays of repeated values, some empty, some
    falling in one range only, merged in any order."""
    rng = np.random.default_rng(parts * 7 + dedup_at)
    limit = 997 * 997
    added = [np.sort(rng.integers(0, limit, int(rng.integers(0, 60)))) for _ in range(200)]
    added += [np.arange(10, 30, dtype=np.int64), np.array([limit - 1, limit - 1], dtype=np.int64)]
    union = SortedUnion(limit, parts=parts, dedup_at=dedup_at)
    for values in added:
        union.add(sorted_unique(values) if len(values) % 2 else values)  # repeats within an array, too
    got = union.result()
    assert got.dtype == np.int64
    assert np.array_equal(got, np.unique(np.concatenate(added)))
    assert len(union.result()) == 0  # emptied


def test_sorted_union_keeps_no_view_of_what_was_added() -> None:
    """Each range keeps copies: an added array is not held alive by a range that merges late."""
    union = SortedUnion(100, parts=4, dedup_at=10**9)
    values = np.arange(100, dtype=np.int64)
    union.add(values)
    values[:] = 0
    assert np.array_equal(union.result(), np.arange(100))
