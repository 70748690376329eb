"""The matcher's array helpers give what numpy's slower general functions give."""

from __future__ import annotations

import numpy as np
import pytest

from matching.arrays import sorted_unique


@pytest.mark.parametrize("size", [0, 1, 2, 7, 10_000])
def test_sorted_unique_is_numpys_unique(size: int) -> None:
    rng = np.random.default_rng(size)
    wide = rng.integers(-(2**62), 2**62, size, dtype=np.int64)
    repeated = np.concatenate([wide, wide[: size // 2], rng.integers(0, 5, size)])
    for values in (wide, repeated):
        got = sorted_unique(values)
        assert got.dtype == values.dtype
        assert np.array_equal(got, np.unique(values))
