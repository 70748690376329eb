"""``bijia basket`` and ``POST /api/v1/basket``: the cheapest way to buy several products across shops.

Each product (with its quantity) is bought from one offer. A plan pays each shop's shipping once (waived at
its 包邮 threshold), gets each store's best 满减 and coupon and each marketplace's cross-store (跨店) ones
(``core.promo_pricing`` prices every plan). ``exact`` solves it as an integer programme (HiGHS through
``scipy.optimize.milp``) — used up to ``EXACT_LIMIT`` products × shops; beyond, a local search from "each
item at its own cheapest offer" (``heuristic``; its gap to the exact answer is measured in
``benchmarks/bench_basket.py``). The saving is against that naive plan.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.geo import reach
from core.promo_pricing import BasketTotal, Line, basket_total, cents, line_total
from core.promotions import parse_promotions
from service.basket_ilp import solve
from service.errors import ExitCode, UserError
from service.nearby import Where
from storage import connected
from storage.shopper_queries import product_offers, product_titles

EXACT_LIMIT = (20, 10)
"""At most this many products and shops: the exact answer (≤ 1 s); beyond, the heuristic."""
MAX_ITEMS = 100
_ITEM = re.compile(r"^\s*(.+?)\s*(?:[:=*×x]\s*(\d+))?\s*$")


@dataclass(frozen=True)
class Item:
    product_id: str
    quantity: int = 1


def parse_items(specs: Sequence[str]) -> list[Item]:
    """``ID`` or ``ID:QTY`` (also ``ID=2``, ``ID*2``) → items; a repeated product adds up."""
    quantities: dict[str, int] = {}
    for spec in specs:
        m = _ITEM.match(spec)
        if not m or not m.group(1):
            raise UserError(f"basket item {spec!r}: give PRODUCT_ID or PRODUCT_ID:QUANTITY", ExitCode.USAGE)
        qty = int(m.group(2) or 1)
        if not 1 <= qty <= 999:
            raise UserError(f"basket item {spec!r}: quantity must be 1 to 999", ExitCode.USAGE)
        quantities[m.group(1)] = quantities.get(m.group(1), 0) + qty
    if not quantities:
        raise UserError("the basket is empty: give at least one PRODUCT_ID[:QUANTITY]", ExitCode.USAGE)
    if len(quantities) > MAX_ITEMS:
        raise UserError(f"at most {MAX_ITEMS} products in one basket (got {len(quantities)})", ExitCode.USAGE)
    return [Item(pid, qty) for pid, qty in quantities.items()]


def shop_of(offer: dict[str, Any]) -> str:
    """Who ships it: an instant-retail store, else the seller, else the marketplace."""
    return f"{offer['marketplace']}/{offer.get('store') or offer.get('seller') or offer['marketplace']}"


def candidate_lines(
    items: Sequence[Item], offers: Sequence[dict[str, Any]], place: Where | None, today: date
) -> dict[str, list[Line]]:
    """Per product, one line per shop that can sell it (its cheapest offer there for the quantity). Store
    offers need a place (and must reach it); out-of-stock offers never count."""
    qty = {i.product_id: i.quantity for i in items}
    best: dict[tuple[str, str], tuple[Decimal, Line]] = {}
    for o in offers:
        pid = o["product_id"]
        if pid not in qty or o.get("in_stock") is False or o.get("price") is None:
            continue
        if o.get("latitude") is not None and o.get("longitude") is not None:
            if place is None:
                continue
            r = reach(
                place.at,
                o["latitude"],
                o["longitude"],
                o.get("delivery_hours"),
                o.get("delivery_radius_km"),
                place.max_km,
            )
            if not r.in_range:
                continue
        rules = tuple(
            r for r in parse_promotions(o.get("promotions") or [], today=today) if r.active_on(today)
        )
        final = o.get("final_price")
        unit = Decimal(final if final is not None else o["price"])
        line = Line(
            pid,
            o["marketplace"],
            shop_of(o),
            o["listing_id"],
            unit,
            qty[pid],
            rules,
            final is not None,
            o.get("shipping"),
        )
        cost = line_total(unit, line.quantity, rules, line.has_final_price)
        key = (pid, line.shop)
        if key not in best or cost < best[key][0]:
            best[key] = (cost, line)
    lines: dict[str, list[Line]] = {i.product_id: [] for i in items}
    for (pid, _), (_, line) in best.items():
        lines[pid].append(line)
    return lines


def naive(cands: dict[str, list[Line]]) -> list[Line]:
    """Each product at its own cheapest offer (bought alone: its shipping and promotions)."""
    return [min(lines, key=lambda x: (basket_total([x]).total, x.shop)) for lines in cands.values()]


def heuristic(cands: dict[str, list[Line]], start: list[Line] | None = None) -> list[Line]:
    """Local search: move one product to another shop, or close a shop (its products to the shops in use),
    while the basket gets cheaper."""
    plan = {x.product: x for x in (start or naive(cands))}
    cost = basket_total(list(plan.values())).total
    improved = True
    while improved:
        improved = False
        for moves in (_single_moves(cands, plan), _closing_moves(cands, plan)):
            for move in moves:
                trial = {**plan, **move}
                trial_cost = basket_total(list(trial.values())).total
                if trial_cost < cost:
                    plan, cost, improved = trial, trial_cost, True
    return list(plan.values())


def _single_moves(cands: dict[str, list[Line]], plan: dict[str, Line]) -> list[dict[str, Line]]:
    return [{pid: line} for pid, lines in cands.items() for line in lines if line is not plan[pid]]


def _closing_moves(cands: dict[str, list[Line]], plan: dict[str, Line]) -> list[dict[str, Line]]:
    used = {x.shop for x in plan.values()}
    moves = []
    for shop in used:
        move: dict[str, Line] = {}
        for pid, line in plan.items():
            if line.shop != shop:
                continue
            others = [x for x in cands[pid] if x.shop != shop and x.shop in used]
            if not others:
                break
            move[pid] = min(
                others, key=lambda x: line_total(x.unit_price, x.quantity, x.rules, x.has_final_price)
            )
        else:
            if move:
                moves.append(move)
    return moves


@dataclass
class BasketPlan:
    items: list[Item]
    totals: BasketTotal
    naive_total: Decimal
    method: str
    seconds: float
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return cents(self.totals.total)

    @property
    def saving(self) -> Decimal:
        return cents(self.naive_total - self.totals.total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": str(self.total),
            "naive_total": str(cents(self.naive_total)),
            "saving": str(self.saving),
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "shops": [_order_dict(o, self.titles) for o in self.totals.orders],
            "cross_store": [
                {"marketplace": m, "saving": str(cents(g.saving)), "promotions": [r.raw for r in g.applied]}
                for m, g in self.totals.marketplace_savings.items()
            ],
        }


def _order_dict(order: Any, titles: dict[str, str]) -> dict[str, Any]:
    return {
        "shop": order.shop,
        "marketplace": order.marketplace,
        "items": [
            {
                "product_id": x.product,
                "title": titles.get(x.product, x.product),
                "listing_id": x.listing_id,
                "quantity": x.quantity,
                "unit_price": str(x.unit_price),
                "line_total": str(t),
            }
            for x, t in zip(order.lines, order.line_totals, strict=True)
        ],
        "subtotal": str(cents(order.subtotal)),
        "promotion_saving": str(cents(order.saving)),
        "promotions": [r.raw for r in order.applied],
        "shipping": str(cents(order.shipping)),
        "free_shipping": order.free_shipping.raw if order.free_shipping else None,
        "total": str(cents(order.total)),
    }


def plan_basket(
    items: Sequence[Item],
    offers: Sequence[dict[str, Any]],
    place: Where | None = None,
    *,
    method: str = "auto",
    today: date | None = None,
) -> BasketPlan:
    """The cheapest plan for ``items`` over ``offers`` (rows of ``storage.shopper_queries``)."""
    started = time.perf_counter()
    today = today or date.today()  # noqa: DTZ011 (promotion dates are the shops' calendar days)
    cands = candidate_lines(items, offers, place, today)
    missing = [pid for pid, lines in cands.items() if not lines]
    if missing:
        where = f" near {place.at}" if place else " (instant-retail stores need --near)"
        raise UserError(f"no buyable offer for {', '.join(missing[:5])}{where}")
    shops = {x.shop for lines in cands.values() for x in lines}
    if method == "auto":
        method = "exact" if len(cands) <= EXACT_LIMIT[0] and len(shops) <= EXACT_LIMIT[1] else "heuristic"
    chosen = solve(cands) if method == "exact" else heuristic(cands)
    base = basket_total(naive(cands)).total
    return BasketPlan(list(items), basket_total(chosen), base, method, time.perf_counter() - started)


def basket(db: Path, specs: Sequence[str], place: Where | None = None, *, method: str = "auto") -> BasketPlan:
    """``bijia basket``: the plan for ``specs`` (``ID[:QTY]``) from the working database."""
    items = parse_items(specs)
    with connected(db, read_only=True) as con:
        wanted = [i.product_id for i in items]
        titles = product_titles(con, wanted)
        offers = product_offers(con, wanted)
    return plan_for(items, titles, offers, place, method)


def plan_for(
    items: list[Item],
    titles: dict[str, str],
    offers: list[dict[str, Any]],
    place: Where | None,
    method: str = "auto",
) -> BasketPlan:
    """The plan, after checking that every product is known (``titles``)."""
    unknown = [i.product_id for i in items if i.product_id not in titles]
    if unknown:
        raise UserError(f"no product {', '.join(map(repr, unknown[:5]))} (see `bijia compare`)")
    plan = plan_basket(items, offers, place, method=method)
    plan.titles = titles
    return plan
