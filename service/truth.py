"""Scoring a crawled-and-matched database against the demo generator's truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from storage import connect
from storage.working_queries import compare


@dataclass
class TruthReport:
    listings_expected: int
    listings_stored: int
    landed_right: int
    """Stored listings whose landed price and stock equal the truth (the crawl's own correctness)."""
    skus: int
    lowest_agree: int
    pair_precision: float
    pair_recall: float
    disagreements: list[tuple[str, str, str]]
    """(sku_id, expected lowest, shown lowest) for SKUs whose shown lowest price is wrong."""

    @property
    def f1(self) -> float:
        p, r = self.pair_precision, self.pair_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        return (
            f"truth: {self.listings_stored}/{self.listings_expected} listings stored, {self.landed_right} "
            f"with the right landed price and stock; lowest price right for "
            f"{self.lowest_agree}/{self.skus} SKUs; matching pairwise precision {self.pair_precision:.3f}, "
            f"recall {self.pair_recall:.3f}, F1 {self.f1:.3f}"
        )


def _pairs(counts: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def score_against_truth(db_path: Path, catalogue, absurd: tuple[str, ...] = ()) -> TruthReport:

    rows_truth = {f"{r.marketplace}/{r.listing_id}": r for r in catalogue.truth_rows(absurd)}
    truth = {k: r.sku_id for k, r in rows_truth.items()}
    con = connect(db_path, read_only=True)
    try:
        linked = dict(
            con.execute(
                "SELECT po.marketplace || '/' || po.listing_id, po.product_id FROM product_offers po "
                "JOIN offers o USING (marketplace, listing_id) WHERE NOT o.gone"
            ).fetchall()
        )
        rows = {r.product_id: r for r in compare(con, min_marketplaces=1)}
        stored = con.execute(
            "SELECT marketplace || '/' || listing_id, coalesce(final_price, price) + coalesce(shipping, 0), "
            "coalesce(in_stock, true) FROM offers WHERE NOT gone"
        ).fetchall()
    finally:
        con.close()
    both = [k for k in truth if k in linked]
    cells = Counter((linked[k], truth[k]) for k in both)
    tp = _pairs(cells)
    predicted = _pairs(Counter(linked[k] for k in both))
    actual = _pairs(Counter(truth[k] for k in truth))
    votes: dict[str, Counter] = {}
    for key in both:
        votes.setdefault(truth[key], Counter())[linked[key]] += 1
    agree, wrong = 0, []
    expected = catalogue.expected_lowest(absurd)
    for sku_id, (price, _market) in expected.items():
        product = votes.get(sku_id, Counter()).most_common(1)
        row = rows.get(product[0][0]) if product else None
        shown = row.lowest.landed_price if row else None
        if shown == price:
            agree += 1
        else:
            wrong.append((sku_id, str(price), str(shown)))
    landed_right = sum(
        1
        for key, landed, in_stock in stored
        if key in rows_truth
        and (rows_truth[key].landed_price, rows_truth[key].in_stock) == (landed, in_stock)
    )
    return TruthReport(
        len(truth),
        len(both),
        landed_right,
        len(expected),
        agree,
        tp / predicted if predicted else 1.0,
        tp / actual if actual else 1.0,
        wrong,
    )
