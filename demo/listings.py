"""One shop's listing of one SKU: id, title, price, coupon, shipping, stock — each a pure function of the seed.

Shipping policies (``demo/marketplaces.toml`` must agree for the shops whose feed states no shipping):

- techmall: free from ¥99, else ¥10 — stated in each product's JSON-LD ``shippingDetails``
- shopline: free (``default_shipping = 0``); woomart: flat ¥8 (``default_shipping = 8``)
- jingxuan: 包邮 from ¥99 or when sold by 精选自营, else ``运费 ¥6.00`` — shown on each item
- shandian: the store's ``delivery_fee``
- nextmall: free from ¥199, else ¥12 — in each product of its ``__NEXT_DATA__``
- tanhuo: 包邮 from ¥88, else ``运费¥8`` — on each item's detail page only
- kuaigou: free from ¥59, else ¥5 — ``freight`` in fen in its API
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from demo import titles
from demo.rand import Draw, permute
from demo.shopper import Store, jingxuan_promotions, shandian_promotions

if TYPE_CHECKING:
    from demo.catalogue import Sku

SHOPS = ("techmall", "shopline", "woomart", "jingxuan", "shandian", "nextmall", "tanhuo", "kuaigou")
FIELD_MAP_SHOPS = SHOPS[5:]
TANHUO_ID_BASE = 6_000_000_000
"""Shops described only by a field map in ``demo/marketplaces.toml`` (no shape of their own)."""
THRESHOLD_SHIPPING = {
    "techmall": (Decimal(99), Decimal("10.00")),
    "nextmall": (Decimal(199), Decimal("12.00")),
    "tanhuo": (Decimal(88), Decimal("8.00")),
    "kuaigou": (Decimal(59), Decimal("5.00")),
}
"""Free shipping from the first amount, else the second."""
FLAT_SHIPPING = {"shopline": Decimal("0.00"), "woomart": Decimal("8.00")}
ABSURD_EVERY = 40
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Listing:
    marketplace: str
    listing_id: str
    sku: Sku
    title: str
    price: Decimal
    """Shown selling price before coupons (Woo: ``prices.price``; shandian: ``price``)."""
    list_price: Decimal | None
    """Struck-through price (Shopify ``compare_at_price``, Woo ``regular_price`` when on sale)."""
    final_price: Decimal | None
    """After coupon/promotion (jingxuan 券后价, shandian ``promo_price``); ``None`` when there is none."""
    shipping: Decimal
    in_stock: bool
    stock: int
    gtin: str | None
    """Published GTIN (some listings only)."""
    mpn: str | None
    shop_sku: str
    seller: str
    delivery: str
    position: int
    """Index in the shop's catalogue order."""
    store: Store | None = None
    absurd: Decimal | None = None
    """The broken price served instead of ``price`` when the shop's ``absurd_prices`` fault is on."""
    promotions: tuple[str, ...] = ()
    """Promotion texts shown beside the price (``demo.shopper``)."""

    @property
    def landed_price(self) -> Decimal:
        return (self.final_price if self.final_price is not None else self.price) + self.shipping


def money(cents: float) -> Decimal:
    """A shop price: whole yuan from ¥100, else 10-fen steps; never below ¥0.10."""
    if cents >= 10_000:
        return Decimal(round(cents / 100)).quantize(CENT)
    return (Decimal(max(1, round(cents / 10))) / 10).quantize(CENT)


def _absurd(position: int, price: Decimal) -> Decimal | None:
    if position % ABSURD_EVERY != 7:
        return None
    return (ZERO, -price, Decimal("1000000000000.00"))[(position // ABSURD_EVERY) % 3]


def listing_id(shop: str, sku: Sku, store: Store | None = None) -> str:
    i = sku.index
    if shop == "techmall":
        return f"TM{permute(i, 0):07d}"
    if shop == "shopline":
        return str(45_000_000_000 + permute(i, 1))
    if shop == "woomart":
        return str(100 + permute(i, 2))
    if shop == "jingxuan":
        return f"JX{permute(i, 3):07d}"
    if shop == "nextmall":
        return f"NM{permute(i, 10):07d}"
    if shop == "tanhuo":
        return str(TANHUO_ID_BASE + permute(i, 11))
    if shop == "kuaigou":
        return f"KG{permute(i, 12):07d}"
    assert store is not None, "shandian listings are per store"
    return f"{shandian_product_id(sku)}@{store.id}"


def shandian_product_id(sku: Sku) -> int:
    return 600_000 + permute(sku.index, 4)


def shopify_product_id(product_index: int) -> int:
    return 8_000_000_000 + permute(product_index, 5)


def make_listing(seed: int, shop: str, sku: Sku, position: int, store: Store | None = None) -> Listing:
    shop_no = SHOPS.index(shop)
    d = Draw(seed, shop_no, sku.index)
    delta = d.uniform(-0.12, 0.12)
    if store is not None:
        delta = max(-0.15, min(0.15, delta + store.price_delta))
    price = money(sku.cents * (1 + delta))
    list_price = final_price = None
    seller, delivery = (
        {"techmall": "TechMall", "shopline": "ShopLine", "woomart": "WooMart"}.get(shop, ""),
        "",
    )
    if shop in ("shopline", "woomart", "nextmall") and d.chance(0.3):
        list_price = money(float(price) * 100 * d.uniform(1.05, 1.2))
    if shop in ("jingxuan", "tanhuo"):
        seller = _jx_seller(sku, d)
        delivery = d.choice(("次日达", "次日达", "当日达", "30分钟达", "预计3天送达"))
        if d.chance(0.4):
            final_price = _coupon(price, d)
    if shop == "kuaigou":
        seller, delivery = f"{sku.product.brand.zh}快购专卖", d.choice(("当日达", "次日达", "1小时达"))
        if d.chance(0.2):
            final_price = money(float(price) * 100 * d.uniform(0.9, 0.97))
    if shop == "nextmall":
        seller = "NextMall"
    if shop == "shandian":
        assert store is not None
        seller, delivery = store.name, f"{store.delivery_minutes}分钟达"
        if d.chance(0.25):
            final_price = money(float(price) * 100 * d.uniform(0.85, 0.95))
    shipping = _shipping(shop, price, seller, store)
    promotions: list[str] = []
    if shop == "jingxuan":
        promotions = jingxuan_promotions(seller, price, d)
    elif store is not None:
        promotions = shandian_promotions(store, d)
    title = _title(seed, shop, sku, d)
    stock_draw = d.fork(1000 + (store.id if store else 0))
    stock = 0 if stock_draw.chance(0.15 if store else 0.07) else stock_draw.randint(1, 60)
    ids = d.fork(11)
    gtin = sku.gtin if ids.chance({"techmall": 0.55, "shopline": 0.6, "shandian": 0.7}.get(shop, 0)) else None
    mpn = sku.mpn if shop == "techmall" and ids.chance(0.45) else None
    return Listing(
        shop,
        listing_id(shop, sku, store),
        sku,
        title,
        price,
        list_price,
        final_price,
        shipping,
        stock > 0,
        stock,
        gtin,
        mpn,
        f"{shop[:2].upper()}-{permute(sku.index, 9):07d}",
        seller,
        delivery,
        position,
        store,
        _absurd(position, price),
        tuple(promotions),
    )


def _title(seed: int, shop: str, sku: Sku, d: Draw) -> str:
    if shop != "shopline":
        return getattr(titles, shop)(sku, d)
    product_title = shopify_product_title(seed, sku)
    if not sku.variant:
        return product_title
    return product_title + " - " + " / ".join(titles.shopline_option(a, v) for a, v in sku.variant)


def shopify_product_title(seed: int, sku: Sku) -> str:
    """shopline's title of the SKU's base product (the same for all its variants)."""
    return titles.shopline_product(sku, Draw(seed, 1, sku.product.index, 99))


def _jx_seller(sku: Sku, d: Draw) -> str:
    roll = d.random()
    if roll < 0.4:
        return f"{sku.product.brand.zh}官方旗舰店"
    if roll < 0.7:
        return "精选自营"
    return f"{sku.product.family.noun_zh}优品专营店"


def _coupon(price: Decimal, d: Draw) -> Decimal | None:
    off = float(price) * d.uniform(0.03, 0.08)
    off = int(off // 10 * 10) if off >= 20 else int(off)
    return (price - off).quantize(CENT) if off >= 1 else None


def _shipping(shop: str, price: Decimal, seller: str, store: Store | None) -> Decimal:
    if shop in FLAT_SHIPPING:
        return FLAT_SHIPPING[shop]
    if shop in THRESHOLD_SHIPPING:
        free_from, fee = THRESHOLD_SHIPPING[shop]
        return ZERO if price >= free_from else fee
    if shop == "jingxuan":
        return ZERO if price >= 99 or seller == "精选自营" else Decimal("6.00")
    assert store is not None
    return store.delivery_fee
