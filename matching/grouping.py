"""Stage 5 — group matched pairs into products.

Union-find over accepted pairs, strongest first, with vetoes enforced at group level: two groups merge
only if no variant attribute conflicts between them (so a group never holds 128GB and 256GB), no split
override separates any of their members, and (optionally) no marketplace appears in both. Confirm
overrides are merged first and always win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .attributes import attribute_conflict
from .identity import Identity
from .identity import conflict as identity_conflict
from .prepare import Prepared


@dataclass
class Edge:
    i: int
    j: int
    score: float
    method: str


@dataclass
class GroupState:
    parent: list[int]
    attrs: list[dict[str, set[str]] | None]
    markets: list[set[str] | None]
    split_partners: dict[int, set[int]] = field(default_factory=dict)


class Grouper:
    def __init__(
        self,
        prepared: Sequence[Prepared],
        vetoes: Iterable[str],
        one_per_marketplace: bool = False,
        identities: Sequence[Identity] | None = None,
    ):
        self.prepared = prepared
        self.identities = identities
        self._ids: dict[int, set[Identity]] = {}
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
        return got

    def ids(self, root: int) -> set[Identity]:
        got = self._ids.get(root)
        return got if got is not None else {self.identities[root]} if self.identities else set()

    def identity_conflict(self, ri: int, rj: int, edge: Edge | None = None) -> str | None:
        """The first member-against-member identity veto between two groups (distinct identities only). The
        pair of ``edge`` itself is not checked: the pair model judged it (and ``MatchConfig.identity_vetoes``
        at pair level); the check keeps a chain of such pairs from joining offers that cannot be one."""
        own = {self.identities[edge.i], self.identities[edge.j]} if edge and self.identities else set()
        for x in self.ids(ri):
            for y in self.ids(rj):
                if own and {x, y} == own:
                    continue
                why = identity_conflict(x, y)
                if why:
                    return f"group veto {why}"
        return None

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
            if other and any(attribute_conflict(key, x, y) for x in values for y in other):
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
        if ri == rj:
            return True
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
