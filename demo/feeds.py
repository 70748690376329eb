"""The JSON shops: shopline (Shopify ``products.json``), woomart (WooCommerce Store API v1), shandian
(instant retail), and jingxuan's item API (which its page's JavaScript renders)."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from demo import titles
from demo.faults import Faults
from demo.listings import Listing, shandian_product_id, shopify_product_id, shopify_product_title

if TYPE_CHECKING:
    from demo.catalogue import Catalogue

JSON = "application/json; charset=utf-8"
CATEGORY_NAMES = {
    "phone": "Phones",
    "laptop": "Laptops",
    "headphones": "Headphones",
    "drinks": "Drinks",
    "groceries": "Groceries",
    "shoes": "Shoes",
    "appliance": "Small Appliances",
}
OPTION_NAMES = {
    "storage": "Storage",
    "memory": "Memory",
    "colour": "Color",
    "size": "Size",
    "volume": "Volume",
    "pack": "Pack",
    "weight": "Weight",
    "count": "Count",
}
GRAMS = {"phone": 190, "laptop": 1400, "headphones": 250, "shoes": 850, "appliance": 2100}
STAMP = "2024-09-20T10:00:00+08:00"


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = {}  # noqa: RUF012 - never mutated; json_reply/… pass their own


def json_reply(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, JSON, body, headers or {})


def page_range(total: int, page: int, per_page: int, faults: Faults) -> range:
    """The slice of a shop's list on ``page`` (1-based); empty past the end unless the loop fault is on."""
    pages = max(1, math.ceil(total / per_page))
    if page > pages and faults.pagination_loop:
        page = 1
    start = (page - 1) * per_page - (2 if faults.duplicate_listings and page > 1 else 0)
    return range(max(0, start), min(total, page * per_page))


def shown_prices(x: Listing, faults: Faults) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """(price, list price, final price) as served; the absurd fault replaces the price, drops the rest."""
    if faults.absurd_prices and x.absurd is not None:
        return x.absurd, None, None
    return x.price, x.list_price, x.final_price


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def _int_arg(query: dict[str, str], name: str, default: int, high: int) -> int | None:
    try:
        value = int(query.get(name, default))
    except ValueError:
        return None
    return value if 1 <= value <= high else None


def _grams(x: Listing) -> int:
    v = x.sku.values
    if "volume" in v or "weight" in v:
        return int(v.get("volume", v.get("weight", 0)) * v.get("pack", 1) * 1.05)
    return GRAMS.get(x.sku.product.family.category, 500)


def shopify_products(cat: Catalogue, query: dict[str, str], base: str, faults: Faults) -> Reply:
    limit, page = _int_arg(query, "limit", 30, 250), _int_arg(query, "page", 1, 10**6)
    if limit is None or page is None:
        return json_reply({"errors": {"limit": "must be between 1 and 250"}}, 400)
    products = cat.shopify_products
    return json_reply(
        {
            "products": [
                _shopify_product(cat, *products[n], base, faults)
                for n in page_range(len(products), page, limit, faults)
            ]
        }
    )


def _shopify_product(cat: Catalogue, product_index: int, members, base: str, faults: Faults) -> dict:
    listings = [cat.listing("shopline", i) for i in members]
    first = listings[0].sku
    pid = shopify_product_id(product_index)
    title = shopify_product_title(cat.seed, first)
    axes = [axis for axis, _ in first.variant]
    options = [
        {
            "name": OPTION_NAMES[a],
            "position": n + 1,
            "values": list(dict.fromkeys(titles.shopline_option(a, x.sku.values[a]) for x in listings)),
        }
        for n, a in enumerate(axes)
    ] or [{"name": "Title", "position": 1, "values": ["Default Title"]}]
    variants = [_shopify_variant(x, pid, n, faults) for n, x in enumerate(listings)]
    return {
        "id": pid,
        "title": title,
        "handle": f"{slug(title)}-{pid % 10000}",
        "body_html": f"<p>{title}</p>",
        "published_at": STAMP,
        "created_at": STAMP,
        "updated_at": STAMP,
        "vendor": first.product.brand.en,
        "product_type": CATEGORY_NAMES[first.product.family.category],
        "tags": [first.product.brand.en, CATEGORY_NAMES[first.product.family.category]],
        "variants": variants,
        "images": [
            {
                "id": pid + 1,
                "created_at": STAMP,
                "position": 1,
                "updated_at": STAMP,
                "product_id": pid,
                "variant_ids": [],
                "src": f"{base}/static/img/sl-{pid}.svg",
                "width": 800,
                "height": 800,
            }
        ],
        "options": options,
    }


def _shopify_variant(x: Listing, pid: int, n: int, faults: Faults) -> dict:
    price, list_price, _ = shown_prices(x, faults)
    names = [titles.shopline_option(a, v) for a, v in x.sku.variant] or ["Default Title"]
    names += [None] * (3 - len(names))
    return {
        "id": int(x.listing_id),
        "title": " / ".join(n for n in names if n),
        "option1": names[0],
        "option2": names[1],
        "option3": names[2],
        "sku": x.shop_sku,
        "requires_shipping": True,
        "taxable": True,
        "featured_image": None,
        "available": x.in_stock,
        "price": f"{price:.2f}",
        "grams": _grams(x),
        "compare_at_price": f"{list_price:.2f}" if list_price else None,
        "position": n + 1,
        "product_id": pid,
        "created_at": STAMP,
        "updated_at": STAMP,
        "barcode": x.gtin,
    }


def woo_products(cat: Catalogue, query: dict[str, str], base: str, faults: Faults) -> Reply:
    per_page, page = _int_arg(query, "per_page", 10, 100), _int_arg(query, "page", 1, 10**6)
    if per_page is None or page is None:
        return json_reply(
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): per_page, page",
                "data": {"status": 400},
            },
            400,
        )
    skus = cat.shop_skus("woomart")
    rows = [
        _woo_product(cat.listing("woomart", skus[n]), base, faults)
        for n in page_range(len(skus), page, per_page, faults)
    ]
    total_pages = max(1, math.ceil(len(skus) / per_page))
    return json_reply(rows, headers={"X-WP-Total": str(len(skus)), "X-WP-TotalPages": str(total_pages)})


def _minor(amount: Decimal) -> str:
    return str(int(amount * 100))


def _woo_product(x: Listing, base: str, faults: Faults) -> dict:
    price, list_price, _ = shown_prices(x, faults)
    regular = list_price or price
    category = x.sku.product.family.category
    name_slug = f"{slug(x.title)}-{x.listing_id}"
    attributes = [
        {
            "id": 0,
            "name": OPTION_NAMES[a],
            "taxonomy": None,
            "has_variations": False,
            "terms": [{"id": 0, "name": titles.shopline_option(a, v), "slug": slug(str(v))}],
        }
        for a, v in x.sku.variant
    ]
    attributes.append(
        {
            "id": 1,
            "name": "Brand",
            "taxonomy": "pa_brand",
            "has_variations": False,
            "terms": [{"id": 0, "name": x.sku.product.brand.en, "slug": slug(x.sku.product.brand.en)}],
        }
    )
    cat_id = 15 + list(CATEGORY_NAMES).index(category)
    return {
        "id": int(x.listing_id),
        "name": x.title,
        "slug": name_slug,
        "parent": 0,
        "type": "simple",
        "variation": "",
        "permalink": f"{base}/woomart/product/{name_slug}/",
        "sku": x.shop_sku,
        "short_description": "",
        "description": f"<p>{x.title}</p>",
        "on_sale": list_price is not None,
        "prices": {
            "price": _minor(price),
            "regular_price": _minor(regular),
            "sale_price": _minor(price),
            "price_range": None,
            "currency_code": "CNY",
            "currency_symbol": "¥",
            "currency_minor_unit": 2,
            "currency_decimal_separator": ".",
            "currency_thousand_separator": ",",
            "currency_prefix": "¥",
            "currency_suffix": "",
        },
        "price_html": f'<span class="woocommerce-Price-amount amount">¥{price:,.2f}</span>',
        "average_rating": "0",
        "review_count": 0,
        "images": [
            {
                "id": x.position + 1,
                "src": f"{base}/static/img/wm-{x.listing_id}.svg",
                "name": "",
                "alt": x.title,
            }
        ],
        "categories": [
            {
                "id": cat_id,
                "name": CATEGORY_NAMES[category],
                "slug": slug(CATEGORY_NAMES[category]),
                "link": f"{base}/woomart/product-category/{slug(CATEGORY_NAMES[category])}/",
            }
        ],
        "tags": [],
        "attributes": attributes,
        "variations": [],
        "has_options": False,
        "is_purchasable": True,
        "is_in_stock": x.in_stock,
        "is_on_backorder": False,
        "low_stock_remaining": x.stock if 0 < x.stock < 5 else None,
        "sold_individually": False,
        "add_to_cart": {
            "text": "Add to cart",
            "description": f"Add “{x.title}” to your cart",
            "url": f"?add-to-cart={x.listing_id}",
            "minimum": 1,
            "maximum": 9999,
            "multiple_of": 1,
        },
    }


def shandian_stores(cat: Catalogue) -> Reply:
    return json_reply(
        {
            "stores": [
                {
                    "id": s.id,
                    "name": s.name,
                    "distance_km": s.distance_km,
                    "delivery_minutes": s.delivery_minutes,
                    "delivery_fee": f"{s.delivery_fee:.2f}",
                    "city": s.city,
                    "lat": s.lat,
                    "lng": s.lng,
                    "delivery_radius_km": s.radius_km,
                    "promotions": list(s.promotions),
                }
                for s in cat.stores
            ]
        }
    )


def shandian_products(cat: Catalogue, store_id: int, query: dict[str, str], faults: Faults) -> Reply:
    if store_id not in {s.id for s in cat.stores}:
        return json_reply({"error": "store not found"}, 404)
    size, page = _int_arg(query, "size", 20, 100), _int_arg(query, "page", 1, 10**6)
    if size is None or page is None:
        return json_reply({"error": "page must be >= 1 and size between 1 and 100"}, 400)
    store, skus = cat.store(store_id), cat.store_skus(store_id)
    items = []
    for n in page_range(len(skus), page, size, faults):
        x = cat.listing("shandian", skus[n], store)
        price, _, final = shown_prices(x, faults)
        items.append(
            {
                "id": shandian_product_id(x.sku),
                "title": x.title,
                "brand": x.sku.product.brand.zh,
                "price": f"{price:.2f}",
                "promo_price": f"{final:.2f}" if final else None,
                "stock": x.stock,
                "spec": titles.spec_text(x.sku),
                "barcode": x.gtin,
                "promotions": [t for t in x.promotions if t not in store.promotions],
            }
        )
    return json_reply({"page": page, "total_pages": max(1, math.ceil(len(skus) / size)), "items": items})


def money_text(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def jingxuan_items(cat: Catalogue, query: dict[str, str], faults: Faults, per_page: int = 20) -> Reply:
    page = _int_arg(query, "page", 1, 10**6)
    if page is None:
        return json_reply({"error": "bad page"}, 400)
    skus = cat.shop_skus("jingxuan")
    total_pages = max(1, math.ceil(len(skus) / per_page))
    items = []
    for n in page_range(len(skus), page, per_page, faults):
        x = cat.listing("jingxuan", skus[n])
        price, _, final = shown_prices(x, faults)
        items.append(
            {
                "id": x.listing_id,
                "title": x.title,
                "url": f"/jingxuan/item/{x.listing_id}",
                "shop": x.seller,
                "price": money_text(price),
                "coupon_price": f"券后价 {money_text(final)}" if final else None,
                "shipping": "包邮" if not x.shipping else f"运费 {money_text(x.shipping)}",
                "delivery": x.delivery,
                "stock": "有货" if x.in_stock else "无货",
                "promotions": list(x.promotions),
            }
        )
    has_more = page < total_pages or faults.pagination_loop
    return json_reply({"page": page, "total_pages": total_pages, "has_more": has_more, "items": items})
