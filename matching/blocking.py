"""Stage 3 — blocking: only offers that share a key are ever compared (never all pairs).

Keys of an offer: its GTIN, each model code, the signature of its normalised title (sorted tokens), each
of its ``rare_tokens`` rarest title tokens (when that token's block is small) and every pair of them.
A block larger than ``max_block_size`` is compared by sorted neighbourhood: members sorted by normalised
title, each compared with the next ``window`` ones. Work is therefore linear in the number of offers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from itertools import combinations

from .config import MatchConfig
from .prepare import Prepared, Vocabulary


def blocking_keys(p: Prepared, vocab: Vocabulary, config: MatchConfig) -> list[str]:
    keys: list[str] = []
    if p.gtin:
        keys.append("g:" + p.gtin)
    keys.extend("m:" + c for c in sorted(p.codes))
    if p.tokens:
        keys.append("s:" + " ".join(sorted(p.tokens)))
    rare = sorted((t for t in p.tokens if vocab.df.get(t, 0) >= 2), key=lambda t: (vocab.df[t], t))
    rare = rare[: config.rare_tokens]
    keys.extend("t:" + t for t in rare if vocab.df[t] <= config.max_block_size)
    keys.extend(f"p:{x}|{y}" for x, y in combinations(sorted(rare), 2))
    return keys


def blocks(prepared: Sequence[Prepared], vocab: Vocabulary, config: MatchConfig) -> dict[int, list[int]]:
    """Hashed key → member indices (blocks of one dropped)."""
    out: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        for key in blocking_keys(p, vocab, config):
            out[hash(key)].append(i)
    return {k: v for k, v in out.items() if len(v) > 1}


def _block_pairs(members: list[int], prepared: Sequence[Prepared], config: MatchConfig) -> Iterator[tuple[int, int]]:
    if len(members) <= config.max_block_size:
        yield from combinations(members, 2)
        return
    ordered = sorted(members, key=lambda i: prepared[i].norm)
    for pos, i in enumerate(ordered):
        for j in ordered[pos + 1 : pos + 1 + config.window]:
            yield (i, j) if i < j else (j, i)


def candidate_pairs(prepared: Sequence[Prepared], vocab: Vocabulary, config: MatchConfig) -> list[tuple[int, int]]:
    """Distinct candidate pairs ``(i, j)`` with ``i < j``, in a deterministic order."""
    return [pair for chunk in candidate_chunks(prepared, vocab, config) for pair in chunk]


def candidate_chunks(
    prepared: Sequence[Prepared], vocab: Vocabulary, config: MatchConfig, chunk: int = 200_000
) -> Iterator[list[tuple[int, int]]]:
    """The distinct candidate pairs in sorted chunks (bounded memory: pairs are packed as int64)."""
    n = len(prepared)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is optional
        seen = sorted({pair for members in blocks(prepared, vocab, config).values()
                       for pair in _block_pairs(members, prepared, config)})
        for start in range(0, len(seen), chunk):
            yield seen[start : start + chunk]
        return
    chunks: list = []
    buffer: list[int] = []
    for members in blocks(prepared, vocab, config).values():
        buffer.extend(i * n + j for i, j in _block_pairs(members, prepared, config))
        if len(buffer) > 2_000_000:
            chunks.append(np.unique(np.array(buffer, dtype=np.int64)))
            buffer = []
    chunks.append(np.array(buffer, dtype=np.int64))
    codes = np.unique(np.concatenate(chunks))
    del chunks
    for start in range(0, len(codes), chunk):
        part = codes[start : start + chunk]
        yield list(zip((part // n).tolist(), (part % n).tolist(), strict=True))
