"""Where a demo catalogue's true pairs are lost: for every pair of offers the generator says are one SKU and
the match leaves in different groups, the stage that lost it — not a candidate (blocking), vetoed (a
variant attribute or GTIN rule), scored under the threshold (the model), or refused at grouping (a
group-level check; the reason is counted).

    .venv/bin/python benchmarks/bench_lost_pairs.py                       # seed 303, restyled titles
    .venv/bin/python benchmarks/bench_lost_pairs.py --seed 7 --style demo --offers 2500

``--style restyled`` titles the catalogue as no demo shop does (``matching.tuning.restyle``: specs first,
units spelled out, brand last, shop service words); ``demo`` keeps the shops' own titles. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.records import listing_records
from matching import MatchConfig
from matching.pipeline import match_store
from matching.store import PreparedStore
from matching.tuning.restyle import restyled_title

REFUSED = "not merged: "
"""What a grouping refusal's review reason says before why (``score 0.912 but not merged: …``)."""


def pairs_of(codes: np.ndarray, n: int) -> set[tuple[int, int]]:
    """Pair codes ``i * n + j`` as (smaller, larger) index pairs."""
    return {(min(i, j), max(i, j)) for i, j in zip((codes // n).tolist(), (codes % n).tolist(), strict=True)}


def why_kind(why: str) -> str:
    """``group veto model words a b ≠ c`` → ``model words``; ``group veto size: 40 vs 41`` → ``size``."""
    return " ".join(why.removeprefix("group veto ").split(":")[0].split()[:2])


def lost_pairs(offers: int, seed: int, style: str) -> dict[str, object]:
    records, truth = listing_records(offers, seed, restyled_title if style == "restyled" else None)
    config = MatchConfig.from_dict({**MatchConfig().to_dict(), "review_limit": 10**9})
    store = PreparedStore.prepare(records, config.cjk_tokens)
    keys, n = list(store.keys), len(store)
    result = match_store(store, config)
    group_of = {k: g for g, group in enumerate(result.groups) for k in group.members}
    by_sku: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_sku.setdefault(truth[key], []).append(i)
    true_pairs = {(i, j) for members in by_sku.values() for i, j in combinations(sorted(members), 2)}
    lost = {(i, j) for i, j in true_pairs if group_of[keys[i]] != group_of[keys[j]]}
    codes = store.candidate_codes(config)
    candidates, vetoed = pairs_of(codes, n), pairs_of(codes[store.vetoed(config, codes)], n)
    index = {k: i for i, k in enumerate(keys)}
    refused: dict[tuple[int, int], str] = {}
    for decision in result.review:
        why = next((r for r in decision.reasons if REFUSED in r), None)
        if why:
            i, j = sorted((index[decision.key_a], index[decision.key_b]))
            refused[(i, j)] = why_kind(why.split(REFUSED, 1)[1])
    stages: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for pair in lost:
        if pair not in candidates:
            stages["not a candidate"] += 1
        elif pair in vetoed:
            stages["vetoed"] += 1
        elif pair in refused:
            stages["refused at grouping"] += 1
            reasons[refused[pair]] += 1
        else:
            stages["under the threshold"] += 1
    return {
        "offers": n,
        "seed": seed,
        "style": style,
        "model": config.model_version,
        "true_pairs": len(true_pairs),
        "lost": len(lost),
        "stages": dict(stages.most_common()),
        "grouping_reasons": dict(reasons.most_common(8)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--offers", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=303)
    ap.add_argument("--style", choices=("restyled", "demo"), default="restyled")
    args = ap.parse_args()
    print(json.dumps(lost_pairs(args.offers, args.seed, args.style), ensure_ascii=False))


if __name__ == "__main__":
    main()
