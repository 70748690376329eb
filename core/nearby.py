"""Ranking one product's offers for a shopper at a place: by landed price, by arrival time, and "best".

"Best" weighs money against waiting with the shopper's value of time (¥ per hour saved): the offer with
the lowest ``landed price + value_of_time × arrival hours`` wins. Each pick comes with a one-line reason
("¥3.00 more than the cheapest, arrives in 30 分钟 instead of tomorrow").

Only buyable offers take part: in stock (or of unknown stock) and, for stores, within range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from core.geo import DEFAULT_RULES, DeliveryRules, Point, arrival_text, arrives, reach

DEFAULT_VALUE_OF_TIME = Decimal("2")
"""¥ per hour of waiting saved: next-day (24 h) against 30 minutes is worth ¥47 — enough to prefer a
nearby store for a few yuan more, not for a hundred."""
UNKNOWN_ARRIVAL_HOURS = 72.0
"""An offer that states no delivery time counts as three days for "best" (ranked last by arrival)."""
CENT = Decimal("0.01")


class Sort(StrEnum):
    price = "price"
    arrival = "arrival"
    best = "best"


@dataclass(frozen=True)
class Candidate:
    """One offer as the ranking needs it (from the working database or a snapshot page)."""

    marketplace: str
    listing_id: str
    landed_price: Decimal
    title: str = ""
    store: str | None = None
    seller: str | None = None
    url: str | None = None
    in_stock: bool | None = None
    delivery_hours: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    delivery_radius_km: float | None = None


@dataclass(frozen=True)
class Ranked:
    offer: Candidate
    distance_km: float | None
    arrival_hours: float | None
    score: Decimal
    """Landed price plus the value of the waiting time (what "best" minimises)."""

    @property
    def where(self) -> str:
        o = self.offer
        place = o.store or o.seller
        name = f"{o.marketplace} {place}" if place and place != o.marketplace else o.marketplace
        return name + (f" ({self.distance_km:.1f} km)" if self.distance_km is not None else "")

    def to_dict(self) -> dict[str, Any]:
        o = self.offer
        return {
            "marketplace": o.marketplace,
            "listing_id": o.listing_id,
            "title": o.title,
            "store": o.store,
            "seller": o.seller,
            "url": o.url,
            "landed_price": str(o.landed_price),
            "distance_km": self.distance_km,
            "arrival_hours": self.arrival_hours,
            "arrival": arrival_text(self.arrival_hours),
            "score": str(self.score),
        }


@dataclass
class Ranking:
    offers: list[Ranked]
    """Buyable offers in the requested order."""
    cheapest: Ranked | None = None
    fastest: Ranked | None = None
    best: Ranked | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    """``cheapest`` / ``fastest`` / ``best`` → one line saying why."""
    out_of_range: int = 0
    unavailable: int = 0

    def to_dict(self) -> dict[str, Any]:
        picks = {k: getattr(self, k) for k in ("cheapest", "fastest", "best")}
        return {
            "offers": [r.to_dict() for r in self.offers],
            "choices": {
                k: {**r.to_dict(), "reason": self.reasons[k]} for k, r in picks.items() if r is not None
            },
            "out_of_range": self.out_of_range,
            "unavailable": self.unavailable,
        }


def money(value: Decimal) -> str:
    return f"¥{value.quantize(CENT, ROUND_HALF_UP):,.2f}"


def rank(
    candidates: Iterable[Candidate],
    at: Point,
    *,
    sort: Sort = Sort.best,
    value_of_time: Decimal = DEFAULT_VALUE_OF_TIME,
    max_km: float | None = None,
    rules: DeliveryRules = DEFAULT_RULES,
) -> Ranking:
    """Rank the buyable offers for a shopper at ``at``; pick the cheapest, the fastest and the best."""
    ranked: list[Ranked] = []
    out_of_range = unavailable = 0
    for c in candidates:
        if c.in_stock is False:
            unavailable += 1
            continue
        r = reach(at, c.latitude, c.longitude, c.delivery_hours, c.delivery_radius_km, max_km, rules)
        if not r.in_range:
            out_of_range += 1
            continue
        hours = r.arrival_hours if r.arrival_hours is not None else UNKNOWN_ARRIVAL_HOURS
        score = (c.landed_price + value_of_time * Decimal(str(hours))).quantize(CENT, ROUND_HALF_UP)
        ranked.append(Ranked(c, r.distance_km, r.arrival_hours, score))
    result = Ranking(sorted(ranked, key=_KEYS[sort]), out_of_range=out_of_range, unavailable=unavailable)
    if ranked:
        result.cheapest = min(ranked, key=_KEYS[Sort.price])
        result.fastest = min(ranked, key=_KEYS[Sort.arrival])
        result.best = min(ranked, key=_KEYS[Sort.best])
        result.reasons = reasons(result.cheapest, result.fastest, result.best, value_of_time)
    return result


def _price_key(r: Ranked) -> tuple:
    return (r.offer.landed_price, _hours(r), _tie(r))


def _arrival_key(r: Ranked) -> tuple:
    return (r.arrival_hours is None, _hours(r), r.offer.landed_price, _tie(r))


def _best_key(r: Ranked) -> tuple:
    return (r.score, r.offer.landed_price, _hours(r), _tie(r))


def _hours(r: Ranked) -> float:
    return r.arrival_hours if r.arrival_hours is not None else UNKNOWN_ARRIVAL_HOURS


def _tie(r: Ranked) -> tuple:
    return (r.distance_km if r.distance_km is not None else 0.0, r.offer.marketplace, r.offer.listing_id)


_KEYS = {Sort.price: _price_key, Sort.arrival: _arrival_key, Sort.best: _best_key}


def reasons(cheapest: Ranked, fastest: Ranked, best: Ranked, value_of_time: Decimal) -> dict[str, str]:
    """One line per pick, each against the cheapest offer."""
    lines = {
        "cheapest": f"the lowest landed price ({money(cheapest.offer.landed_price)} at {cheapest.where}), "
        f"arrives {arrives(cheapest.arrival_hours)}"
    }
    lines["fastest"] = _against(fastest, cheapest, "the fastest")
    line = _against(best, cheapest, "the best")
    if best is cheapest or best.offer.landed_price <= cheapest.offer.landed_price:
        faster = fastest.offer.landed_price - cheapest.offer.landed_price
        if fastest is not cheapest and faster > 0:
            line += f"; arriving sooner is not worth {money(faster)} more at {money(value_of_time)}/h"
    else:
        saved = _hours(cheapest) - _hours(best)
        line += f"; {saved:.1f} h sooner is worth {money(value_of_time * Decimal(str(saved)))} at {money(value_of_time)}/h"
    lines["best"] = line
    return lines


def _against(pick: Ranked, cheapest: Ranked, name: str) -> str:
    extra = pick.offer.landed_price - cheapest.offer.landed_price
    if pick is cheapest or (extra <= 0 and _hours(pick) >= _hours(cheapest)):
        return f"{name} is the cheapest ({pick.where}), arrives {arrives(pick.arrival_hours)}"
    cost = f"{money(extra)} more than the cheapest" if extra > 0 else "as cheap as the cheapest"
    return (
        f"{cost}, arrives {arrives(pick.arrival_hours)} instead of {arrival_text(cheapest.arrival_hours)}"
        f" — {pick.where}"
    )


def candidates_from_dicts(rows: Sequence[dict[str, Any]]) -> list[Candidate]:
    """Candidates from offer dicts (a snapshot page's offers, or rows of the working database)."""
    out = []
    for o in rows:
        price = o.get("landed_price")
        if price is None:
            continue
        out.append(
            Candidate(
                marketplace=o["marketplace"],
                listing_id=o["listing_id"],
                landed_price=Decimal(str(price)),
                title=o.get("title") or "",
                store=o.get("store"),
                seller=o.get("seller"),
                url=o.get("url"),
                in_stock=o.get("in_stock"),
                delivery_hours=o.get("delivery_hours"),
                latitude=o.get("latitude"),
                longitude=o.get("longitude"),
                delivery_radius_km=o.get("delivery_radius_km"),
            )
        )
    return out
