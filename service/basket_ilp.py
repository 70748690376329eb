"""The basket as a mixed-integer programme (HiGHS through ``scipy.optimize.milp``): the exact cheapest plan.

Variables: ``x`` one binary per candidate line (product p bought from shop s), ``F_s`` the shipping paid at
shop s, ``z`` a binary per (shop, 包邮 rule) when it is reached, and per promotion group (a store, or a
marketplace for 跨店 rules) a binary per 满减 tier / coupon (at most one of each), for 每满减 an integer count
and its capped saving, and ``S_g`` the group's saving (at most its subtotal). Minimise
``Σ line cost · x + Σ F_s − Σ S_g``. The same rules as ``core.promo_pricing``, which prices the result.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from core.promo_pricing import THRESHOLD_FAMILY, Line, line_total
from core.promotions import Kind, Rule, Scope


@dataclass
class _Model:
    cost: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)

    def var(self, cost: float = 0.0, integer: bool = False, upper: float = math.inf) -> int:
        self.cost.append(cost)
        self.integer.append(1 if integer else 0)
        self.upper.append(upper)
        return len(self.cost) - 1

    def row(self, coefs: dict[int, float], low: float = -math.inf, high: float = math.inf) -> None:
        self.rows.append((coefs, low, high))


def _sum(*parts: dict[int, float]) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for part in parts:
        for k, v in part.items():
            out[k] += v
    return out


def solve(cands: dict[str, list[Line]]) -> list[Line]:
    """The cheapest plan: one line per product."""
    m = _Model()
    lines = [x for group in cands.values() for x in group]
    cost = [float(line_total(x.unit_price, x.quantity, x.rules, x.has_final_price)) for x in lines]
    x = [m.var(c, integer=True, upper=1) for c in cost]
    for pid in cands:
        m.row({x[i]: 1.0 for i, line in enumerate(lines) if line.product == pid}, 1, 1)
    by_shop: dict[str, list[int]] = defaultdict(list)
    by_market: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        by_shop[line.shop].append(i)
        by_market[line.marketplace].append(i)
    big = max(cost) * 2 + 1
    shop_saving = {
        shop: _shipping_and_store(m, lines, x, cost, members, big) for shop, members in by_shop.items()
    }
    for members in by_market.values():
        stores = [v for v in {shop_saving[lines[i].shop] for i in members} if v is not None]
        s = _promotion_group(m, lines, x, cost, members, Scope.marketplace, big * len(members))
        if s is not None:  # at most the marketplace subtotal after the stores' savings
            m.row(
                _sum(
                    {s: 1.0},
                    {x[i]: -cost[i] for i in members},
                    dict.fromkeys(stores, 1.0),
                ),
                high=0,
            )
    chosen = _run(m)
    return [lines[i] for i in range(len(lines)) if chosen[x[i]] > 0.5]


def _shipping_and_store(
    m: _Model, lines: list[Line], x: list[int], cost: list[float], members: list[int], big: float
) -> int | None:
    """Shop-level variables: shipping once (waived at a reached 包邮 rule) and the store's promotions."""
    fee = m.var(1.0)
    free_rules = list(
        dict.fromkeys(r for i in members for r in lines[i].rules if r.kind is Kind.free_shipping)
    )
    zs = []
    for rule in free_rules:
        z = m.var(integer=True, upper=1)
        zs.append(z)
        carriers = {x[i]: -1.0 for i in members if rule in lines[i].rules}
        m.row(_sum({z: 1.0}, carriers), high=0)
        if rule.min_items:
            m.row(
                _sum({z: float(rule.min_items)}, {x[i]: -float(lines[i].quantity) for i in members}), high=0
            )
        else:
            m.row(_sum({z: float(rule.threshold or 0)}, {x[i]: -cost[i] for i in members}), high=0)
    fee_big = max((float(lines[i].shipping or 0) for i in members), default=0.0)
    for i in members:
        ship = float(lines[i].shipping or 0)
        if ship > 0:
            m.row(_sum({x[i]: ship, fee: -1.0}, dict.fromkeys(zs, -fee_big)), high=0)
    return _promotion_group(m, lines, x, cost, members, Scope.store, big * len(members))


def _promotion_group(
    m: _Model,
    lines: list[Line],
    x: list[int],
    cost: list[float],
    members: list[int],
    scope: Scope,
    big: float,
) -> int | None:
    """The group's saving variable ``S`` (``None`` when no rule of ``scope`` applies): the best 满减 tier or
    每满减 plus the best coupon, each on the lines that show it, at most the group's subtotal."""
    rules = list(
        dict.fromkeys(
            r
            for i in members
            for r in lines[i].rules
            if r.scope is scope and r.kind in (*THRESHOLD_FAMILY, Kind.coupon)
        )
    )
    if not rules:
        return None
    savings: dict[int, float] = {}
    family: dict[int, float] = {}
    coupons: dict[int, float] = {}
    for rule in rules:
        carriers = [i for i in members if rule in lines[i].rules]
        eligible = {x[i]: -cost[i] for i in carriers}
        on = m.var(integer=True, upper=1)
        (coupons if rule.kind is Kind.coupon else family)[on] = 1.0
        m.row(_sum({on: 1.0}, {x[i]: -1.0 for i in carriers}), high=0)  # only when a carrier is bought
        if rule.kind is Kind.per_threshold:
            savings[_per_threshold(m, rule, on, eligible, big)] = 1.0
            continue
        if rule.min_items:
            m.row(
                _sum({on: float(rule.min_items)}, {x[i]: -float(lines[i].quantity) for i in carriers}), high=0
            )
        else:
            m.row(_sum({on: float(rule.threshold or 0)}, eligible), high=0)
        savings[on] = float(rule.amount or 0)
    for chosen in (family, coupons):
        if chosen:
            m.row(chosen, high=1)
    s = m.var(-1.0)
    m.row(_sum({s: 1.0}, {k: -v for k, v in savings.items()}), high=0)
    m.row(_sum({s: 1.0}, {x[i]: -cost[i] for i in members}), high=0)
    return s


def _per_threshold(m: _Model, rule: Rule, on: int, eligible: dict[int, float], big: float) -> int:
    """每满 A 减 B (up to the cap): ``times · A ≤ eligible``, saving ≤ ``B · times`` and ≤ cap."""
    threshold, amount = float(rule.threshold or 1), float(rule.amount or 0)
    most = math.floor(-sum(eligible.values()) / threshold)  # the most the eligible lines can reach
    if rule.cap is not None and amount > 0:
        most = min(most, math.ceil(float(rule.cap) / amount))
    times = m.var(integer=True, upper=most)
    saving = m.var()
    m.row(_sum({times: threshold}, eligible), high=0)
    m.row({saving: 1.0, times: -amount}, high=0)
    m.row({times: 1.0, on: -float(most)}, high=0)
    m.row({saving: 1.0, on: -(float(rule.cap) if rule.cap is not None else amount * most)}, high=0)
    return saving


def _run(m: _Model) -> list[float]:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    rows, cols, vals, low, high = [], [], [], [], []
    for r, (coefs, lo, hi) in enumerate(m.rows):
        for c, v in coefs.items():
            rows.append(r)
            cols.append(c)
            vals.append(v)
        low.append(lo)
        high.append(hi)
    matrix = coo_array((vals, (rows, cols)), shape=(len(m.rows), len(m.cost))).tocsr()
    with _quiet_stdout():
        result = milp(
            np.array(m.cost),
            integrality=np.array(m.integer),
            bounds=Bounds(np.zeros(len(m.cost)), np.array(m.upper)),
            constraints=LinearConstraint(matrix, np.array(low), np.array(high)),
            options={"mip_rel_gap": 0.0, "time_limit": 30.0},
        )
    if result.x is None:
        raise RuntimeError(f"basket programme not solved: {result.message}")
    return list(result.x)


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS (1.17's build) prints solver diagnostics straight to file descriptor 1, whatever its output
    flag says; they would corrupt ``bijia basket --format json``. Point fd 1 at /dev/null meanwhile."""
    with _STDOUT_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
