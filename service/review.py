"""``bijia review`` and ``bijia explain``: the merchandiser's control over matching."""

from __future__ import annotations

from pathlib import Path

from service.errors import UserError
from storage import connect


def review_queue(db_path: Path, limit: int = 50) -> list[dict]:
    """Low-confidence pairs from the last match, with their titles and current products, weakest first."""
    con = connect(db_path, read_only=True)
    try:
        rows = con.execute(
            "SELECT r.key_a, r.key_b, r.score, r.reasons, oa.title, ob.title, pa.product_id, pb.product_id "
            "FROM match_review r "
            "LEFT JOIN offers oa ON oa.marketplace || '/' || oa.listing_id = r.key_a "
            "LEFT JOIN offers ob ON ob.marketplace || '/' || ob.listing_id = r.key_b "
            "LEFT JOIN product_offers pa ON pa.marketplace || '/' || pa.listing_id = r.key_a "
            "LEFT JOIN product_offers pb ON pb.marketplace || '/' || pb.listing_id = r.key_b "
            "WHERE NOT EXISTS (SELECT 1 FROM match_overrides m WHERE m.key_a = r.key_a AND m.key_b = r.key_b) "
            "ORDER BY abs(r.score - 0.5), r.key_a, r.key_b LIMIT ?",
            [limit],
        ).fetchall()
    finally:
        con.close()
    return [
        {
            "key_a": a,
            "key_b": b,
            "score": round(score, 3),
            "grouped": pa is not None and pa == pb,
            "title_a": ta,
            "title_b": tb,
            "reasons": reasons,
        }
        for a, b, score, reasons, ta, tb, pa, pb in rows
    ]


def decide(db_path: Path, key_a: str, key_b: str, decision: str, note: str | None = None) -> None:
    """Store a confirm/split decision; every later `bijia match` obeys it."""
    from storage.products import add_override

    if key_a == key_b:
        raise UserError("an offer cannot be paired with itself")
    con = connect(db_path)
    try:
        known = _known_keys(con, [key_a, key_b])
        missing = [k for k in (key_a, key_b) if k not in known]
        if missing:
            raise UserError(f"no such offer: {', '.join(missing)} (keys look like marketplace/listing_id)")
        add_override(con, key_a, key_b, decision, note)
    finally:
        con.close()


def explain_pair(db_path: Path, key_a: str, key_b: str):
    """Why two stored offers are (or are not) grouped: the matcher's explanation plus their products."""
    from matching import explain
    from service.match import load_config, record_of
    from storage.products import offers_for_matching

    con = connect(db_path, read_only=True)
    try:
        rows = {r.key: r for r in offers_for_matching(con)}
        products = dict(
            con.execute(
                "SELECT marketplace || '/' || listing_id, product_id FROM product_offers "
                "WHERE list_contains(?, marketplace || '/' || listing_id)",
                [[key_a, key_b]],
            ).fetchall()
        )
    finally:
        con.close()
    missing = [k for k in (key_a, key_b) if k not in rows]
    if missing:
        raise UserError(f"no such offer: {', '.join(missing)} (keys look like marketplace/listing_id)")
    records = {k: record_of(r) for k, r in rows.items()}
    explanation = explain(records[key_a], records[key_b], load_config(None), corpus=list(records.values()))
    return explanation, products.get(key_a), products.get(key_b)


def _known_keys(con, keys: list[str]) -> set[str]:
    rows = con.execute(
        "SELECT marketplace || '/' || listing_id FROM offers "
        "WHERE list_contains(?, marketplace || '/' || listing_id)",
        [keys],
    ).fetchall()
    return {r[0] for r in rows}
