"""What a quantity, an order from one shop, or a whole basket costs under the shops' promotion rules.

The one definition of "price after promotions" (``core.promotions`` says how rules combine): the basket
optimiser (``service.basket``) searches assignments, and every total it reports is computed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from core.promotions import Kind, Rule, Scope

CENT = Decimal("0.01")
ZERO = Decimal(0)
THRESHOLD_FAMILY = (Kind.threshold, Kind.per_threshold)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """One product bought from one offer."""

    product: str
    marketplace: str
    shop: str
    """The store or seller that ships it (``marketplace/store-or-seller``): shipping is paid once per shop."""
    listing_id: str
    unit_price: Decimal
    """The price after coupon (券后价) when the shop shows one, else the price."""
    quantity: int
    rules: tuple[Rule, ...] = ()
    has_final_price: bool = False
    shipping: Decimal | None = None
    """The shop's fee for this offer (``None``: unknown, counted as 0)."""


def unit_after_item_rules(unit: Decimal, rules: Iterable[Rule], has_final_price: bool) -> Decimal:
    """The unit price after 直降 and 折扣 — only when the shop shows no 券后价 (which includes them)."""
    if has_final_price:
        return unit
    rules = list(rules)
    off = max((r.amount or ZERO for r in rules if r.kind is Kind.direct), default=ZERO)
    rate = min((r.rate for r in rules if r.kind is Kind.discount and r.rate is not None), default=Decimal(1))
    return max(ZERO, (unit - off) * rate)


def line_total(unit: Decimal, quantity: int, rules: Sequence[Rule], has_final_price: bool = False) -> Decimal:
    """``quantity`` units of one offer after its item rules (the best one of 第N件 / N件M折)."""
    price = unit_after_item_rules(unit, rules, has_final_price)
    options = [price * quantity]
    for r in rules:
        if r.kind is Kind.nth_item and r.nth:
            groups = quantity // r.nth
            nth_price = price * r.rate if r.rate is not None else min(price, r.amount or ZERO)
            options.append(price * (quantity - groups) + nth_price * groups)
        elif r.kind is Kind.multi_buy and r.min_items and quantity >= r.min_items:
            if r.rate is not None:
                options.append(price * r.rate * quantity)
            elif r.amount is not None:
                groups = quantity // r.min_items
                options.append(r.amount * groups + price * (quantity - groups * r.min_items))
    return cents(min(options))


def family_saving(eligible: Decimal, count: int, rule: Rule) -> Decimal:
    """What one 满减 / 每满减 / coupon rule takes off ``eligible`` yuan in ``count`` units (0 when unmet)."""
    if rule.kind is Kind.per_threshold:
        if not rule.threshold or not rule.amount:
            return ZERO
        times = (eligible / rule.threshold).to_integral_value(ROUND_FLOOR)
        saving = rule.amount * times
        return min(saving, rule.cap) if rule.cap is not None else saving
    met = count >= rule.min_items if rule.min_items else eligible >= (rule.threshold or ZERO)
    return rule.amount or ZERO if met and eligible > 0 else ZERO


@dataclass
class GroupSaving:
    saving: Decimal = ZERO
    applied: list[Rule] = field(default_factory=list)


def group_saving(lines: Sequence[Line], totals: Sequence[Decimal], scope: Scope, cap: Decimal) -> GroupSaving:
    """The best 满减-family rule plus the best coupon of ``scope`` over ``lines`` (each rule on the lines that
    show it), at most ``cap``."""
    best: dict[str, tuple[Decimal, Rule | None]] = {"family": (ZERO, None), "coupon": (ZERO, None)}
    rules = dict.fromkeys(r for line in lines for r in line.rules if r.scope is scope)
    for rule in rules:
        if rule.kind not in (*THRESHOLD_FAMILY, Kind.coupon):
            continue
        eligible = sum((t for line, t in zip(lines, totals, strict=True) if rule in line.rules), ZERO)
        count = sum(line.quantity for line in lines if rule in line.rules)
        saving = family_saving(eligible, count, rule)
        slot = "coupon" if rule.kind is Kind.coupon else "family"
        if saving > best[slot][0]:
            best[slot] = (saving, rule)
    total = min(cap, best["family"][0] + best["coupon"][0])
    return GroupSaving(max(ZERO, total), [r for _, r in best.values() if r is not None])


def free_shipping_reached(lines: Sequence[Line], subtotal: Decimal) -> Rule | None:
    """The shop's free-shipping rule its order reaches (a shop's rule counts its whole order)."""
    count = sum(line.quantity for line in lines)
    for rule in dict.fromkeys(r for line in lines for r in line.rules if r.kind is Kind.free_shipping):
        if (rule.min_items and count >= rule.min_items) or (
            rule.min_items is None and subtotal >= (rule.threshold or ZERO)
        ):
            return rule
    return None


@dataclass
class ShopOrder:
    shop: str
    marketplace: str
    lines: list[Line]
    line_totals: list[Decimal]
    subtotal: Decimal
    saving: Decimal
    shipping: Decimal
    applied: list[Rule]
    free_shipping: Rule | None

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.saving + self.shipping


def shop_order(lines: Sequence[Line]) -> ShopOrder:
    """One shop's order: line totals, its store promotions, its shipping (once, waived at its threshold)."""
    totals = [line_total(x.unit_price, x.quantity, x.rules, x.has_final_price) for x in lines]
    subtotal = sum(totals, ZERO)
    store = group_saving(lines, totals, Scope.store, subtotal)
    free = free_shipping_reached(lines, subtotal)
    fee = max((x.shipping or ZERO for x in lines), default=ZERO)
    first = lines[0]
    return ShopOrder(
        first.shop,
        first.marketplace,
        list(lines),
        totals,
        subtotal,
        store.saving,
        ZERO if free else fee,
        store.applied,
        free,
    )


@dataclass
class BasketTotal:
    orders: list[ShopOrder]
    marketplace_savings: dict[str, GroupSaving]

    @property
    def total(self) -> Decimal:
        return sum((o.total for o in self.orders), ZERO) - sum(
            (g.saving for g in self.marketplace_savings.values()), ZERO
        )


def basket_total(lines: Sequence[Line]) -> BasketTotal:
    """A whole plan: one order per shop, then each marketplace's cross-store (跨店) promotions."""
    by_shop: dict[str, list[Line]] = {}
    for line in lines:
        by_shop.setdefault(line.shop, []).append(line)
    orders = [shop_order(group) for group in by_shop.values()]
    savings: dict[str, GroupSaving] = {}
    for market in dict.fromkeys(o.marketplace for o in orders):
        mine = [o for o in orders if o.marketplace == market]
        market_lines = [x for o in mine for x in o.lines]
        totals = [t for o in mine for t in o.line_totals]
        cap = sum((o.subtotal - o.saving for o in mine), ZERO)
        saving = group_saving(market_lines, totals, Scope.marketplace, cap)
        if saving.saving > 0:
            savings[market] = saving
    return BasketTotal(orders, savings)


def price_for_quantity(
    unit: Decimal,
    quantity: int,
    rules: Sequence[Rule],
    *,
    shipping: Decimal | None = None,
    has_final_price: bool = False,
) -> Decimal:
    """What ``quantity`` units of one offer cost delivered, bought alone: its item, store and cross-store
    promotions on this order, shipping once (waived at the shop's threshold)."""
    line = Line("p", "m", "m/s", "l", unit, quantity, tuple(rules), has_final_price, shipping)
    return cents(basket_total([line]).total)
