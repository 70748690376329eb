"""The per-record side of the pair features: each record of a batch encoded once, as arrays.

Its title tokens, glued token spans (``wh 1000 xm 5`` → ``wh1000xm5``), model codes, description codes and
shop-stated keys become integer ids in CSR arrays; brand, MPN, GTIN, category and variant attributes become
one id per record (:class:`RecordTable`). :mod:`matching.features` then computes a whole batch of pairs'
features from two sides of this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from .attributes import VARIANT_KEYS
from .collector import gc_paused
from .heap import keep_freed_memory
from .intset import IntSet
from .model import WordWeights
from .normalise import BRAND_ALIASES, COLOURS, STOP_WORDS
from .prepare import VARIANT_WORDS, Prepared, Vocabulary
from .token_set import TokenTexts

if TYPE_CHECKING:
    import numpy as np

NAN = float("nan")
MAX_SPAN = 4
"""Spans of up to this many consecutive tokens are glued (a code written apart is found glued)."""
_NOT_WORDS = (
    frozenset(STOP_WORDS)
    | frozenset(COLOURS.values())
    | frozenset(w for b in BRAND_ALIASES.values() for w in b.split())
    | VARIANT_WORDS
)
"""Tokens that are no model word (``word_only``: a word of one title the other lacks)."""
_COLOUR_BITS = {c: 1 << k for k, c in enumerate(sorted(set(COLOURS.values())))}


class _Ids:
    """Strings → consecutive integer ids (one space for tokens, spans, codes and brands)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def many(self, texts: list[str]) -> list[int]:
        """The ids of ``texts``; new strings get the next ids in order of first appearance."""
        ids = self.ids
        given = ids.setdefault
        return [given(x, len(ids)) for x in texts]

    def column(self, texts: list[str | None]) -> list[int]:
        """The ids of ``texts``, -1 for an empty one or ``None``."""
        self.many([x for x in texts if x])
        ids = self.ids
        return [ids[x] if x else -1 for x in texts]


def _own_ids(values: list[str | None]) -> list[int]:
    """Ids of ``values`` in a space of their own (-1 for ``None``)."""
    space: dict[str, int] = {}
    return [space.setdefault(x, len(space)) if x is not None else -1 for x in values]


def _owners(lengths: list[int] | np.ndarray) -> np.ndarray:
    """The record of each of the values given record after record, ``lengths[r]`` of record r."""
    import numpy as np

    return np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)


class _Csr:
    """Per record, a sorted set of ids; ``keys`` (record·width + id) sorted for membership tests."""

    def __init__(self, keys: np.ndarray, size: int, width: int) -> None:
        import numpy as np

        self.keys = keys  # sorted: by record, then id (ids < width)
        owners = keys // width
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(owners, minlength=size))]).astype(np.int64)
        self.ids = keys - owners * width
        self.width = width
        self._set: IntSet | None = None  # built when first asked

    @classmethod
    def of(cls, ids: list[int] | np.ndarray, lengths: list[int], width: int) -> _Csr:
        """The sets of ``ids`` given record after record (``lengths[r]`` of record r, none repeated)."""
        import numpy as np

        keys = np.asarray(ids, dtype=np.int64) + _owners(lengths) * width
        keys.sort()
        return cls(keys, len(lengths), width)

    def count(self, rows: np.ndarray) -> np.ndarray:
        return self.indptr[rows + 1] - self.indptr[rows]

    def expand(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pair index, id, segment start per pair) of every id of each ``rows`` record, pair by pair."""
        pair, pos, first = self.spread(rows)
        return pair, self.ids[pos], first

    def spread(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pair index, position in ``ids``, segment start per pair) of every id of each ``rows`` record."""
        import numpy as np

        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        ends = np.cumsum(lengths)
        first = ends - lengths
        pair = np.repeat(np.arange(len(rows)), lengths)
        pos = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(first - starts, lengths)
        return pair, pos, first

    def has(self, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Whether record ``rows[k]`` holds ``ids[k]``, for each k."""
        if self._set is None:
            self._set = IntSet(self.keys)
        return self._set.has(rows * self.width + ids) & (ids >= 0)


def _spans(seq: list[str], sought: set[str], heads: set[str]) -> list[str]:
    """Runs of 2 … ``MAX_SPAN`` consecutive tokens glued together (24 characters at most) that are ``sought``,
    sorted. A run grows while it ``heads`` some sought string (is the beginning of one): it starts only
    at a token that does."""
    out = set()
    for s in [s for s, token in enumerate(seq[:-1]) if token in heads]:
        glued = seq[s]
        for token in seq[s + 1 : s + MAX_SPAN]:
            glued += token
            if len(glued) > 24:
                break
            if glued in sought:
                out.add(glued)
            if glued not in heads:
                break
    return sorted(out)


def _sought(prepared: Sequence[Prepared], tokens: list[str]) -> tuple[set[str], set[str]]:
    """Every string a title is searched for (``RecordTable.look``: tokens, codes, MPNs, brands) and the
    beginnings of them (shorter than they are): a glued span that is none of them can never be found, so
    it is not kept (most spans of Chinese bigrams)."""
    sought = set(tokens)
    for p in prepared:
        sought.update(p.codes)
        if p.mpn:
            sought.add(p.mpn)
        if p.brand:
            sought.add(p.brand.replace(" ", ""))
    return sought, {x[:k] for x in sought for k in range(1, len(x))}


def _objects(values: list[str]) -> np.ndarray:
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _colour_mask(value: str | None) -> int:
    return sum(_COLOUR_BITS.get(c, 0) for c in set(value.split("/"))) if value else 0


def _dense(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's rank among the distinct values (0 … k - 1), and k."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    step = np.concatenate([[0], (np.diff(values[order]) != 0).astype(np.int64)])
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.cumsum(step)
    return out, int(out.max()) + 1 if len(out) else 0


def _stated_sets(prepared: Sequence[Prepared]) -> tuple[_Csr, _Csr]:
    """The shop-stated keys and key-value items of each record, each set in an id space of its own. Items
    are (key, value) pairs, compared as the texts ``key=value`` (two of them are equal as texts only when
    they are equal as pairs, unless a key holds ``=``)."""
    import numpy as np

    lengths = [len(p.kv) for p in prepared]
    keys, names = list(chain.from_iterable(p.kv for p in prepared)), _Ids()
    key_ids = np.asarray(names.many(keys), dtype=np.int64)
    values = list(chain.from_iterable(p.kv.values() for p in prepared))
    if any("=" in k for k in names.ids):
        items = np.asarray(_Ids().many([f"{k}={v}" for k, v in zip(keys, values, strict=True)]))
    else:
        items = key_ids * (len(values) + 1) + np.asarray(_Ids().many(values), dtype=np.int64)
    item_ids, n_items = _dense(items)
    return _Csr.of(key_ids, lengths, len(names.ids) + 1), _Csr.of(item_ids, lengths, n_items + 1)


def _plain(prepared: Sequence[Prepared], seqs: list[list[str]]) -> np.ndarray:
    """Whether each title is its tokens (``seqs``) joined by single spaces: only whitespace between them
    (length), one space each (count). ``token_set_ratio`` reads a plain title's tokens; rapidfuzz compares
    the others' texts."""
    import numpy as np

    return np.fromiter(
        (
            len(p.norm) == sum(map(len, seq)) + len(seq) - 1 and p.norm.count(" ") == len(seq) - 1
            for p, seq in zip(prepared, seqs, strict=True)
        ),
        bool,
        len(prepared),
    )


class RecordTable:
    """Everything the pair features read of each record, as arrays (built once per batch of records)."""

    def __init__(self, prepared: Sequence[Prepared], vocab: Vocabulary, words: WordWeights | None) -> None:
        keep_freed_memory()
        with gc_paused():
            self._build(prepared, vocab, words)

    def _build(self, prepared: Sequence[Prepared], vocab: Vocabulary, words: WordWeights | None) -> None:
        import numpy as np

        ids = _Ids()
        # token ids are given first, record after record, each record's tokens in sorted order (the same
        # features whatever the hash seed): the per-token arrays (rarity, word weights …) cover ids
        # 0 … n_tokens - 1 only, and sums over a record's tokens run in id order
        in_order = [sorted(p.tokens) for p in prepared]
        tok = ids.many(list(chain.from_iterable(in_order)))
        names = list(ids.ids)
        seqs = [p.norm.split() for p in prepared]
        self.size = len(prepared)
        longest = [max(p.codes, key=lambda x: (len(x), x)) if p.codes else "" for p in prepared]
        self.scalar = self._scalars(prepared, seqs, longest, ids)
        self.tok = self._title_sets(prepared, seqs, tok, names, ids)  # after every other id is given
        self.kvk, self.kvi = _stated_sets(prepared)
        self.colour = np.fromiter(
            (_colour_mask(p.attrs.get("colour")) for p in prepared), np.int64, self.size
        )
        self.price = np.fromiter((p.price or NAN for p in prepared), np.float64, self.size)
        self.price[~(self.price > 0)] = NAN
        self.texts = _objects([p.norm for p in prepared])
        self.glued = _objects([p.condensed for p in prepared])
        # a title without a repeated token sorts to its token set in order (tokens: the set of its words)
        self.sorted = _objects(
            [
                " ".join(t if len(t) == len(seq) else sorted(seq))
                for t, seq in zip(in_order, seqs, strict=True)
            ]
        )
        self.longest = _objects(longest)
        self.mpn = _objects([p.mpn or "" for p in prepared])
        self._token_arrays(names, vocab, words)
        owners, idf = self._per_record(self.tok, self.idf)
        self.idf_total = np.bincount(owners, weights=idf, minlength=self.size)
        self.token_texts = TokenTexts(names)
        self.token_chars = np.bincount(owners, self.token_texts.length[self.tok.ids], minlength=self.size)
        self.plain = _plain(prepared, seqs)

    def _title_sets(
        self, prepared: Sequence[Prepared], seqs: list[list[str]], tok: list[int], names: list[str], ids: _Ids
    ) -> _Csr:
        """The title's id sets: ``tok`` (returned), ``code``, ``dcode`` (description codes) and ``look``
        (tokens, codes and the glued spans some record looks for); ``by_rank``: for each position of ``tok``,
        the position of the record's token of that rank in sorted order."""
        import numpy as np

        sought, heads = _sought(prepared, names)
        sets = {
            "code": [sorted(p.codes) for p in prepared],
            "spans": [_spans(seq, sought, heads) for seq in seqs],
            "dcode": [sorted(p.desc_codes) for p in prepared],
        }
        flat = {k: ids.many(list(chain.from_iterable(v))) for k, v in sets.items()}
        lengths = {k: list(map(len, v)) for k, v in sets.items()}
        width = len(ids.ids) + 1
        keys = np.asarray(tok, dtype=np.int64) + _owners([len(p.tokens) for p in prepared]) * width
        order = np.argsort(keys, kind="stable")  # the tokens were given sorted, the set is in id order
        self.by_rank = np.empty_like(order)
        self.by_rank[order] = np.arange(len(order))
        self.code = _Csr.of(flat["code"], lengths["code"], width)
        self.dcode = _Csr.of(flat["dcode"], lengths["dcode"], width)
        look = np.concatenate(
            [
                keys,
                *(
                    np.asarray(flat[k], dtype=np.int64) + _owners(lengths[k]) * width
                    for k in ("code", "spans")
                ),
            ]
        )
        look.sort()
        first = np.ones(len(look), dtype=bool)  # each key once
        first[1:] = look[1:] != look[:-1]
        self.look = _Csr(look[first], self.size, width)
        return _Csr(keys[order], self.size, width)

    @staticmethod
    def _scalars(
        prepared: Sequence[Prepared], seqs: list[list[str]], longest: list[str], ids: _Ids
    ) -> np.ndarray:
        """One id per record and column: first token, brand, MPN, GTIN, category, variant words, digits of
        the longest code, then one per variant attribute but colour (a bit mask apart)."""
        import numpy as np

        first = [p.norm.split(" ", 1)[0] or None for p in prepared]
        # brand and MPN are looked for in titles (ids of the common space); the others are only compared
        # within their column: an id space of its own each
        columns = [
            _own_ids(first),
            ids.column([p.brand.replace(" ", "") if p.brand else None for p in prepared]),
            ids.column([p.mpn for p in prepared]),
            _own_ids([p.gtin or None for p in prepared]),
            _own_ids([p.category or None for p in prepared]),
            _own_ids(
                [
                    " ".join(sorted(t for t in seq if t in VARIANT_WORDS)) if p.variant_words else None
                    for p, seq in zip(prepared, seqs, strict=True)
                ]
            ),
            _own_ids(["".join(ch for ch in x if ch.isdigit()) if x else None for x in longest]),
        ]
        columns += (
            _own_ids([f"{p.attrs[key]}" if key in p.attrs and key != "colour" else None for p in prepared])
            for key in VARIANT_KEYS
        )
        return np.array(columns, dtype=np.int64).reshape(len(columns), -1).T.copy()

    def _token_arrays(self, names: list[str], vocab: Vocabulary, words: WordWeights | None) -> None:
        """Per token id: rarity, digit/number/model-word flags, word weights (a last 0 for 'no token')."""
        import numpy as np

        def array(values: Iterable[float | bool], dtype: type) -> np.ndarray:
            return np.array([*values, 0], dtype=dtype)

        self.idf = array(map(vocab.idf, names), np.float64)
        self.bare = array(map(str.isdigit, names), bool)
        digit = [not x.isalpha() and any(map(str.isdigit, x)) for x in names]
        self.digit = array(digit, bool)
        # a model word: two characters or more, no digit (a letter never is one), no stop word, colour, brand
        # word or variant word
        self.word = array(
            [not d and len(x) >= 2 and x not in _NOT_WORDS for x, d in zip(names, digit, strict=True)], bool
        )
        shared, only = (words.shared, words.only) if words else ({}, {})
        self.w_shared = array(map(shared.get, names, repeat(0.0)), np.float64)
        self.w_only = array(map(only.get, names, repeat(0.0)), np.float64)
        self.k_shared = array(map(shared.__contains__, names), bool)
        self.k_only = array(map(only.__contains__, names), bool)
        self.w_bias = words.bias if words else NAN

    def _per_record(self, csr: _Csr, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        return np.repeat(np.arange(self.size), csr.count(np.arange(self.size))), values[csr.ids]


_TABLES: WeakKeyDictionary[Vocabulary, tuple[Sequence[Prepared], int, WordWeights | None, RecordTable]] = (
    WeakKeyDictionary()
)


def table_for(prepared: Sequence[Prepared], vocab: Vocabulary, words: WordWeights | None) -> RecordTable:
    """The record table of ``prepared`` (cached while ``vocab`` lives: a run scores many chunks of pairs)."""
    got = _TABLES.get(vocab)
    if got and got[0] is prepared and got[1] == len(prepared) and got[2] is words:
        return got[3]
    table = RecordTable(prepared, vocab, words)
    _TABLES[vocab] = (prepared, len(prepared), words, table)
    return table
