"""Random baskets (products × shops with prices, shipping and promotions) for tests and the benchmark."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from core.promo_pricing import Line
from core.promotions import parse_promotions

STORE_PROMOS = [
    "满99包邮",
    "满59包邮",
    "满199减20",
    "满300减30",
    "每满100减10",
    "店铺券满150减15",
    "满2件包邮",
]
ITEM_PROMOS = ["第二件半价", "2件8折", "直降5元", "跨店每满300减50"]
TODAY = date(2026, 11, 1)


def random_basket(products: int, shops: int, seed: int, coverage: float = 0.7) -> dict[str, list[Line]]:
    """Each product on ~``coverage`` of the shops (at least one), prices around its own base."""
    rng = random.Random(seed)
    shop_rules = {
        s: parse_promotions(rng.sample(STORE_PROMOS, rng.randint(0, 2)), today=TODAY) for s in range(shops)
    }
    fees = {s: Decimal(rng.choice([0, 5, 6, 8, 10, 12])) for s in range(shops)}
    cands: dict[str, list[Line]] = {}
    for p in range(products):
        base = rng.uniform(5, 400)
        chosen = [s for s in range(shops) if rng.random() < coverage] or [rng.randrange(shops)]
        lines = []
        for s in chosen:
            item = parse_promotions(rng.sample(ITEM_PROMOS, rng.randint(0, 1)), today=TODAY)
            price = Decimal(f"{base * rng.uniform(0.85, 1.15):.2f}")
            market = f"m{s % 3}"
            lines.append(
                Line(
                    f"p{p}",
                    market,
                    f"{market}/s{s}",
                    f"L{p}-{s}",
                    price,
                    rng.choice([1, 1, 1, 2, 3]),
                    tuple(shop_rules[s] + item),
                    False,
                    fees[s],
                )
            )
        cands[f"p{p}"] = lines
    return cands
