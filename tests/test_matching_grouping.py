"""Grouping (stage 5): which refused merges become review candidates, and that the group vetoes hold."""

from __future__ import annotations

import random

import numpy as np

from matching import MatchConfig
from matching.columns import GroupMember
from matching.grouping import Edges, group_edges
from matching.overrides import Overrides


def _family(sizes: dict[str, int]) -> list[GroupMember]:
    """Offers of one phone in several storage sizes (``{"128gb": 3, …}``), keys in that order."""
    return [
        GroupMember(f"shop{n}/{storage}-{n}", f"shop{n}", {"storage": storage}, frozenset())
        for storage, count in sizes.items()
        for n in range(count)
    ]


def _all_pairs(members: list[GroupMember], rng: random.Random) -> Edges:
    pairs = [(i, j) for i in range(len(members)) for j in range(i + 1, len(members))]
    scores = [round(rng.uniform(0.5, 1.0), 3) for _ in pairs]
    return Edges(
        np.array([i for i, _ in pairs], dtype=np.int64),
        np.array([j for _, j in pairs], dtype=np.int64),
        np.array(scores, dtype=np.float64),
        np.zeros(len(pairs), dtype=np.int8),
    )


def test_refused_merges_reviewed_are_those_nearest_the_threshold() -> None:
    members = _family({"128gb": 6, "256gb": 6, "512gb": 5})
    edges = _all_pairs(members, random.Random(3))
    config = MatchConfig(review_limit=7)
    groups, review = group_edges(members, [], config, Overrides(), edges)

    assert sorted(len(g.members) for g in groups) == [5, 6, 6]  # the sizes never merge
    storage = {m.key: m.attrs["storage"] for m in members}
    assert all(len({storage[k] for k in g.members}) == 1 for g in groups)
    cross = [
        (abs(round(s, 4) - config.threshold), i, j, s)
        for i, j, s in zip(edges.i.tolist(), edges.j.tolist(), edges.score.tolist(), strict=True)
        if storage[members[i].key] != storage[members[j].key]
    ]
    expected = sorted(cross)[: config.review_limit]
    assert [(r.i, r.j, r.score) for r in review] == [(i, j, round(s, 4)) for _, i, j, s in expected]
    for r in review:
        a, b = storage[members[r.i].key], storage[members[r.j].key]
        reason = f"score {r.score:.3f} but not merged: group veto storage: {[a]} vs {[b]}"
        assert r.reasons == [reason]


def test_a_refused_merge_an_override_decided_is_not_reviewed() -> None:
    members = _family({"128gb": 2, "256gb": 2})
    edges = _all_pairs(members, random.Random(5))
    config = MatchConfig(review_limit=100)
    split_pair = (members[0].key, members[2].key)
    overrides = Overrides()
    overrides.add(*split_pair, "split")
    _, review = group_edges(members, [], config, overrides, edges)

    reviewed = {(members[r.i].key, members[r.j].key) for r in review}
    assert split_pair not in reviewed
    assert len(reviewed) == 3  # the other cross pairs: 2 × 2 − 1
