"""How much the matcher learns from a merchandiser: a demo catalogue titled in a style the default model
never saw (``matching.tuning.restyle``), decisions simulated from the generator's truth on the pairs
`bijia review` would show (most uncertain first), the default re-fitted with them as `bijia model fit` does.

    .venv/bin/python benchmarks/bench_learning.py                 # 100 and 300 decisions
    .venv/bin/python benchmarks/bench_learning.py --decisions 50,100,300 --offers 1500

Grouping F1 (pairwise over groups) is measured on the catalogue the decisions came from — *without* the
decisions applied as overrides, so the figure is what the re-fitted model does on its own — and on a second
catalogue of the same style (another seed), which no decision touched. Needs ../shared/data and
scikit-learn (the pooled training sets).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.records import listing_records
from matching import MatchConfig, OfferRecord, match_offers
from matching.model import register_model
from matching.tuning.datasets import PairSet
from matching.tuning.fit import fit_default
from matching.tuning.restyle import restyled_title


def group_prf(records: list[OfferRecord], truth: dict[str, str], config: MatchConfig) -> dict[str, float]:
    result = match_offers(records, config)
    tp = predicted = 0
    for group in result.groups:
        predicted += len(group.members) * (len(group.members) - 1) // 2
        tp += sum(n * (n - 1) // 2 for n in Counter(truth[k] for k in group.members).values())
    actual = sum(n * (n - 1) // 2 for n in Counter(truth.values()).values())
    p, r = tp / max(predicted, 1), tp / max(actual, 1)
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r) if tp else 0.0, 4),
    }


def decisions(
    records: list[OfferRecord],
    truth: dict[str, str],
    config: MatchConfig,
    wanted: int,
    seen: set[tuple[str, str]],
) -> list[tuple[str, str, int]]:
    """The next ``wanted`` pairs of the review queue a match with ``config`` leaves, decided by the truth."""
    review = match_offers(
        records, MatchConfig.from_dict({**config.to_dict(), "review_limit": 10 * wanted})
    ).review
    out = []
    for pair in review:
        key = (min(pair.key_a, pair.key_b), max(pair.key_a, pair.key_b))
        if key not in seen:
            seen.add(key)
            out.append((*key, int(truth[key[0]] == truth[key[1]])))
        if len(out) == wanted:
            break
    return out


def as_pairs(records: list[OfferRecord], decided: list[tuple[str, str, int]]) -> PairSet:
    index = {r.key: i for i, r in enumerate(records)}
    return PairSet(
        "local decisions", records, [(index[a], index[b]) for a, b, _ in decided], [y for *_, y in decided]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--offers", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=303)
    ap.add_argument("--decisions", default="100,300")
    args = ap.parse_args()
    records, truth = listing_records(args.offers, args.seed, restyled_title)
    other, other_truth = listing_records(args.offers, args.seed + 1, restyled_title)
    config = MatchConfig()
    rows = [
        {
            "decisions": 0,
            "model": config.model_version,
            "same": group_prf(records, truth, config),
            "other": group_prf(other, other_truth, config),
        }
    ]
    print(json.dumps(rows[-1]), flush=True)
    decided: list[tuple[str, str, int]] = []
    seen: set[tuple[str, str]] = set()
    for target in (int(n) for n in args.decisions.split(",")):
        while len(decided) < target:  # the queue of the model in use, as a merchandiser works through it
            batch = decisions(records, truth, config, target - len(decided), seen)
            if not batch:
                break
            decided += batch
        start = time.monotonic()
        model, _ = fit_default(as_pairs(records, decided))
        config = MatchConfig.for_model(register_model(model))
        rows.append(
            {
                "decisions": len(decided),
                "confirmed": sum(y for *_, y in decided),
                "model": model.version,
                "fit_seconds": round(time.monotonic() - start, 1),
                "same": group_prf(records, truth, config),
                "other": group_prf(other, other_truth, config),
            }
        )
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
