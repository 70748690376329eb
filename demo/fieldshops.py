"""The demo shops that only a field map describes (``demo/marketplaces.toml``), each in a shape real shops
have and no shape of bijia's own:

- **nextmall**: a Next.js-style storefront: ``/nextmall/products?page=N`` (24 per page) server-renders
  its list and carries the data in ``<script id="__NEXT_DATA__">`` (``props.pageProps.products``,
  ``pageProps.pagination.totalPages``);
- **tanhuo**: a rendered marketplace: ``/tanhuo/`` is a shell whose script fetches
  ``/tanhuo/api/feed?page=N`` (20 per page) and renders it, loading the next page when the visitor scrolls
  to the bottom (no button); the feed has no shipping, stock or delivery: those are on each item's detail
  page ``/tanhuo/item/<id>``;
- **kuaigou**: a JSON app API with cursor pagination: ``/kuaigou/api/v2/items?cursor=C&limit=N``
  (``data.items``, ``data.next_cursor``; money in fen).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from demo.faults import Faults
from demo.feeds import CATEGORY_NAMES, Reply, json_reply, money_text, page_range, shown_prices, slug
from demo.listings import TANHUO_ID_BASE, Listing
from demo.rand import unpermute

if TYPE_CHECKING:
    from demo.catalogue import Catalogue

HTML = "text/html; charset=utf-8"
NEXTMALL_PER_PAGE = 24
TANHUO_PER_PAGE = 20
KUAIGOU_LIMIT = 50
TANHUO_JS = Path(__file__).with_name("tanhuo.js")


def _page(title: str, body: str, head: str = "") -> Reply:
    text = (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"{head}</head>\n<body>\n{body}\n</body></html>\n"
    )
    return Reply(200, HTML, text.encode())


def _page_number(query: dict[str, str], name: str = "page") -> int | None:
    value = query.get(name, "1")
    return int(value) if value.isdigit() and int(value) >= 1 else None


# --- nextmall ---------------------------------------------------------------------------------------


def _next_product(x: Listing, faults: Faults) -> dict:
    price, list_price, _ = shown_prices(x, faults)
    category = x.sku.product.family.category
    return {
        "id": x.listing_id,
        "slug": f"{slug(x.title)}-{x.listing_id.lower()}",
        "name": x.title,
        "brand": {"name": x.sku.product.brand.en},
        "category": CATEGORY_NAMES[category],
        "price": {"amount": f"{price:.2f}", "currencyCode": "CNY"},
        "compareAtPrice": {"amount": f"{list_price:.2f}", "currencyCode": "CNY"} if list_price else None,
        "availableForSale": x.in_stock,
        "shipping": {"fee": f"{x.shipping:.2f}"},
        "gtin": x.gtin,
        "image": {"url": f"/static/img/nm-{x.listing_id}.svg"},
    }


def nextmall_products(cat: Catalogue, query: dict[str, str], faults: Faults) -> Reply | None:
    page = _page_number(query)
    if page is None:
        return None
    skus = cat.shop_skus("nextmall")
    total_pages = max(1, math.ceil(len(skus) / NEXTMALL_PER_PAGE))
    products = [
        _next_product(cat.listing("nextmall", skus[n]), faults)
        for n in page_range(len(skus), page, NEXTMALL_PER_PAGE, faults)
    ]
    data = {
        "props": {
            "pageProps": {
                "products": products,
                "pagination": {"page": page, "totalPages": total_pages, "total": len(skus)},
            },
            "__N_SSP": True,
        },
        "page": "/products",
        "query": {"page": str(page)},
        "buildId": "bijia-demo",
    }
    cards = "".join(
        f'<li class="card"><a href="/nextmall/p/{p["slug"]}">{escape(p["name"])}</a>'
        f"<span>{money_text(Decimal(p['price']['amount']))}</span></li>"
        for p in products
    )
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    body = (
        f'<div id="__next"><h1>NextMall</h1><ul class="grid">{cards}</ul></div>\n'
        f'<script id="__NEXT_DATA__" type="application/json">{payload}</script>'
    )
    return _page(f"NextMall — page {page}", body)


# --- tanhuo -----------------------------------------------------------------------------------------


def tanhuo_shell() -> Reply:
    script = TANHUO_JS.read_text(encoding="utf-8")
    style = "<style>.card{height:120px;border-bottom:1px solid #eee}</style>"
    body = (
        '<header><h1>探货</h1></header>\n<main><div id="feed"></div><p id="more">上拉加载更多</p></main>\n'
        f"<script>\n{script}</script>"
    )
    return _page("探货 - 好物推荐", body, style)


def tanhuo_feed(cat: Catalogue, query: dict[str, str], faults: Faults) -> Reply:
    page = _page_number(query)
    if page is None:
        return json_reply({"code": 400, "msg": "bad page"}, 400)
    skus = cat.shop_skus("tanhuo")
    total_pages = max(1, math.ceil(len(skus) / TANHUO_PER_PAGE))
    items = []
    for n in page_range(len(skus), page, TANHUO_PER_PAGE, faults):
        x = cat.listing("tanhuo", skus[n])
        price, _, final = shown_prices(x, faults)
        items.append(
            {
                "itemId": x.listing_id,
                "title": x.title,
                "shopName": x.seller,
                "priceText": money_text(price),
                "couponText": f"券后{money_text(final)}" if final else "",
                "link": f"/tanhuo/item/{x.listing_id}",
            }
        )
    has_more = page < total_pages or faults.pagination_loop
    return json_reply({"code": 0, "data": {"list": items, "page": page, "hasMore": has_more}})


def tanhuo_item(cat: Catalogue, listing_id: str) -> Reply | None:
    if not listing_id.isdigit() or int(listing_id) < TANHUO_ID_BASE:
        return None
    index = unpermute(int(listing_id) - TANHUO_ID_BASE, 11)
    if index >= len(cat) or "tanhuo" not in cat.shops_of(index):
        return None
    x = cat.listing("tanhuo", index)
    shipping = "包邮" if not x.shipping else f"运费{money_text(x.shipping)}"
    body = (
        f'<h1 class="item-title">{escape(x.title)}</h1>\n<div class="buy-box">'
        f'<span class="ship">{shipping}</span> <span class="eta">{x.delivery}</span> '
        f'<span class="stock">{"现货" if x.in_stock else "已售罄"}</span></div>'
    )
    return _page(x.title, body)


# --- kuaigou ----------------------------------------------------------------------------------------


def _fen(amount: object) -> int:
    return int(Decimal(str(amount)) * 100)


def kuaigou_items(cat: Catalogue, query: dict[str, str], faults: Faults) -> Reply:
    cursor, limit = query.get("cursor", ""), query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        return json_reply({"code": 40001, "message": "limit must be 1..100"}, 400)
    start = int(cursor.removeprefix("c")) if cursor.startswith("c") and cursor[1:].isdigit() else 0
    skus = cat.shop_skus("kuaigou")
    end = min(len(skus), start + int(limit))
    items = []
    for n in range(start, end):
        x = cat.listing("kuaigou", skus[n])
        price, _, final = shown_prices(x, faults)
        items.append(
            {
                "skuId": x.listing_id,
                "name": x.title,
                "brandName": x.sku.product.brand.zh,
                "salePrice": _fen(price),
                "promoPrice": _fen(final) if final else None,
                "stockStatus": "IN_STOCK" if x.in_stock else "OUT_OF_STOCK",
                "freight": _fen(x.shipping),
                "deliveryPromise": x.delivery,
                "shop": {"name": x.seller},
                "barcode": x.gtin,
            }
        )
    next_cursor = f"c{end}" if end < len(skus) else None
    return json_reply({"code": 0, "message": "ok", "data": {"items": items, "next_cursor": next_cursor}})
