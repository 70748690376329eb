"""What a shopper decides on in the demo: shandian's stores in two cities (real-looking coordinates, delivery
radius, quoted time, store-wide promotions) and the promotion texts the shops show.

Store-wide promotions depend on the store or seller only (every item of a shop shows the same ones);
item promotions (第二件半价, 2件8折, the marketplace's 跨店每满300减50 event) are drawn per listing. The shown
price and 券后价 are before these promotions: they apply to quantities and baskets (``core.promotions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.geo import Point, haversine_km
from demo.rand import Draw

HOME = Point(39.9042, 116.4074)
"""The address the demo app's ``distance_km`` is measured from (天安门, Beijing)."""


@dataclass(frozen=True, slots=True)
class Store:
    id: int
    name: str
    city: str
    lat: float
    lng: float
    delivery_minutes: int
    """The store's quoted time for its neighbourhood (30分钟达)."""
    delivery_fee: Decimal
    price_delta: float
    radius_km: float
    promotions: tuple[str, ...] = ()

    @property
    def distance_km(self) -> float:
        """Straight-line km from the demo app's address (``HOME``)."""
        return round(haversine_km(HOME, Point(self.lat, self.lng)), 1)


STORES = (
    Store(101, "闪电到家·国贸店", "北京", 39.9087, 116.4605, 30, Decimal("3.00"), 0.0, 5.0, ("满59减10",)),
    Store(102, "闪电到家·望京店", "北京", 39.9968, 116.4705, 45, Decimal("5.00"), 0.02, 5.0, ("满49减5",)),
    Store(
        103, "闪电到家·王府井店", "北京", 39.9150, 116.4110, 60, Decimal("6.00"), -0.01, 3.0, ("每满100减10",)
    ),
    Store(104, "闪电到家·三里屯店", "北京", 39.9365, 116.4550, 30, Decimal("0.00"), 0.03, 3.0, ("满39包邮",)),
    Store(201, "闪电到家·陆家嘴店", "上海", 31.2397, 121.4998, 30, Decimal("4.00"), 0.01, 3.0, ("满88减15",)),
    Store(
        202, "闪电到家·徐家汇店", "上海", 31.1950, 121.4365, 40, Decimal("3.00"), -0.02, 3.0, ("满59包邮",)
    ),
    Store(203, "闪电到家·静安寺店", "上海", 31.2237, 121.4450, 30, Decimal("5.00"), 0.0, 2.5, ()),
    Store(
        204, "闪电到家·五角场店", "上海", 31.2990, 121.5140, 45, Decimal("0.00"), 0.02, 5.0, ("每满50减5",)
    ),
)

CROSS_STORE = "跨店每满300减50"
"""jingxuan's marketplace-wide event: items that show it count together across sellers."""


def shandian_promotions(store: Store, d: Draw) -> list[str]:
    """An instant-retail item's promotions: its own (sometimes) plus its store's."""
    roll = d.fork(21).random()
    own = ["第二件半价"] if roll < 0.15 else ["2件8折"] if roll < 0.25 else []
    return own + list(store.promotions)


def jingxuan_promotions(seller: str, price: Decimal, d: Draw) -> list[str]:
    """A jingxuan item's promotions: its seller's store-wide ones, the cross-store event, a multi-buy."""
    texts = list(seller_promotions(seller))
    draw = d.fork(22)
    if draw.chance(0.35):
        texts.append(CROSS_STORE)
    if price < 200 and draw.chance(0.3):
        texts.append("第二件半价")
    return texts


def seller_promotions(seller: str) -> tuple[str, ...]:
    """The same for every item of the seller (a store-wide promotion is the store's, not the item's)."""
    if seller == "精选自营":
        return ("满199减20",)
    if seller.endswith("官方旗舰店"):
        return ("满300减30", "满99包邮")
    return ("每满100减5", "满99包邮")
