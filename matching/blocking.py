"""Stage 3 — blocking: only offers that share a key are ever compared (never all pairs).

Keys of an offer: its GTIN, each model code, the signature of its normalised title (sorted tokens), its
identity (brand + model numbers + variant attributes — what a Chinese and an English title of one SKU
share even when no word is common), its brand + model numbers, and each of its ``rare_tokens`` rarest
title tokens (when that token's block is small). A block of at most ``max_block_size`` members is
compared all pairs; a larger one by sorted neighbourhood: members sorted by normalised title, each
compared with the next ``window`` ones. Work is therefore linear in the number of offers.

Keys are hashed into numpy arrays and pairs produced per neighbour offset, vectorised; pairs are packed
as ``i * n + j`` (int64) and deduplicated, so memory is bounded by the number of candidate pairs (8 bytes
each), not by Python objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .config import MatchConfig
from .identity import Identity
from .prepare import Prepared, Vocabulary

if TYPE_CHECKING:
    import numpy as np


def blocking_keys(
    p: Prepared, vocab: Vocabulary, config: MatchConfig, ident: Identity | None = None
) -> list[str]:
    keys: list[str] = []
    if p.gtin:
        keys.append("g:" + p.gtin)
    keys.extend("m:" + c for c in sorted(p.codes))
    if p.tokens:
        keys.append("s:" + " ".join(sorted(p.tokens)))
    if ident is not None and ident.brand:
        keys.extend(_identity_keys(ident))
    rare = sorted((t for t in p.tokens if vocab.df.get(t, 0) >= 2), key=lambda t: (vocab.df[t], t))
    keys.extend("t:" + t for t in rare[: config.rare_tokens] if vocab.df[t] <= config.max_block_size)
    return keys


def _identity_keys(ident: Identity) -> list[str]:
    """brand + model numbers (+ attributes); numbers also glued in title order (``Pro 14 2024`` =
    ``Pro 142024款``) and, without a stated size, each left out once (a bare ``43`` may be a shoe size)."""
    numbers = sorted(set(ident.numbers))
    keys = [f"b:{ident.brand}|{' '.join(numbers)}", f"i:{ident.brand}|{' '.join(numbers)}|{ident.attrs}"]
    if len(ident.numbers) > 1:
        keys.append(f"b:{ident.brand}|{''.join(ident.numbers)}")
        if "size" not in ident.attr_map:
            keys.extend(f"b:{ident.brand}|{' '.join(x for x in numbers if x != n)}" for n in numbers)
    return keys


def candidate_pairs(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    config: MatchConfig,
    ids: Sequence[Identity] | None = None,
) -> list[tuple[int, int]]:
    """Distinct candidate pairs ``(i, j)`` with ``i < j``, in a deterministic order."""
    return [pair for chunk in candidate_chunks(prepared, vocab, config, ids=ids) for pair in chunk]


def _key_arrays(
    prepared: Sequence[Prepared], vocab: Vocabulary, config: MatchConfig, ids: Sequence[Identity] | None
):
    import hashlib
    from array import array

    import numpy as np

    keys, members = array("q"), array("q")
    for i, p in enumerate(prepared):
        for key in blocking_keys(p, vocab, config, ids[i] if ids is not None else None):
            # a stable 63-bit hash (Python's str hash changes per process)
            keys.append(int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") >> 1)
            members.append(i)
    return np.frombuffer(keys, dtype=np.int64), np.frombuffer(members, dtype=np.int64)


def candidate_codes(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    config: MatchConfig,
    ids: Sequence[Identity] | None = None,
):
    """Sorted distinct candidate pairs as int64 codes ``i * n + j`` (``i < j``)."""
    import numpy as np

    n = len(prepared)
    keys, members = _key_arrays(prepared, vocab, config, ids)
    rank = np.empty(n, dtype=np.int64)
    rank[np.array(sorted(range(n), key=lambda i: prepared[i].norm), dtype=np.int64)] = np.arange(n)
    order = np.lexsort((rank[members], keys))
    keys, members = keys[order], members[order]
    del order
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    size_of = np.repeat(sizes, sizes)
    pos = np.arange(len(keys)) - np.repeat(starts, sizes)
    reach = np.where(
        size_of <= config.max_block_size, size_of - 1 - pos, np.minimum(config.window, size_of - 1 - pos)
    )
    live = np.flatnonzero(reach > 0)
    merged = np.zeros(0, dtype=np.int64)
    pending: list = []
    d = 1
    while len(live):
        i, j = members[live], members[live + d]
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        pending.append(np.unique(lo[lo != hi] * n + hi[lo != hi]))
        # deduplicate once the pending pairs outgrow the merged ones: amortised, so the total work stays
        # O(pairs log pairs) (re-merging every round was quadratic in rounds at 1M offers)
        if sum(len(c) for c in pending) > max(20_000_000, len(merged)):
            merged, pending = np.unique(np.concatenate([merged, *pending])), []
        d += 1
        live = live[reach[live] >= d]
    return np.unique(np.concatenate([merged, *pending]))


def candidate_chunks(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    config: MatchConfig,
    chunk: int = 200_000,
    ids: Sequence[Identity] | None = None,
    codes: np.ndarray | None = None,
) -> Iterator[list[tuple[int, int]]]:
    """The distinct candidate pairs in sorted chunks (``codes``: already computed by :func:`candidate_codes`)."""
    n = len(prepared)
    if codes is None:
        codes = candidate_codes(prepared, vocab, config, ids)
    for start in range(0, len(codes), chunk):
        part = codes[start : start + chunk]
        yield list(zip((part // n).tolist(), (part % n).tolist(), strict=True))
