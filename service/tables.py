"""The rows and lines the CLI prints for a comparison, one product and a price history (``service.output``
renders them in each format)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from storage.history import PriceFacts
from storage.working_queries import ComparisonRow, OfferView, offer_dict

COMPARE_KEEP = ("product_id", "lowest_price", "where", "product", "saving", "real_discount")
"""The comparison's columns that go last when the terminal is narrow (marketplaces go first)."""
OFFER_COLUMNS = [
    "marketplace",
    "price",
    "券后价",
    "shipping",
    "landed",
    "display_price",
    "stock",
    "delivery",
    "store",
    "seller",
    "distance_km",
    "ref_30d",
    "real_discount",
    "listing_id",
    "title",
]
OFFER_KEEP = ("marketplace", "display_price", "landed", "price", "券后价", "shipping", "stock", "delivery")
HISTORY_COLUMNS = ["day", "marketplace", "low", "high", "landed_low", "observations", "in_stock", "last_seen"]


def comparison_table(
    rows: Sequence[ComparisonRow], marketplaces: Sequence[str], *, text: bool = True
) -> tuple[list[dict], list[str]]:
    """Product, one column per marketplace (its best price; ``+?`` in a table, the ``shipping_unknown``
    column otherwise: shipping fee unknown), lowest, where, saving, real discount; offers in a currency
    without a rate (or unranked) go to ``apart``."""
    columns = ["product_id", "product", *marketplaces, "lowest_price", "where", "saving", "real_discount"]
    if not text:
        columns.append("shipping_unknown")
    if any(r.apart for r in rows):
        columns.append("apart")
    flat = []
    for row in rows:
        prices = {b.marketplace: b.cell() if text else b.display_price for b in row.best}
        flat.append(
            {
                "product_id": row.product_id,
                "product": row.title,
                **{m: prices.get(m) for m in marketplaces},
                "lowest_price": (row.lowest.cell() if text else row.lowest.display_price)
                if row.best
                else None,
                "where": row.lowest.marketplace if row.best else None,
                "saving": row.saving,
                "real_discount": row.facts.is_real_discount if row.facts else None,
                "apart": "; ".join(f"{a.marketplace} {a.cell()}" for a in row.apart),
                "shipping_unknown": " ".join(b.marketplace for b in row.best if b.shipping_unknown),
            }
        )
    return flat, columns


def delivery_text(hours: float | None, raw: str | None = None) -> str | None:
    """``45 分钟``, ``6 小时``, ``2 天`` — or the shop's own words when the hours are unknown."""
    if hours is None:
        return raw
    if hours < 1:
        return f"{round(hours * 60)} 分钟"
    if hours < 24 or hours % 24:
        return f"{hours:g} 小时"
    return f"{int(hours // 24)} 天"


def money(value: Decimal | None, currency: str | None = None) -> str | None:
    if value is None:
        return None
    return f"{currency} {value}" if currency else str(value)


def offer_rows(offers: Sequence[OfferView], facts: dict[tuple[str, str], PriceFacts]) -> list[dict[str, Any]]:
    """One row per offer; prices in the offer's currency, ``display_price`` converted; unknown shipping is
    ``?`` (and the landed price with it)."""
    rows = []
    for o in offers:
        f = facts.get((o.marketplace, o.listing_id))
        own = None if o.currency is None else o.currency
        rows.append(
            {
                "marketplace": o.marketplace,
                "price": money(o.price, own),
                "券后价": money(o.final_price),
                "shipping": "?"
                if o.shipping is None
                else ("包邮 free" if o.shipping == 0 else str(o.shipping)),
                "landed": "?" if o.landed_price is None else str(o.landed_price),
                "display_price": o.cell() if o.display_price is not None else "—",
                "stock": _stock(o),
                "delivery": delivery_text(o.delivery_hours, o.delivery_text),
                "store": o.store,
                "seller": o.seller,
                "distance_km": None if o.distance_km is None else f"{o.distance_km:.1f}",
                "ref_30d": money(f.reference_price) if f else None,
                "real_discount": f.is_real_discount if f else None,
                "listing_id": o.listing_id,
                "title": o.title,
            }
        )
    return rows


def _stock(o: OfferView) -> str:
    if o.gone:
        return "gone"
    if o.in_stock is False:
        return "无货 out"
    return "有货" + (f" {o.stock_qty}" if o.stock_qty is not None else "")


def facts_line(facts: PriceFacts | None, currency: str) -> str:
    """The reference-price facts in one line."""
    if facts is None or facts.price_now is None:
        return f"no live offer with a price in {currency} (or a rate into it)"
    reference = (
        "none (no earlier day in the 30 days before)"
        if facts.reference_price is None
        else (f"{currency} {facts.reference_price}")
    )
    return (
        f"now {currency} {facts.price_now} at {facts.marketplace} (券后价, shipping excluded) since "
        f"{facts.since}; lowest in the 30 days before: {reference}; all-time low {currency} "
        f"{facts.low_all_time}; real discount: {'yes' if facts.is_real_discount else 'no'}"
    )


def history_summary(days: Sequence[dict[str, Any]]) -> str:
    """``12 observations on 7 days across 3 marketplaces; low … (day, where), high …``."""
    if not days:
        return "no observations"
    low = min(days, key=lambda d: d["low"])
    high = max(days, key=lambda d: d["high"])
    observations = sum(d["observations"] for d in days)
    unknown = sum(d["shipping_unknown"] for d in days)
    return (
        f"{_count(observations, 'observation')} on {_count(len({d['day'] for d in days}), 'day')} across "
        f"{_count(len({d['marketplace'] for d in days}), 'marketplace')}; lowest {low['currency']} {low['low']} "
        f"({low['day']}, {low['marketplace']}), highest {high['currency']} {high['high']} "
        f"({high['day']}, {high['marketplace']})" + (f"; shipping unknown in {unknown}" if unknown else "")
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def product_json(view: Any) -> dict[str, Any]:
    """``bijia show --format json``: a ``service.compare.ProductView`` with every field."""
    return {
        "product_id": view.product_id,
        "title": view.title,
        "brand": view.brand,
        "category": view.category,
        "currency": view.display.currency,
        "facts": view.facts.to_dict() if view.facts else None,
        "offers": [offer_dict(o) for o in view.offers],
        "apart": [offer_dict(o) for o in view.apart],
        "history": view.days,
    }
