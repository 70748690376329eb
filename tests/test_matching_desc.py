"""Description features (matching.desc_features): what one title says, found in the other offer's
description; computed for whole batches exactly as a per-pair reading would."""

from __future__ import annotations

import math

import numpy as np

from matching import OfferRecord
from matching.desc_features import DESC_FEATURES
from matching.features import FEATURES, RecordTable, pair_features
from matching.prepare import Prepared, Vocabulary, prepare_all


def _records() -> list[OfferRecord]:
    return [
        OfferRecord(key="a/1", marketplace="a", title="Samsung 970 EVO 500GB NVMe SSD"),
        OfferRecord(
            key="b/1",
            marketplace="b",
            title="Samsung MZ-V7E500 NVMe",
            description="The 970 EVO, 500 GB, PCIe 3.0 x4 — V-NAND",
        ),
        OfferRecord(
            key="c/1",
            marketplace="c",
            title="Samsung MZ-V7S500 NVMe",
            description="The 970 EVO Plus, 250 GB, PCIe 3.0",
        ),
        OfferRecord(key="d/1", marketplace="d", title="Samsung MZ-V7E500 NVMe"),
        OfferRecord(key="e/1", marketplace="e", title="Samsung 860 PRO 1TB", description="SATA, 1 TB"),
    ]


def _desc(pairs: list[tuple[int, int]]) -> list[dict[str, float]]:
    prepared = prepare_all(_records())
    table = RecordTable(prepared, Vocabulary(p.tokens for p in prepared), None)
    left, right = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    rows = pair_features(table, left, right)[:, [FEATURES.index(f) for f in DESC_FEATURES]]
    return [dict(zip(DESC_FEATURES, row, strict=True)) for row in rows.tolist()]


def _by_hand(a: Prepared, b: Prepared, vocab: Vocabulary) -> tuple[float, float]:
    """One direction, read per token: the rarity share of ``a``'s title found in ``b``, and of its numbers."""
    if not b.desc:
        return math.nan, math.nan
    tokens = [t for t in a.tokens if len(t) >= 2]
    found = {t: t in b.tokens or t in b.desc for t in tokens}
    weight = sum(vocab.idf(t) for t in tokens)
    numbers = [t for t in tokens if not t.isalpha() and any(c.isdigit() for c in t)]
    share = sum(vocab.idf(t) for t in tokens if found[t]) / weight if weight else math.nan
    return share, (sum(found[t] for t in numbers) / len(numbers) if numbers else math.nan)


def test_a_title_found_in_the_other_description_scores_higher() -> None:
    """``970 EVO 500GB`` is in the MZ-V7E500's description, not in the MZ-V7S500's (250 GB, Plus)."""
    same, other = _desc([(0, 1), (0, 2)])
    assert same["desc_found_max"] > other["desc_found_max"]
    assert same["desc_num_min"] > other["desc_num_min"]
    assert same["desc_found_min"] <= same["desc_found_max"]


def test_no_description_on_either_side_is_nan_not_zero() -> None:
    (row,) = _desc([(0, 3)])
    assert all(math.isnan(v) for v in row.values())


def test_batch_features_equal_the_per_pair_reading() -> None:
    records = _records()
    prepared = prepare_all(records)
    vocab = Vocabulary(p.tokens for p in prepared)
    pairs = [(i, j) for i in range(len(records)) for j in range(len(records)) if i != j]
    got = _desc(pairs)
    for (i, j), row in zip(pairs, got, strict=True):
        share_a, number_a = _by_hand(prepared[i], prepared[j], vocab)
        share_b, number_b = _by_hand(prepared[j], prepared[i], vocab)
        expected = (
            np.fmax(share_a, share_b),
            np.fmin(share_a, share_b),
            np.fmin(number_a, number_b),
        )
        np.testing.assert_allclose(list(row.values()), expected, equal_nan=True)
