"""Stage 5 — group matched pairs into products.

Union-find over accepted pairs, strongest first, with vetoes enforced at group level: two groups merge
only if no variant attribute conflicts between them (so a group never holds 128GB and 256GB), no split
override separates any of their members, and (optionally) no marketplace appears in both. Confirm
overrides are merged first and always win.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .attributes import attribute_conflict
from .config import MatchConfig
from .identity import Identity
from .identity_vetoes import conflict as identity_conflict
from .overrides import Overrides

EDGE_METHODS: tuple[str, ...] = ("title", "model", "gtin")
"""Edge methods by code (``Edges.method``)."""


class Member(Protocol):
    """What grouping reads of an offer: a :class:`~matching.prepare.Prepared` has it, and so has the lighter
    :class:`~matching.columns.GroupMember` that large matches build for grouping alone."""

    @property
    def key(self) -> str: ...
    @property
    def marketplace(self) -> str: ...
    @property
    def attrs(self) -> Mapping[str, str]: ...
    @property
    def bare_numbers(self) -> frozenset[str]: ...


@dataclass
class Group:
    members: list[str]
    """Offer keys, sorted."""
    confidence: float
    """The weakest accepted link that holds the group together (1.0 for singletons and overrides)."""
    method: dict[str, str]
    """Per member: ``gtin``/``model``/``title``/``override``/``single``."""


@dataclass
class Edges:
    """Accepted pairs as parallel arrays (indices into the prepared records)."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    method: np.ndarray
    """Index into :data:`EDGE_METHODS`."""

    @classmethod
    def empty(cls) -> Edges:
        return cls(
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int8)
        )

    @classmethod
    def concat(cls, parts: Sequence[Edges]) -> Edges:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("i", "j", "score", "method")))

    def __len__(self) -> int:
        return len(self.i)


@dataclass
class Review:
    """A review candidate: offer indices, rounded score, reasons."""

    i: int
    j: int
    score: float
    reasons: list[str]


@dataclass
class Edge:
    i: int
    j: int
    score: float
    method: str


class Grouper:
    def __init__(
        self,
        prepared: Sequence[Member],
        vetoes: Iterable[str],
        one_per_marketplace: bool = False,
        identities: Sequence[Identity] | None = None,
    ):
        self.prepared = prepared
        self.identities = identities
        self._distinct: dict[Identity, int] = {}
        self._id_of = [self._distinct.setdefault(x, len(self._distinct)) for x in identities or ()]
        """Each offer's identity as a number (equal identities, equal numbers)."""
        self._identity = list(self._distinct)
        self._verdicts: dict[tuple[int, int], str | None] = {}
        self._ids: dict[int, set[int]] = {}
        self.vetoes = tuple(vetoes)
        self.one_per_marketplace = one_per_marketplace
        n = len(prepared)
        self.parent = list(range(n))
        self._attrs: dict[int, dict[str, set[str]]] = {}
        self._markets: dict[int, set[str]] = {}
        self.split_partners: dict[int, set[int]] = {}
        self.blocked: list[tuple[Edge, str]] = []

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def attrs(self, root: int) -> dict[str, set[str]]:
        got = self._attrs.get(root)
        if got is None:
            p = self.prepared[root]
            got = {k: {v} for k, v in p.attrs.items() if k in self.vetoes}
            if "numbers" in self.vetoes and p.bare_numbers:
                got["numbers"] = {" ".join(sorted(p.bare_numbers))}
            self._attrs[root] = got  # a root's attributes change only by union, which replaces them
        return got

    def ids(self, root: int) -> set[int]:
        """The distinct identities (numbers) of the group of ``root``."""
        got = self._ids.get(root)
        return got if got is not None else {self._id_of[root]} if self.identities else set()

    def identity_conflict(self, ri: int, rj: int, edge: Edge | None = None) -> str | None:
        """The first member-against-member identity veto between two groups (distinct identities only). The
        pair of ``edge`` itself is not checked: the pair model judged it (and ``MatchConfig.identity_vetoes``
        at pair level); the check keeps a chain of such pairs from joining offers that cannot be one."""
        own = {self._id_of[edge.i], self._id_of[edge.j]} if edge and self.identities else set()
        for x in self.ids(ri):
            for y in self.ids(rj):
                if own and {x, y} == own:
                    continue
                why = self._verdict(x, y)
                if why:
                    return f"group veto {why}"
        return None

    def _verdict(self, x: int, y: int) -> str | None:
        """:func:`identity_vetoes.conflict` of two distinct identities, each pair judged once: groups that
        grow meet the same pairs again."""
        key = (x, y)
        if key not in self._verdicts:
            self._verdicts[key] = identity_conflict(self._identity[x], self._identity[y])
        return self._verdicts[key]

    def markets(self, root: int) -> set[str]:
        return self._markets.get(root) or {self.prepared[root].marketplace}

    def add_split(self, i: int, j: int) -> None:
        self.split_partners.setdefault(i, set()).add(j)
        self.split_partners.setdefault(j, set()).add(i)

    def conflict(self, ri: int, rj: int, edge: Edge | None = None) -> str | None:
        """Why groups ``ri`` and ``rj`` may not merge (by ``edge``; ``None`` if they may)."""
        a, b = self.attrs(ri), self.attrs(rj)
        for key, values in a.items():
            other = b.get(key)
            if not other or (values == other and len(values) == 1):  # one value each, the same: no conflict
                continue
            if any(attribute_conflict(key, x, y) for x in values for y in other):
                return f"group veto {key}: {sorted(values)} vs {sorted(other)}"
        why = self.identity_conflict(ri, rj, edge) if self.identities else None
        if why:
            return why
        if self.one_per_marketplace and self.markets(ri) & self.markets(rj):
            return "marketplace already in group"
        for member, partners in self.split_partners.items():
            if self.find(member) == ri and any(self.find(p) == rj for p in partners):
                return "split override"
        return None

    def union(self, ri: int, rj: int) -> None:
        if ri == rj:
            return
        merged = {k: set(v) for k, v in self.attrs(ri).items()}
        for k, v in self.attrs(rj).items():
            merged.setdefault(k, set()).update(v)
        markets = self.markets(ri) | self.markets(rj)
        ids = self.ids(ri) | self.ids(rj)
        small, big = (ri, rj) if ri > rj else (rj, ri)
        self.parent[small] = big
        self._attrs.pop(small, None)
        self._markets.pop(small, None)
        self._ids.pop(small, None)
        if self.identities:
            self._ids[big] = ids
        self._attrs[big] = merged
        self._markets[big] = markets

    def try_merge(self, edge: Edge, force: bool = False) -> bool:
        ri, rj = self.find(edge.i), self.find(edge.j)
        return ri == rj or self.merge_roots(ri, rj, edge, force)

    def merge_roots(self, ri: int, rj: int, edge: Edge, force: bool = False) -> bool:
        """Merge the groups of roots ``ri`` and ``rj`` (two) by ``edge`` unless a veto refuses (kept in
        ``blocked``)."""
        why = None if force else self.conflict(ri, rj, edge)
        if why:
            self.blocked.append((edge, why))
            return False
        self.union(ri, rj)
        return True

    def components(self) -> list[list[int]]:
        comps: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            comps.setdefault(self.find(i), []).append(i)
        return sorted(comps.values(), key=lambda m: min(self.prepared[i].key for i in m))


def group_edges(
    prepared: Sequence[Member],
    ids: Sequence[Identity],
    config: MatchConfig,
    overrides: Overrides,
    edges: Edges,
) -> tuple[list[Group], list[Review]]:
    """Union-find over the accepted pairs, strongest first (ties by index), with the group vetoes and the
    overrides; the groups, and the ``config.review_limit`` merges a veto refused nearest the threshold
    (review candidates). The outcome within one connected component of the edges (and confirm overrides)
    depends on that component alone — what lets components be grouped apart, in parallel, and incremental
    matching regroup only those that changed."""
    index = {p.key: i for i, p in enumerate(prepared)}
    grouper = Grouper(prepared, config.vetoes, config.one_per_marketplace, ids)
    for a, b in sorted(overrides.split):
        if a in index and b in index:
            grouper.add_split(index[a], index[b])
    forced: set[int] = set()
    for a, b in sorted(overrides.confirm):
        if a in index and b in index:
            grouper.try_merge(Edge(index[a], index[b], 1.0, "override"), force=True)
            forced.update((index[a], index[b]))
    best: dict[int, Edge] = {}
    weakest: dict[int, float] = {}
    find, splits = grouper.find, overrides.split
    methods = [EDGE_METHODS[m] for m in edges.method.tolist()]
    ei, ej, score = edges.i.tolist(), edges.j.tolist(), edges.score.tolist()
    for k in np.lexsort((edges.j, edges.i, -edges.score)).tolist():
        edge = Edge(ei[k], ej[k], score[k], methods[k])
        if splits and overrides.decision(prepared[edge.i].key, prepared[edge.j].key) == "split":
            continue
        ri, rj = find(edge.i), find(edge.j)
        if ri != rj:  # the roots found once (not again by Grouper.try_merge)
            if not grouper.merge_roots(ri, rj, edge):
                continue
            weakest[find(edge.i)] = min(edge.score, weakest.get(ri, 1.0), weakest.get(rj, 1.0))
        best.setdefault(edge.i, edge)
        best.setdefault(edge.j, edge)
    return _groups(grouper, prepared, best, weakest, forced), _refused(grouper, prepared, config, overrides)


def _refused(
    grouper: Grouper, prepared: Sequence[Member], config: MatchConfig, overrides: Overrides
) -> list[Review]:
    """The ``config.review_limit`` merges a veto refused nearest the threshold (ties by index), as review
    candidates — chosen before their reasons are written: a large component refuses hundreds of
    thousands."""
    refused = [
        (abs(round(edge.score, 4) - config.threshold), edge.i, edge.j, n)
        for n, (edge, _) in enumerate(grouper.blocked)
        if not overrides or overrides.decision(prepared[edge.i].key, prepared[edge.j].key) is None
    ]
    out = []
    for *_, n in heapq.nsmallest(config.review_limit, refused):
        edge, why = grouper.blocked[n]
        reason = f"score {edge.score:.3f} but not merged: {why}"
        out.append(Review(edge.i, edge.j, round(edge.score, 4), [reason]))
    return out


def _groups(
    grouper: Grouper,
    prepared: Sequence[Member],
    best: dict[int, Edge],
    weakest: dict[int, float],
    forced: set[int],
) -> list[Group]:
    out: list[Group] = []
    for comp in grouper.components():
        if len(comp) == 1:
            out.append(Group([prepared[comp[0]].key], 1.0, {prepared[comp[0]].key: "single"}))
            continue
        method = {}
        for i in comp:
            edge = best.get(i)
            method[prepared[i].key] = edge.method if edge else ("override" if i in forced else "title")
        root = grouper.find(comp[0])
        out.append(Group(sorted(prepared[i].key for i in comp), round(weakest.get(root, 1.0), 4), method))
    return out
