"""``bijia compare --near``: each product's offers ranked for a shopper at a place (working database)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.geo import Point, arrival_text, parse_distance_km, parse_point
from core.nearby import DEFAULT_VALUE_OF_TIME, Ranking, Sort, candidates_from_dicts, rank
from service.errors import ExitCode, UserError
from storage import connected
from storage.shopper_queries import product_offers
from storage.working_queries import compare as compare_rows


@dataclass
class ProductChoice:
    product_id: str
    title: str
    ranking: Ranking

    def to_dict(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "title": self.title, **self.ranking.to_dict()}


@dataclass(frozen=True)
class Where:
    """A shopper's place and preferences, validated."""

    at: Point
    max_km: float | None = None
    sort: Sort = Sort.best
    value_of_time: Decimal = DEFAULT_VALUE_OF_TIME


def where(
    near: str,
    radius: str | None = None,
    sort: str = "best",
    value_of_time: str | Decimal | None = None,
    *,
    prefix: str = "--",
) -> Where:
    """Parse the command line's (``prefix`` ``--``) or the API's (``""``) location options; a ``UserError``
    names the bad one."""
    try:
        at = parse_point(near)
    except ValueError as exc:
        raise UserError(f"{prefix}near: {exc}", ExitCode.USAGE) from None
    try:
        max_km = parse_distance_km(radius) if radius else None
    except ValueError as exc:
        raise UserError(f"{prefix}radius: {exc}", ExitCode.USAGE) from None
    try:
        order = Sort(sort)
    except ValueError:
        raise UserError(f"{prefix}sort: {sort!r}: use price, arrival or best", ExitCode.USAGE) from None
    amount = _value_of_time(value_of_time)
    if amount is None:
        raise UserError(
            f"{prefix + 'value-of-time' if prefix else 'value_of_time'}: {value_of_time!r}: give yuan per hour, 0 to 100000",
            ExitCode.USAGE,
        )
    return Where(at, max_km, order, amount)


def _value_of_time(value: str | Decimal | None) -> Decimal | None:
    if value is None:
        return DEFAULT_VALUE_OF_TIME
    try:
        amount = Decimal(str(value).strip().lstrip("¥").removesuffix("/h"))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and 0 <= amount <= 100_000 else None


def rank_offers(offers: list[dict[str, Any]], place: Where) -> Ranking:
    return rank(
        candidates_from_dicts(offers),
        place.at,
        sort=place.sort,
        value_of_time=place.value_of_time,
        max_km=place.max_km,
    )


def compare_near(
    db: Path, query: str | None, place: Where, *, limit: int | None = 20, min_marketplaces: int = 1
) -> list[ProductChoice]:
    """Products matching ``query`` with their offers ranked for ``place`` (products with no buyable offer
    there are left out)."""
    with connected(db, read_only=True) as con:
        products = compare_rows(con, query, min_marketplaces=min_marketplaces)
        wanted = [p.product_id for p in products]
        offers = product_offers(con, wanted)
    by_product: dict[str, list[dict[str, Any]]] = {}
    for offer in offers:
        by_product.setdefault(offer["product_id"], []).append(offer)
    choices = []
    for product in products:
        ranking = rank_offers(by_product.get(product.product_id, []), place)
        if ranking.offers:
            choices.append(ProductChoice(product.product_id, product.title, ranking))
        if limit and len(choices) >= limit:
            break
    return choices


def choice_rows(choices: list[ProductChoice]) -> list[dict[str, Any]]:
    """One flat row per ranked offer (CSV and table), the picks it is marked with."""
    rows = []
    for choice in choices:
        r = choice.ranking
        for n, ranked in enumerate(r.offers, start=1):
            picks = [name for name in ("best", "cheapest", "fastest") if getattr(r, name) is ranked]
            rows.append(
                {
                    "product_id": choice.product_id,
                    "product": choice.title,
                    "rank": n,
                    "where": ranked.where,
                    "marketplace": ranked.offer.marketplace,
                    "listing_id": ranked.offer.listing_id,
                    "distance_km": ranked.distance_km,
                    "arrives": arrival_text(ranked.arrival_hours),
                    "arrival_hours": ranked.arrival_hours,
                    "landed_price": ranked.offer.landed_price,
                    "pick": ",".join(picks),
                }
            )
    return rows
