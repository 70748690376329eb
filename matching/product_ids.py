"""Stable product ids across runs: a storefront link must not break because a new offer joined."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence


def new_product_id(members: Sequence[str]) -> str:
    """``p_`` + a short hash of the group's smallest member key (deterministic)."""
    return "p_" + hashlib.sha1(min(members).encode("utf-8")).hexdigest()[:12]


def assign_product_ids(
    groups: Sequence[Sequence[str]], previous: Mapping[str, str], reserved: Collection[str] = ()
) -> list[str]:
    """One id per group, in order.

    ``previous`` maps offer key → product id of the last run. A group keeps the id most of its members had
    (ties → the smallest id); an id goes to at most one group — the group holding most of its members
    (ties → the group with the smallest member key); other groups get a new id. ``reserved``: ids that stay
    with products not among ``groups`` (incremental matching regroups only some), never given out.
    """
    claims: list[tuple[int, str, str, int]] = []  # (-votes, id, smallest member, group index)
    for gi, members in enumerate(groups):
        votes = Counter(previous[k] for k in members if k in previous)
        claims.extend((-count, pid, min(members), gi) for pid, count in votes.items())
    claims.sort()
    out: list[str | None] = [None] * len(groups)
    used: set[str] = set(reserved)
    for _, pid, _, gi in claims:
        if out[gi] is None and pid not in used:
            out[gi] = pid
            used.add(pid)
    taken = used | set(previous.values())
    for gi, members in enumerate(groups):
        if out[gi] is None:
            pid, n = new_product_id(members), 1
            while pid in taken:
                n += 1
                pid = f"{new_product_id(members)}-{n}"
            out[gi] = pid
            taken.add(pid)
    return [pid for pid in out if pid is not None]
