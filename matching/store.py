"""The prepared offers of one match as columns: keys, marketplaces and compact rows (:mod:`matching.columns`,
packed into one buffer: :class:`PackedRows`), with what the stages need of all of them at once — the
vocabulary, the blocking keys, the veto codes, the title order — and the ``Prepared``/``Identity`` objects of
only the rows a chunk of work touches."""

from __future__ import annotations

import json
import pickle
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Self, TypeVar

import numpy as np

from .arrays import sorted_unique
from .blocking import Ranks, VetoCodes, VetoPart, codes_from_keys, keys_of, rank_of, twin_key
from .columns import GroupMember, Row, group_member, materialise, prepare_rows, row_blob, row_from_blob
from .config import MatchConfig
from .forking import fork_map
from .identity import Identity
from .prepare import Prepared, Vocabulary
from .records import OfferRecord

T = TypeVar("T")
R = TypeVar("R")
PREPARE_CHUNK = 20_000
"""Records per preparing task."""
OBJECT_CACHE = 20_000
"""``Prepared``/``Identity`` objects a process keeps (≈ 5 KB a pair): enough for the rows a chunk of pairs
in title order shares with the chunks before it. At 112k offers 60,000 cost each worker 100 MB more for no
time saved; at 1.13M one run each gave the same peak and 9 s less (within the machine's noise)."""
VOCABULARY_FORK = 200_000
"""Titles from which their tokens are counted on several processes (fewer: forking costs more than it saves)."""
VETO_SLICE = 1 << 20
"""Candidate pairs checked against the veto codes at once: a check makes temporaries of ≈ 60 bytes a pair
(both offers' attribute codes), 1.5 GB for the 25 million candidate pairs of 1.13M demo offers at once."""


def stable_hash(key: str) -> int:
    """A 63-bit hash of a blocking key that is the same in every process and run (kept with the rows)."""
    data = key.encode()
    return (zlib.crc32(data) << 31) ^ zlib.adler32(data)


class Packed:
    """Byte strings one after another in one buffer, with where each ends: a few Python objects in all, however
    many strings, and nothing a forked worker copies by reading them."""

    def __init__(self, data: bytes, ends: np.ndarray) -> None:
        self._data = data
        self._ends = ends
        """Where each item's bytes end (int64)."""

    @classmethod
    def of(cls, blobs: Sequence[bytes]) -> Self:
        return cls(b"".join(blobs), np.cumsum([len(b) for b in blobs], dtype=np.int64))

    @classmethod
    def concat(cls, parts: Sequence[Packed]) -> Self:
        shifts = np.cumsum([0] + [len(p._data) for p in parts], dtype=np.int64)
        ends = [p._ends + shift for p, shift in zip(parts, shifts.tolist()[:-1], strict=True)]
        return cls(b"".join(p._data for p in parts), np.concatenate([np.zeros(0, np.int64), *ends]))

    def __len__(self) -> int:
        return len(self._ends)

    def blob(self, i: int) -> bytes:
        """Item ``i``'s bytes."""
        i = i + len(self) if i < 0 else i
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._data[int(self._ends[i - 1]) if i else 0 : int(self._ends[i])]


class PackedTexts(Packed, Sequence[str]):
    """Texts as UTF-8 in one buffer, each decoded when read: a short key takes ≈ 27 bytes instead of ≈ 77 as a
    ``str``, and millions of texts leave no small objects behind. Those had been made while the input
    records were alive, among them, so freeing the records gave little memory back (at 1.13M offers the
    store after blocking took 1,189 MB PSS; packed, 684 MB)."""

    @classmethod
    def pack(cls, texts: Iterable[str]) -> PackedTexts:
        return cls.of([t.encode("utf-8", "surrogatepass") for t in texts])

    def __getitem__(self, i):  # a Sequence of texts: one index at a time
        return self.blob(i).decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return self.texts(0, len(self))

    def texts(self, start: int, stop: int) -> Iterator[str]:
        """Texts ``start`` to ``stop`` (excluded), in order."""
        data, begin = self._data, int(self._ends[start - 1]) if start else 0
        for end in self._ends[start:stop].tolist():
            yield data[begin:end].decode("utf-8", "surrogatepass")
            begin = end


class PackedBytes(Packed, Sequence[bytes]):
    """Byte strings in one buffer, read as they are (each row's blocking key hashes)."""

    def __getitem__(self, i):  # a Sequence of byte strings: one index at a time
        return self.blob(i)

    def int64s(self) -> tuple[np.ndarray, np.ndarray]:
        """All the items' bytes read as int64 values, in one array, and the item each value is from."""
        counts = np.diff(self._ends, prepend=np.int64(0)) // 8
        values = np.frombuffer(self._data, dtype=np.int64)
        return values, np.repeat(np.arange(len(self), dtype=np.int64), counts)


class PackedRows(Packed, Sequence[Row]):
    """Rows as their :func:`~matching.columns.row_blob` bytes (≈ 180 bytes a row), each unpacked when read.
    Forked workers read the rows of a match: a worker reading a ``Row`` tuple writes the reference counts of
    the tuple and of its fields, so copies the pages they sit on — with two workers each ended up with its
    own copy of nearly every row. Reading a packed row writes to no shared page."""

    @classmethod
    def pack(cls, rows: Iterable[Row]) -> PackedRows:
        return cls.of([row_blob(r) for r in rows])

    def __getitem__(self, i):  # a Sequence of rows: one index at a time
        return row_from_blob(self.blob(i))


class KeptRows(Sequence[Row]):
    """Rows kept from the last match (``columns.row_blob`` bytes), or fresh ones, each unpacked when first
    read: an incremental match reads few of the rows it keeps. ``None``: a kept row not fetched yet —
    ``fetch`` (rows → their bytes) reads it; :meth:`load` fetches many at once, and must before worker
    processes are forked to read them."""

    def __init__(
        self, items: list[Row | bytes | None], fetch: Callable[[list[int]], list[bytes]] | None = None
    ) -> None:
        self._items = items
        self._fetch = fetch

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):  # a Sequence of rows: one index at a time
        item = self._items[i]
        if item is None:
            self.load([i])
            item = self._items[i]
        if isinstance(item, bytes):
            item = self._items[i] = row_from_blob(item)
        return item

    def blob(self, i: int) -> bytes:
        """Row ``i``'s bytes (:func:`~matching.columns.row_blob`), as kept when not read since."""
        item = self._items[i]
        if item is None:
            self.load([i])
            item = self._items[i]
        assert item is not None, "loaded above"
        return item if isinstance(item, bytes) else row_blob(item)

    def load(self, rows: Iterable[int]) -> None:
        """Fetch the rows of ``rows`` not fetched yet, in one go."""
        missing = [i for i in rows if self._items[i] is None]
        if missing:
            assert self._fetch is not None, "a kept row without a way to read it"
            for i, blob in zip(missing, self._fetch(missing), strict=True):
                self._items[i] = blob


class PreparedStore:
    """Prepared offers sorted by key (index = position)."""

    def __init__(
        self,
        keys: Sequence[str],
        markets: list[str],
        rows: Sequence[Row],
        key_hashes: Sequence[bytes | None] | None = None,
        norms: Sequence[str] | None = None,
        vocab: Vocabulary | None = None,
        kept_texts: Callable[[str, list[int]], list[str | None]] | None = None,
    ) -> None:
        self.keys, self.markets, self.rows = keys, markets, rows
        self.key_hashes: Sequence[bytes | None] = key_hashes or [None] * len(rows)
        """Each row's blocking key hashes (int64 bytes), once computed or when kept from the last match (packed
        when computed for every row at once)."""
        self.norms: Sequence[str] = norms if norms is not None else [r.norm for r in rows]
        self._vocab = vocab
        self._vetoes: VetoCodes | None = None
        self._title_rank: np.ndarray | None = None
        self._coded: dict[str, Packed] = {}
        """Each row's :data:`ROW_TEXTS` (UTF-8), when coded with the key hashes."""
        self._kept_texts = kept_texts
        """The :data:`ROW_TEXTS` of a kind kept from the last match, of the given rows (``None``: read the
        row)."""
        self._objects: dict[int, tuple[Prepared, Identity]] = {}

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def prepare(cls, records: Sequence[OfferRecord], cjk: str = "bigram", workers: int = 1) -> PreparedStore:
        """Prepare ``records`` (any order) on ``workers`` processes; the rows come back packed
        (:class:`PackedRows`), and the keys and titles too (:class:`PackedTexts`)."""
        records = sorted(records, key=lambda r: r.key)
        rows, norms = _prepare(records, cjk, workers)
        keys = PackedTexts.pack(r.key for r in records)
        return cls(keys, _fresh([r.marketplace for r in records]), rows, norms=norms)

    def row_blob(self, i: int) -> bytes:
        """Row ``i`` as :func:`~matching.columns.row_blob` bytes — packed or kept ones as they are, without
        unpacking them (a full match saves every row)."""
        rows = self.rows
        return rows.blob(i) if isinstance(rows, (PackedRows, KeptRows)) else row_blob(rows[i])

    def need(self, rows: np.ndarray) -> None:
        """Rows about to be read, by this process or by workers forked next: kept rows not read yet are
        fetched now, at once."""
        if isinstance(self.rows, KeptRows):
            self.rows.load(rows.tolist())

    def objects(self, rows: Iterable[int]) -> tuple[list[Prepared], list[Identity]]:
        """``Prepared`` and ``Identity`` of the given rows, in their order. The last ``OBJECT_CACHE`` built
        are kept (per process): chunks in title order touch many of the rows the previous chunk did."""
        prepared: list[Prepared] = []
        identities: list[Identity] = []
        cache = self._objects
        for i in rows:
            got = cache.get(i)
            if got is None:
                got = cache[i] = materialise(self.keys[i], self.markets[i], self.rows[i])
            prepared.append(got[0])
            identities.append(got[1])
        if len(cache) > OBJECT_CACHE:  # forget the oldest half
            for i in list(islice(cache, len(cache) - OBJECT_CACHE // 2)):
                del cache[i]
        return prepared, identities

    def members(self, rows: Iterable[int]) -> tuple[list[GroupMember], list[Identity]]:
        """What grouping reads of the given rows (:func:`~matching.columns.group_member`), in their order —
        not cached: grouping reads each offer once."""
        built = [group_member(self.keys[i], self.markets[i], self.rows[i]) for i in rows]
        return [m for m, _ in built], [x for _, x in built]

    @property
    def vocab(self) -> Vocabulary:
        return self.count_vocabulary()

    def count_vocabulary(self, workers: int = 1) -> Vocabulary:
        """The titles' token counts (:attr:`vocab`), counted on ``workers`` processes the first time: slices
        in order, their counts added in order — the same counts, in the same first-seen order."""
        if self._vocab is None:  # the counts of Vocabulary(token sets), in Counter.update: a third faster
            vocab = Vocabulary(())
            step = max(1, -(-len(self.norms) // max(workers, 1)))
            slices = [(s, s + step) for s in range(0, len(self.norms), step)] if workers > 1 else []
            if len(self.norms) >= VOCABULARY_FORK and len(slices) > 1:
                global _NORMS
                _NORMS = self.norms
                try:
                    for counts in fork_map(_count_tokens, slices, workers):
                        vocab.df.update(counts)
                finally:
                    _NORMS = None
            else:
                vocab.df.update(_token_sets(self.norms))
            vocab.n = len(self.norms)
            self._vocab = vocab
        return self._vocab

    def key_arrays(self, config: MatchConfig, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(key hash, row) per blocking key of each offer; rows without kept hashes get them now. When every
        row needs them, the same workers also code the rows' veto inputs and twin keys (they read each row
        anyway; the main process would otherwise unpack every row again for them)."""
        missing = [i for i, h in enumerate(self.key_hashes) if h is None]
        if missing:
            self.count_vocabulary(workers)
            spans = [missing[s : s + PREPARE_CHUNK] for s in range(0, len(missing), PREPARE_CHUNK)]
            hashed = _map(self, config, _hash_rows, spans, workers)
            if len(missing) == len(self):
                self.key_hashes = PackedBytes.concat([hashes for hashes, _, _ in hashed])
                self._vetoes = VetoCodes.merge([veto for _, veto, _ in hashed], config)
                self._coded = {
                    kind: Packed.concat([texts[k] for _, _, texts in hashed])
                    for k, kind in enumerate(ROW_TEXTS)
                }
            else:
                known = self.key_hashes if isinstance(self.key_hashes, list) else list(self.key_hashes)
                for span, (hashes, _, _) in zip(spans, hashed, strict=True):
                    for i, h in zip(span, hashes, strict=True):
                        known[i] = h
                self.key_hashes = known
        every = self.key_hashes
        packed = every if isinstance(every, PackedBytes) else PackedBytes.of([h or b"" for h in every])
        return packed.int64s()

    def title_rank(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Each offer's place in title order (of ``rows`` only when given; the others 0). The order of all
        offers is sorted once (blocking and scoring both read it)."""
        if rows is not None:
            return self._rank([self.norms[i] for i in rows.tolist()], rows)
        if self._title_rank is None:
            self._title_rank = self._rank(self.norms, None)
        return self._title_rank

    def title_order(self, rows: np.ndarray) -> np.ndarray:
        """The positions of ``rows`` (any order, repeats allowed) sorted by title, ties by position: the
        order of all offers when it is sorted already, else only that of these rows (the same order)."""
        if self._title_rank is not None or len(rows) > len(self) // 2:
            return np.argsort(self.title_rank()[rows], kind="stable")
        return np.argsort(self.title_rank(sorted_unique(rows))[rows], kind="stable")

    def ranks(self, rows: np.ndarray | None = None) -> Ranks:
        """The two orders of large blocks: each offer's place in title order (of ``rows`` only when given;
        the others 0), and the :func:`matching.blocking.twin_key` order of the rows asked for — only the
        members of large blocks."""
        return self.title_rank(rows), lambda large: self._rank(self.twin_keys(large.tolist()), large)

    def twin_keys(self, rows: list[int]) -> list[str]:
        """The :func:`~matching.blocking.twin_key` of each of ``rows``."""
        return self.texts("twin", rows)

    def texts(self, kind: str, rows: list[int]) -> list[str]:
        """A kind of :data:`ROW_TEXTS` of each of ``rows``: coded by the key-hashing workers, or kept from the
        last match, or else read from the row (kept rows are fetched then, at once)."""
        coded = self._coded.get(kind)
        if coded is not None:
            return [coded.blob(i).decode("utf-8", "surrogatepass") for i in rows]
        kept = self._kept_texts(kind, rows) if self._kept_texts else [None] * len(rows)
        self.need(np.array([i for i, t in zip(rows, kept, strict=True) if t is None], dtype=np.int64))
        of_row = ROW_TEXTS[kind]
        return [of_row(self.rows[i]) if t is None else t for i, t in zip(rows, kept, strict=True)]

    def _rank(self, order_keys: Sequence[str], rows: np.ndarray | None) -> np.ndarray:
        """Each row's place in the order of ``order_keys`` (those of ``rows`` when given; the others 0)."""
        if rows is None:
            return rank_of(order_keys)
        rank = np.zeros(len(self), dtype=np.int64)
        rank[rows] = rank_of(order_keys)
        return rank

    def candidate_codes(
        self, config: MatchConfig, dirty: np.ndarray | None = None, vetoes: bool = False, workers: int = 1
    ) -> np.ndarray:
        """:func:`matching.blocking.candidate_codes` of the stored offers (``vetoes``: without the pairs
        :class:`VetoCodes` veto). With ``dirty``, only the offers that share a key with a dirty one are read."""
        keys, members = self.key_arrays(config, workers)
        if dirty is None:
            return codes_from_keys(
                keys, members, self.ranks(), config, vetoes=self.veto_codes(config) if vetoes else None
            )
        keys, members = _in_blocks(keys, members, keys[dirty[members]])
        codes = codes_from_keys(keys, members, self.ranks(sorted_unique(members)), config, dirty=dirty)
        if vetoes:  # the veto codes of just the offers in these pairs (from their kept texts: no row read)
            i, j = np.divmod(codes, len(self))
            codes = codes[~self.vetoed(config, codes, sorted_unique(np.concatenate([i, j])))]
        return codes

    def vetoed(self, config: MatchConfig, codes: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Which candidate pairs (int64 codes ``i * n + j``) :class:`VetoCodes` vetoes, ``VETO_SLICE`` pairs
        at a time (``rows``: as for :meth:`veto_codes`)."""
        vetoes, n = self.veto_codes(config, rows), len(self)
        out = np.empty(len(codes), dtype=bool)
        for start in range(0, len(codes), VETO_SLICE):
            part = codes[start : start + VETO_SLICE]
            out[start : start + len(part)] = vetoes.vetoed(part // n, part % n)
        return out

    def veto_codes(self, config: MatchConfig, rows: np.ndarray | None = None) -> VetoCodes:
        """The veto codes of every offer (of ``rows`` when given, the first time; the others never veto)."""
        if self._vetoes is None:
            chosen = list(range(len(self))) if rows is None else rows.tolist()
            parsed: dict[str, tuple[dict[str, str], str | None]] = {}  # texts repeat: ≈ 8 offers a text
            inputs = []
            for text in self.texts("veto", chosen):
                got = parsed.get(text)
                if got is None:
                    attrs, gtin = json.loads(text)
                    got = parsed[text] = (dict(attrs), gtin)
                inputs.append(got)
            codes = VetoCodes.of([attrs for attrs, _ in inputs], [gtin for _, gtin in inputs], config)
            self._vetoes = codes if rows is None else _spread(codes, rows, len(self))
        return self._vetoes


def _twin_of(row: Row) -> str:
    return twin_key(row.id_brand, row.id_numbers, row.id_attrs, row.id_latin)


def _veto_of(row: Row) -> str:
    """What :class:`~matching.blocking.VetoCodes` reads of a row (its attributes and GTIN), as JSON."""
    return json.dumps([row.attrs, row.gtin])


ROW_TEXTS: dict[str, Callable[[Row], str]] = {"twin": _twin_of, "veto": _veto_of}
"""Texts of each row a match keeps beside it (``match_state``), so that the next, incremental, match reads
them instead of fetching and unpacking the rows: its twin key (the twin order of large blocks) and its veto
inputs (the veto codes of the offers in candidate pairs)."""


def _fresh(texts: list[str]) -> list[str]:
    """Copies of ``texts`` (equal ones shared), made one after another: the records they come from are freed
    after preparing, but a string kept from each would keep every page of the records' memory in use — and
    a forked worker reading the strings would copy those pages."""
    shared: dict[str, str] = {}
    return [shared.get(t) or shared.setdefault(t, t.encode().decode()) for t in texts]


def _in_blocks(keys: np.ndarray, members: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (key, member) entries of the blocks whose key is one of ``wanted``: a block is worked out from its
    own entries alone, so the blocks of changed offers need only theirs (not a sort of every key)."""
    wanted = sorted_unique(wanted)
    if not len(wanted):
        return keys[:0], members[:0]
    at = np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)
    hit = wanted[at] == keys
    return keys[hit], members[hit]


def _spread(codes: VetoCodes, rows: np.ndarray, n: int) -> VetoCodes:
    """``codes`` (of ``rows``) as the codes of ``n`` offers, the others never vetoing. (Here, not in
    ``blocking``: that module's source is part of ``PREPARE_VERSION``.)"""
    out = VetoCodes.__new__(VetoCodes)
    out.attrs = np.full((n, codes.attrs.shape[1]), -1, dtype=np.int32)
    out.colours = np.zeros(n, dtype=np.uint64)
    out.gtins = np.full(n, -1, dtype=np.int64)
    out.attrs[rows], out.colours[rows], out.gtins[rows] = codes.attrs, codes.colours, codes.gtins
    return out


_STORE: tuple[PreparedStore, MatchConfig] | None = None
_NORMS: Sequence[str] | None = None
"""The titles whose tokens forked workers count (:meth:`PreparedStore.count_vocabulary`)."""


def _map(
    store: PreparedStore, config: MatchConfig, task: Callable[[T], R], items: Sequence[T], workers: int
) -> list[R]:
    """``task`` over ``items`` on ``workers`` forked processes that share ``store``."""
    global _STORE
    _STORE = (store, config)
    try:
        return fork_map(task, items, workers)
    finally:
        _STORE = None


def _token_sets(norms: Iterable[str]) -> Iterator[str]:
    return chain.from_iterable(map(frozenset, map(str.split, norms)))


def _count_tokens(bounds: tuple[int, int]) -> Counter[str]:
    """The token counts of a slice of the titles (each title's distinct tokens once)."""
    assert _NORMS is not None
    norms = _NORMS.texts(*bounds) if isinstance(_NORMS, PackedTexts) else islice(_NORMS, *bounds)
    return Counter(_token_sets(norms))


def _hash_rows(rows: list[int]) -> tuple[PackedBytes, VetoPart, list[Packed]]:
    """The rows' key hashes, their veto inputs and their :data:`ROW_TEXTS`."""
    assert _STORE is not None
    store, config = _STORE
    vocab = store.vocab
    hashes, attrs, gtins = [], [], []
    texts: list[list[bytes]] = [[] for _ in ROW_TEXTS]
    for i in rows:
        r = store.rows[i]
        found = keys_of(r.gtin, r.codes, r.norm.split(), r.id_brand, r.id_numbers, r.id_attrs, vocab, config)
        hashes.append(np.array([stable_hash(k) for k in found], dtype=np.int64).tobytes())
        attrs.append(dict(r.attrs))
        gtins.append(r.gtin)
        for out, of_row in zip(texts, ROW_TEXTS.values(), strict=True):
            out.append(of_row(r).encode("utf-8", "surrogatepass"))
    return PackedBytes.of(hashes), VetoPart.of(attrs, gtins, config), [Packed.of(t) for t in texts]


def _prepare(records: Sequence[OfferRecord], cjk: str, workers: int) -> tuple[PackedRows, PackedTexts]:
    """The rows of ``records`` packed, and their normalised titles. On several processes, each worker is
    sent its chunk of records pickled here beforehand: a forked worker reading the records themselves — or
    this process pickling them while the workers run — writes their reference counts, and so copies the
    pages they sit on: the processes ended up holding a second copy of every record between them."""
    starts = range(0, len(records), PREPARE_CHUNK)
    if workers <= 1 or len(starts) <= 1:
        parts = [_prepare_rows(records[s : s + PREPARE_CHUNK], cjk) for s in starts]
    else:
        chunks = [(pickle.dumps(records[s : s + PREPARE_CHUNK], protocol=5), cjk) for s in starts]
        parts = fork_map(_prepare_chunk, chunks, workers)
    return PackedRows.concat([p for p, _ in parts]), PackedTexts.concat([norms for _, norms in parts])


def _prepare_chunk(chunk: tuple[bytes, str]) -> tuple[PackedRows, PackedTexts]:
    """A worker's task: the pickled records of a chunk, prepared."""
    return _prepare_rows(pickle.loads(chunk[0]), chunk[1])


def _prepare_rows(records: Sequence[OfferRecord], cjk: str) -> tuple[PackedRows, PackedTexts]:
    rows = prepare_rows(records, cjk)
    return PackedRows.pack(rows), PackedTexts.pack(r.norm for r in rows)
