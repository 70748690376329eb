"""Faults the demo server can inject, per shop, deterministically (off by default).

Python: ``DemoServer(cat, faults={"techmall": Faults(status_429_every=5)})`` (or one ``Faults`` for every
shop). CLI: ``--fault techmall:status_429_every=5 --fault all:slow_ms=20 --fault jingxuan:changed_markup``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from dataclasses import dataclass

from demo.listings import SHOPS
from demo.rand import key, mix


@dataclass(frozen=True)
class Faults:
    status_429_every: int = 0
    """Every N-th request to the shop answers 429 with ``Retry-After: retry_after``; 0 = never."""
    retry_after: int = 1
    status_5xx_rate: float = 0.0
    """Share of requests answered 500/502/503."""
    slow_ms: int = 0
    """Delay before every response."""
    truncate_rate: float = 0.0
    """Share of responses whose body is cut in half (full Content-Length declared, connection closed)."""
    reset_rate: float = 0.0
    """Share of requests whose connection is closed (RST) without any response."""
    changed_markup: bool = False
    """techmall product pages lose their JSON-LD and class names; jingxuan renders other class names."""
    absurd_prices: bool = False
    """Every 40th listing (positions 7, 47, …) shows 0, a negative price or 1e12 instead of its price."""
    duplicate_listings: bool = False
    """Each page after the first repeats the last 2 listings of the page before."""
    pagination_loop: bool = False
    """The last page links back to page 1 (HTML); a page past the end serves page 1 again (APIs)."""
    seed: int = 0

    @property
    def active(self) -> bool:
        return self != Faults(seed=self.seed)


FaultPlan = dict[str, Faults]


def parse_fault(spec: str, plan: FaultPlan | None = None) -> FaultPlan:
    """Apply one ``shop:name=value`` switch (``shop`` may be ``all``; a bare ``name`` means true)."""
    plan = dict(plan or {})
    shop, sep, assignment = spec.partition(":")
    if not sep:
        raise ValueError(f"fault {spec!r}: expected SHOP:NAME[=VALUE]")
    shops = SHOPS if shop == "all" else (shop,)
    if shop != "all" and shop not in SHOPS:
        raise ValueError(f"fault {spec!r}: unknown shop {shop!r}; known: all, {', '.join(SHOPS)}")
    name, has_value, raw = assignment.partition("=")
    fields = {f.name: f for f in dataclasses.fields(Faults)}
    if name not in fields:
        raise ValueError(f"fault {spec!r}: unknown switch {name!r}; known: {', '.join(fields)}")
    kind = type(getattr(Faults(), name))
    if kind is bool:
        value: object = raw.lower() in ("1", "true", "yes", "on") if has_value else True
    else:
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"fault {spec!r}: {name} needs a {kind.__name__}") from None
    for s in shops:
        plan[s] = dataclasses.replace(plan.get(s, Faults()), **{name: value})
    return plan


def normalise_plan(faults: Faults | FaultPlan | None) -> FaultPlan:
    if faults is None:
        return {}
    if isinstance(faults, Faults):
        return dict.fromkeys(SHOPS, faults)
    unknown = set(faults) - set(SHOPS)
    if unknown:
        raise ValueError(f"faults for unknown shop(s): {', '.join(sorted(unknown))}")
    return dict(faults)


class FaultState:
    """Counts requests per shop and decides, from the request's sequence number, which fault hits it."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.requests: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()

    def faults(self, shop: str) -> Faults:
        return self.plan.get(shop, Faults())

    def next(self, shop: str) -> str | None:
        """Count a request; return ``"429"``, ``"reset"``, ``"5xx"``, ``"truncate"`` or ``None``."""
        with self._lock:
            self.requests[shop] += 1
            n = self.requests[shop]
        f = self.faults(shop)
        if not f.active:
            return None
        u = [mix(key(f.seed, SHOPS.index(shop) if shop in SHOPS else 9, n, k)) / 2.0**64 for k in range(3)]
        action = None
        if f.status_429_every and n % f.status_429_every == 0:
            action = "429"
        elif u[0] < f.reset_rate:
            action = "reset"
        elif u[1] < f.status_5xx_rate:
            action = "5xx"
        elif u[2] < f.truncate_rate:
            action = "truncate"
        if action:
            with self._lock:
                self.injected[f"{shop}:{action}"] += 1
        return action
