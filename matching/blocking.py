"""Stage 3 — blocking: only offers that share a key are ever compared (never all pairs).

Keys of an offer: its GTIN, each model code, the signature of its normalised title (sorted tokens), its
identity (brand + model numbers + variant attributes — what a Chinese and an English title of one SKU
share even when no word is common), its brand + model numbers, and each of its ``rare_tokens`` rarest
title tokens (when that token's block is small). A block of at most ``max_block_size`` members is
compared all pairs; a larger one by sorted neighbourhood, in two orders: members sorted by normalised
title, each compared with the next ``window`` ones, and again sorted by :func:`twin_key` (brand, model
numbers and attribute values, then Latin words: what a Chinese and an English title of one SKU share
whatever their words and word order), each compared with the next ``window`` ones. Work is therefore
linear in the number of offers.

Keys are hashed into numpy arrays and pairs produced per neighbour offset, vectorised; pairs are packed
as ``i * n + j`` (int64) and deduplicated, so memory is bounded by the number of candidate pairs (8 bytes
each), not by Python objects. Two options keep the work down further: ``dirty`` (incremental matching)
keeps only pairs with at least one changed offer, and ``vetoes`` (:class:`VetoCodes`) drops, as they are
produced, pairs the scorer would veto anyway (different variant attributes, different GTINs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import SortedUnion, sorted_unique
from .attributes import VARIANT_KEYS
from .config import MatchConfig
from .identity import Identity
from .prepare import Prepared, Vocabulary


def blocking_keys(
    p: Prepared, vocab: Vocabulary, config: MatchConfig, ident: Identity | None = None
) -> list[str]:
    if ident is None or not ident.brand:
        return keys_of(p.gtin, p.codes, p.tokens, None, (), (), vocab, config)
    return keys_of(p.gtin, p.codes, p.tokens, ident.brand, ident.numbers, ident.attrs, vocab, config)


def keys_of(
    gtin: str | None,
    codes: Iterable[str],
    tokens: Iterable[str],
    brand: str | None,
    numbers: Sequence[str],
    attrs: tuple[tuple[str, str], ...],
    vocab: Vocabulary,
    config: MatchConfig,
) -> list[str]:
    """The blocking keys of an offer from its GTIN, model codes, title tokens and identity (brand, model
    numbers, attributes)."""
    keys: list[str] = []
    if gtin:
        keys.append("g:" + gtin)
    keys.extend("m:" + c for c in sorted(codes))
    tokens = set(tokens)
    if tokens:
        keys.append("s:" + " ".join(sorted(tokens)))
    if brand:
        keys.extend(_identity_keys(brand, numbers, attrs))
    df = vocab.df
    rare = sorted((t for t in tokens if df.get(t, 0) >= 2), key=lambda t: (df[t], t))
    keys.extend("t:" + t for t in rare[: config.rare_tokens] if df[t] <= config.max_block_size)
    return keys


def _identity_keys(brand: str, numbers: Sequence[str], attrs: tuple[tuple[str, str], ...]) -> list[str]:
    """brand + model numbers (+ attributes); numbers also glued in title order (``Pro 14 2024`` =
    ``Pro 142024款``) and, without a stated size, each left out once (a bare ``43`` may be a shoe size)."""
    distinct = sorted(set(numbers))
    keys = [f"b:{brand}|{' '.join(distinct)}", f"i:{brand}|{' '.join(distinct)}|{attrs}"]
    if len(numbers) > 1:
        keys.append(f"b:{brand}|{''.join(numbers)}")
        if not any(k == "size" for k, _ in attrs):
            keys.extend(f"b:{brand}|{' '.join(x for x in distinct if x != n)}" for n in distinct)
    return keys


@dataclass
class VetoPart:
    """The veto inputs of consecutive offers, each value numbered by its first appearance in the part: parts
    made apart (by the worker processes that read the rows anyway) merge into the codes of them all
    (:meth:`VetoCodes.merge`), the same codes as the offers coded in one go."""

    attrs: np.ndarray
    """(offers, columns) int32: the number of the offer's value in the column, -1 when not stated."""
    attr_values: list[list[str]]
    colours: np.ndarray
    """int32: the number of the offer's colour value, -1 when none."""
    colour_values: list[str]
    gtins: np.ndarray
    """int32: the number of the offer's GTIN, -1 when none (or when GTINs do not decide)."""
    gtin_values: list[str]

    @classmethod
    def of(
        cls, attrs: Sequence[Mapping[str, str]], gtins: Sequence[str | None], config: MatchConfig
    ) -> VetoPart:
        """From each offer's variant attributes and GTIN."""
        columns = _veto_columns(config)
        values: list[dict[str, int]] = [{} for _ in columns]
        colours: dict[str, int] = {}
        seen: dict[str, int] = {}
        coded = np.full((len(attrs), len(columns)), -1, dtype=np.int32)
        colour_of, gtin_of = np.full(len(attrs), -1, dtype=np.int32), np.full(len(attrs), -1, dtype=np.int32)
        use_colour, use_gtin = "colour" in config.vetoes, config.gtin_decides
        for row, (stated, gtin) in enumerate(zip(attrs, gtins, strict=True)):
            for col, key in enumerate(columns):
                value = stated.get(key)
                if value is not None:
                    coded[row, col] = values[col].setdefault(value, len(values[col]))
            colour = stated.get("colour") if use_colour else None
            if colour:
                colour_of[row] = colours.setdefault(colour, len(colours))
            if use_gtin and gtin:
                gtin_of[row] = seen.setdefault(gtin, len(seen))
        return cls(coded, [list(v) for v in values], colour_of, list(colours), gtin_of, list(seen))


class VetoCodes:
    """The pair vetoes the scorer applies whatever the score, as integer codes per offer, so that whole
    arrays of candidate pairs are checked at once: a variant attribute in ``config.vetoes`` stated by both
    with different values (colours as bit sets: they conflict only when no colour is shared), and different
    GTINs when ``config.gtin_decides``. Conservative: a value it cannot code (a colour outside the first
    63 seen) is never a veto here; the scorer still sees the pair."""

    @classmethod
    def of(
        cls, attrs: Sequence[Mapping[str, str]], gtins: Sequence[str | None], config: MatchConfig
    ) -> VetoCodes:
        """From each offer's variant attributes and GTIN."""
        return cls.merge([VetoPart.of(attrs, gtins, config)], config)

    @classmethod
    def merge(cls, parts: Sequence[VetoPart], config: MatchConfig) -> VetoCodes:
        """The codes of the offers of ``parts``, one part after another."""
        codes = cls.__new__(cls)
        codes._merge(parts, config)
        return codes

    def _merge(self, parts: Sequence[VetoPart], config: MatchConfig) -> None:
        n = sum(len(p.gtins) for p in parts)
        values: list[dict[str, int]] = [{} for _ in _veto_columns(config)]
        self.attrs = np.full((n, len(values)), -1, dtype=np.int32)
        self.colours = np.zeros(n, dtype=np.uint64)
        self.gtins = np.full(n, -1, dtype=np.int64)
        bits: dict[str, int] = {}
        seen: dict[str, int] = {}
        start = 0
        for part in parts:  # a part's numbers → the numbers of all parts (index -1, "none", stays -1)
            rows = slice(start, start + len(part.gtins))
            start = rows.stop
            for col, numbers in enumerate(values):
                known = [numbers.setdefault(v, len(numbers)) for v in part.attr_values[col]]
                self.attrs[rows, col] = np.array([*known, -1], dtype=np.int32)[part.attrs[:, col]]
            masks = [_colour_bits(v, bits) for v in part.colour_values]
            self.colours[rows] = np.array([*masks, 0], dtype=np.uint64)[part.colours]
            known = [seen.setdefault(v, len(seen)) for v in part.gtin_values]
            self.gtins[rows] = np.array([*known, -1], dtype=np.int64)[part.gtins]

    def vetoed(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Boolean mask: the pair ``(i[k], j[k])`` would be vetoed by the scorer."""
        a, b = self.attrs[i], self.attrs[j]
        out = ((a >= 0) & (b >= 0) & (a != b)).any(axis=1)
        ca, cb = self.colours[i], self.colours[j]
        out |= (ca != 0) & (cb != 0) & ((ca & cb) == 0)
        ga, gb = self.gtins[i], self.gtins[j]
        out |= (ga >= 0) & (gb >= 0) & (ga != gb)
        return out


def _veto_columns(config: MatchConfig) -> list[str]:
    """The variant attributes coded as columns (colour is coded apart, as bits)."""
    return [k for k in VARIANT_KEYS if k in config.vetoes and k != "colour"]


def _colour_bits(value: str, bits: dict[str, int]) -> int:
    mask = 0
    for colour in value.split("/"):
        bit = bits.setdefault(colour, len(bits))
        if bit >= 63:
            return 0  # cannot code it: leave the pair to the scorer
        mask |= 1 << bit
    return mask


def candidate_pairs(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    config: MatchConfig,
    ids: Sequence[Identity] | None = None,
) -> list[tuple[int, int]]:
    """Distinct candidate pairs ``(i, j)`` with ``i < j``, in a deterministic order."""
    return [pair for chunk in candidate_chunks(prepared, vocab, config, ids=ids) for pair in chunk]


def key_arrays(
    prepared: Sequence[Prepared], vocab: Vocabulary, config: MatchConfig, ids: Sequence[Identity] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(key hash, member index) per blocking key of each offer. Python's string hash is 64-bit and
    consistent within a process (and its forked workers); equal keys always meet, and a collision only adds
    pairs to score."""
    keys: list[int] = []
    members: list[int] = []
    for i, p in enumerate(prepared):
        found = blocking_keys(p, vocab, config, ids[i] if ids is not None else None)
        keys.extend(map(hash, found))
        members.extend([i] * len(found))
    return np.array(keys, dtype=np.int64), np.array(members, dtype=np.int64)


Ranks = tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]
"""Each offer's place in title order, and a function giving the :func:`twin_key` places of the rows it is
given (the members of large blocks; a full-size array, other places unread)."""


def title_rank(prepared: Sequence[Prepared]) -> np.ndarray:
    """Each offer's position when sorted by normalised title (ties by index): sorted neighbourhood's order."""
    return rank_of([p.norm for p in prepared])


def twin_rank(prepared: Sequence[Prepared], ids: Sequence[Identity] | None) -> np.ndarray:
    """Each offer's position when sorted by :func:`twin_key` (ties by index): the second order of large
    blocks. From the identities when given, else from what ``prepared`` holds."""
    if ids is not None:
        return rank_of([twin_key(d.brand, d.numbers, d.attrs, d.latin) for d in ids])
    return rank_of(
        [
            twin_key(
                p.brand,
                p.bare_numbers,
                tuple(p.attrs.items()),
                (t for t in p.tokens if t.isascii() and t.isalpha()),
            )
            for p in prepared
        ]
    )


def twin_key(
    brand: str | None, numbers: Iterable[str], attrs: tuple[tuple[str, str], ...], latin: Iterable[str]
) -> str:
    """Brand, then the model numbers and attribute values as one sorted set, then the Latin words: the
    same for a Chinese and an English title of one SKU whatever the word order, and whether a size is
    stated (``43码``, ``EU 43``: an attribute) or bare (``43``: a number)."""
    values = sorted(set(numbers) | {v for _, v in attrs})
    return f"{brand or ''}\x00{' '.join(values)}\x00{' '.join(sorted(set(latin)))}"


def rank_of(order_keys: Sequence[str]) -> np.ndarray:
    """Each item's position when sorted by its key (ties by index)."""
    rank = np.empty(len(order_keys), dtype=np.int64)
    order = sorted(range(len(order_keys)), key=order_keys.__getitem__)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(order_keys))
    return rank


def candidate_codes(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    config: MatchConfig,
    ids: Sequence[Identity] | None = None,
    *,
    dirty: np.ndarray | None = None,
    vetoes: VetoCodes | None = None,
) -> np.ndarray:
    """Sorted distinct candidate pairs as int64 codes ``i * n + j`` (``i < j``). ``dirty`` (a boolean mask):
    only pairs with a dirty side; ``vetoes``: without the pairs they veto."""
    keys, members = key_arrays(prepared, vocab, config, ids)
    ranks = (title_rank(prepared), lambda _large: twin_rank(prepared, ids))
    return codes_from_keys(keys, members, ranks, config, dirty=dirty, vetoes=vetoes)


def codes_from_keys(
    keys: np.ndarray,
    members: np.ndarray,
    ranks: Ranks,
    config: MatchConfig,
    *,
    dirty: np.ndarray | None = None,
    vetoes: VetoCodes | None = None,
) -> np.ndarray:
    """:func:`candidate_codes` from the key arrays (``ranks``: :func:`title_rank`, and :func:`twin_rank` of
    the members of large blocks)."""
    rank, twin_of = ranks
    n = len(rank)
    order = np.lexsort((rank[members], keys))
    keys, members = keys[order], members[order]
    del order
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    if dirty is not None:  # only blocks holding a changed offer
        block = np.repeat(np.arange(len(starts)), sizes)
        hit = np.zeros(len(starts), dtype=bool)
        hit[block[dirty[members]]] = True
        keep = hit[block]
        keys, members = keys[keep], members[keep]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else starts[:0]
        sizes = np.diff(np.r_[starts, len(keys)])
    size_of = np.repeat(sizes, sizes)
    pos = np.arange(len(keys)) - np.repeat(starts, sizes)
    small = size_of <= config.max_block_size
    reach = np.where(small, size_of - 1 - pos, np.minimum(config.window, size_of - 1 - pos))
    # the large blocks again, each sorted by the twin order (the blocks stay where they are: keys sorted)
    large = np.flatnonzero(~small)
    if len(large):  # no large block: no twin order to compute
        twin = twin_of(sorted_unique(members[large]))
        again = large[np.lexsort((twin[members[large]], keys[large]))]
        members = np.concatenate([members, members[again]])
        reach = np.concatenate([reach, reach[large]])
    return _pairs_by_offset(members, reach, n, dirty, vetoes)


def _pairs_by_offset(
    members: np.ndarray,
    reach: np.ndarray,
    n: int,
    dirty: np.ndarray | None,
    vetoes: VetoCodes | None,
) -> np.ndarray:
    live = np.flatnonzero(reach > 0)
    found = SortedUnion(n * n)
    d = 1
    while len(live):
        i, j = members[live], members[live + d]
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        keep = lo != hi
        if dirty is not None:
            keep &= dirty[lo] | dirty[hi]
        if vetoes is not None:
            keep &= ~vetoes.vetoed(lo, hi)
        found.add(sorted_unique(lo[keep] * n + hi[keep]))
        d += 1
        live = live[reach[live] >= d]
    return found.result()


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
