"""A small working database for shopper decisions: shipped offers, stores in Beijing and Shanghai, promotions.

Products:
- ``p_milk`` (牛奶 12 盒): techmall ¥59 + ¥10 shipping next day; shandian 国贸 store ¥62 (+¥3 delivery,
  30 min, 满59减10); shandian 陆家嘴 store ¥55 (+¥4); jingxuan ¥58 包邮 in 2 days (满99包邮 seller)
- ``p_phone``: techmall ¥5,999 free shipping next day; jingxuan ¥5,899 (券后价 ¥5,799) 包邮, 跨店每满300减50
- ``p_cable``: jingxuan ¥29 + ¥6 (满99包邮, 第二件半价); woomart ¥25 + ¥8
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from core.offer import Offer
from storage import connect
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products
from tests.conftest import make_offer

BEIJING = "39.9042,116.4074"
SHANGHAI = "31.2400,121.4990"
GUOMAO = (39.9087, 116.4140)
LUJIAZUI = (31.2397, 121.4998)


def offer(marketplace: str, listing_id: str, title: str, price: str, **fields) -> Offer:
    for name in ("shipping", "final_price"):
        if isinstance(fields.get(name), str):
            fields[name] = Decimal(fields[name])
    return make_offer(marketplace, listing_id, title, price, in_stock=True, **fields)


def store(listing_id: str, name: str, where: tuple[float, float], price: str, fee: str, promos=()) -> Offer:
    return offer(
        "shandian",
        listing_id,
        "伊利 纯牛奶 250ml×12",
        price,
        shipping=fee,
        store=name,
        seller="闪电到家",
        delivery_hours=0.5,
        latitude=where[0],
        longitude=where[1],
        delivery_radius_km=3.0,
        promotions=list(promos),
    )


OFFERS = [
    offer(
        "techmall", "T-MILK", "Yili Milk 250ml x12", "59", shipping="10", seller="TechMall", delivery_hours=24
    ),
    store("M@101", "闪电到家·国贸店", GUOMAO, "62", "3", ["满59减10"]),
    store("M@201", "闪电到家·陆家嘴店", LUJIAZUI, "55", "4"),
    offer(
        "jingxuan",
        "JX-MILK",
        "伊利纯牛奶 12盒",
        "58",
        shipping="0",
        seller="伊利官方旗舰店",
        delivery_hours=48,
        promotions=["满99包邮", "满300减30"],
    ),
    offer(
        "techmall",
        "T-PHONE",
        "Apple iPhone 15 128GB",
        "5999",
        shipping="0",
        seller="TechMall",
        delivery_hours=24,
    ),
    offer(
        "jingxuan",
        "JX-PHONE",
        "苹果 iPhone 15 128G",
        "5899",
        final_price="5799",
        shipping="0",
        seller="苹果官方旗舰店",
        delivery_hours=24,
        promotions=["跨店每满300减50"],
    ),
    offer(
        "jingxuan",
        "JX-CABLE",
        "绿联 数据线",
        "29",
        shipping="6",
        seller="绿联优品专营店",
        delivery_hours=48,
        promotions=["满99包邮", "第二件半价"],
    ),
    offer(
        "woomart", "W-CABLE", "UGREEN USB-C cable", "25", shipping="8", seller="WooMart", delivery_hours=72
    ),
]
GROUPS = {
    "p_milk": ["techmall/T-MILK", "shandian/M@101", "shandian/M@201", "jingxuan/JX-MILK"],
    "p_phone": ["techmall/T-PHONE", "jingxuan/JX-PHONE"],
    "p_cable": ["jingxuan/JX-CABLE", "woomart/W-CABLE"],
}
TITLES = {
    "p_milk": ("伊利 纯牛奶 250ml×12", "伊利", None),
    "p_phone": ("Apple iPhone 15 128GB", "Apple", None),
    "p_cable": ("绿联 USB-C 数据线", "绿联", None),
}


def build_shopper_db(path: Path, offers: list[Offer] | None = None) -> Path:
    con = connect(path)
    try:
        offers = OFFERS if offers is None else offers
        markets = sorted({o.marketplace for o in offers})
        start_run(con, "r1", "crawl", markets)
        stage_offers(con, "r1", offers)
        commit_run(con, "r1", markets, "finished", {})
        save_products(con, "m1", [SavedGroup(pid, keys, 1.0, {}) for pid, keys in GROUPS.items()], TITLES)
    finally:
        con.close()
    return path
