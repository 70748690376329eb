"""``bijia compare`` and ``bijia history``: the comparison and a product's price history, from the
working database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import UserError
from storage import connected
from storage.history import DiscountFacts, discount_facts, price_history
from storage.working_queries import ComparisonRow
from storage.working_queries import compare as compare_rows


@dataclass
class Comparison:
    rows: list[ComparisonRow]
    marketplaces: list[str]
    """Every marketplace that has a best offer in ``rows``, sorted."""


def compare(db: Path, query: str | None, *, limit: int | None = 50, min_marketplaces: int = 2) -> Comparison:
    """Per product matching ``query``: each marketplace's best landed price, the lowest, where, the saving."""
    with connected(db, read_only=True) as con:
        rows = compare_rows(con, query, min_marketplaces=min_marketplaces, limit=limit)
    return Comparison(rows, sorted({b.marketplace for r in rows for b in r.best}))


def history(
    db: Path, product_id: str, *, days: int | None = None
) -> tuple[DiscountFacts, list[dict[str, Any]]]:
    """A product's "real discount" facts and its price observations (the last ``days`` only, if given)."""
    with connected(db, read_only=True) as con:
        facts = discount_facts(con, [product_id]).get(product_id)
        rows = price_history(con, product_id, days=days)
    if facts is None:
        raise UserError(f"no product {product_id!r} (see `bijia compare`)")
    return facts, rows
