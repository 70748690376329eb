"""Blocking: a Chinese and an English title of one SKU inside a block too large for all pairs."""

from __future__ import annotations

import numpy as np
import pytest

from matching import MatchConfig, OfferRecord
from matching.blocking import candidate_codes
from matching.identity import identities
from matching.prepare import Vocabulary, prepare_all
from matching.store import PreparedStore

COLOURS = ["Black", "White", "Red", "Navy", "Grey", "Beige", "Green", "Blue", "Pink", "Brown"]


def _catalogue() -> tuple[list[OfferRecord], int, int]:
    """Twelve models of one shoe, each in 12 sizes × 10 colours, in English with bare sizes; one SKU also
    in Chinese (``44码``, stated). Every key the twins share is in a block of over 100 members (the model,
    a size, a colour) and the Chinese title sorts first by title."""
    records = [
        OfferRecord(
            key=f"en/{model}-{size}-{colour}", marketplace="en", title=f"Nike Pegasus {model} {colour} {size}"
        )
        for model in range(35, 47)
        for size in range(36, 48)
        for colour in COLOURS
    ]
    records.append(OfferRecord(key="zh/1", marketplace="zh", title="耐克 Nike Pegasus 41 跑步鞋 44码 黑色"))
    records.sort(key=lambda r: r.key)  # the store's order
    keys = [r.key for r in records]
    return records, keys.index("zh/1"), keys.index("en/41-44-Black")


def _store_codes(records: list[OfferRecord], config: MatchConfig) -> np.ndarray:
    return PreparedStore.prepare(records, config.cjk_tokens).candidate_codes(config)


def _object_codes(records: list[OfferRecord], config: MatchConfig) -> np.ndarray:
    prepared = prepare_all(records, config.cjk_tokens)
    return candidate_codes(
        prepared, Vocabulary(p.tokens for p in prepared), config, identities(records, prepared)
    )


@pytest.mark.parametrize("codes_of", [_store_codes, _object_codes])
def test_twins_in_a_large_block_far_apart_by_title_are_proposed(codes_of) -> None:
    config = MatchConfig.load("default")
    records, zh, en = _catalogue()
    store = PreparedStore.prepare(records, config.cjk_tokens)
    rank = store.title_rank()
    assert len(records) > config.max_block_size  # the premise: a windowed block …
    assert abs(int(rank[zh]) - int(rank[en])) > config.window  # … whose title order separates the twins
    codes = codes_of(records, config)
    assert min(zh, en) * len(records) + max(zh, en) in set(codes.tolist())
    assert len(codes) < 4 * config.window * len(records)  # still windowed, not all pairs
