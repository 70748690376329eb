"""The HTML shops: techmall (sitemaps, category pages, product pages with schema.org JSON-LD) and
jingxuan (a GBK shell whose JavaScript renders the items from ``/jingxuan/api/items``)."""

from __future__ import annotations

import json
import math
from html import escape
from typing import TYPE_CHECKING

from demo.faults import Faults
from demo.feeds import CATEGORY_NAMES, Reply, money_text, page_range, shown_prices, slug
from demo.listings import Listing
from demo.rand import unpermute

if TYPE_CHECKING:
    from demo.catalogue import Catalogue

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
PER_CATEGORY_PAGE = 24
PER_SITEMAP = 500
JINGXUAN_JS = __import__("pathlib").Path(__file__).with_name("jingxuan.js")


def html_page(title: str, body: str, head: str = "") -> Reply:
    text = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"{head}</head>\n<body>\n{body}\n</body></html>\n"
    )
    return Reply(200, HTML, text.encode())


def robots(base: str) -> Reply:
    text = (
        f"User-agent: *\nDisallow: /techmall/cart\nDisallow: /techmall/search\n\n"
        f"Sitemap: {base}/techmall/sitemap.xml\n"
    )
    return Reply(200, "text/plain; charset=utf-8", text.encode())


def product_path(x: Listing) -> str:
    return f"/techmall/product/{x.listing_id.lower()}-{slug(x.sku.name)}"


def sitemap_index(cat: Catalogue, base: str) -> Reply:
    count = max(1, math.ceil(len(cat.shop_skus("techmall")) / PER_SITEMAP))
    entries = "".join(
        f"<sitemap><loc>{base}/techmall/sitemap-products-{n}.xml</loc>"
        f"<lastmod>2024-09-20</lastmod></sitemap>\n"
        for n in range(1, count + 1)
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/'
        f'sitemap/0.9">\n{entries}</sitemapindex>\n'
    )
    return Reply(200, XML, text.encode())


def sitemap_products(cat: Catalogue, base: str, number: int) -> Reply | None:
    skus = cat.shop_skus("techmall")
    chunk = skus[(number - 1) * PER_SITEMAP : number * PER_SITEMAP] if number >= 1 else []
    if not chunk:
        return None
    entries = "".join(
        f"<url><loc>{base}{product_path(cat.listing('techmall', i))}</loc>"
        f"<changefreq>daily</changefreq></url>\n"
        for i in chunk
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
        f'sitemap/0.9">\n{entries}</urlset>\n'
    )
    return Reply(200, XML, text.encode())


def techmall_home() -> Reply:
    links = "".join(f"<li>{escape(name)}</li>" for name in CATEGORY_NAMES.values())
    return html_page(
        "TechMall",
        '<h1>TechMall</h1><p><a href="/techmall/category/all">All products</a></p>'
        f'<ul>{links}</ul><p><a href="/techmall/cart">Cart</a></p>',
    )


def techmall_category(cat: Catalogue, page: int, faults: Faults) -> Reply | None:
    skus = cat.shop_skus("techmall")
    pages = max(1, math.ceil(len(skus) / PER_CATEGORY_PAGE))
    if not 1 <= page <= pages:
        return None
    cards = []
    for n in page_range(len(skus), page, PER_CATEGORY_PAGE, faults):
        x = cat.listing("techmall", skus[n])
        price, _, _ = shown_prices(x, faults)
        cards.append(
            f'<li class="product"><a class="product-link" href="{product_path(x)}">{escape(x.title)}</a>'
            f' <span class="price">{money_text(price)}</span></li>'
        )
    nav = f'<a rel="prev" href="/techmall/category/all?page={page - 1}">Previous</a> ' if page > 1 else ""
    if page < pages or faults.pagination_loop:
        nav += f'<a rel="next" href="/techmall/category/all?page={page + 1 if page < pages else 1}">Next</a>'
    return html_page(
        f"All products – page {page} – TechMall",
        f'<h1>All products</h1><p>Page {page} of {pages}</p>\n<ul class="products">\n'
        + "\n".join(cards)
        + f'\n</ul>\n<nav class="pagination">{nav}</nav>',
    )


def techmall_product(cat: Catalogue, segment: str, base: str, faults: Faults) -> Reply | None:
    listing_id = segment.split("-", 1)[0].upper()
    if not (listing_id.startswith("TM") and listing_id[2:].isdigit()):
        return None
    index = unpermute(int(listing_id[2:]), 0)
    if index >= len(cat) or "techmall" not in cat.shops_of(index):
        return None
    x = cat.listing("techmall", index)
    price, _, _ = shown_prices(x, faults)
    url = f"{base}{product_path(x)}"
    if faults.changed_markup:
        body = (
            f'<div class="pdp"><h2 class="pdp-name">{escape(x.title)}</h2>'
            f'<div class="pdp-amount" data-currency="CNY">{money_text(price)}</div>'
            f'<div class="pdp-avail">{"In stock" if x.in_stock else "Sold out"}</div></div>'
        )
        return html_page(x.title, body)
    data = _jsonld(x, price, url, base)
    script = json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")
    head = f'<link rel="canonical" href="{url}"><script type="application/ld+json">\n{script}\n</script>'
    body = (
        f'<nav class="breadcrumb"><a href="/techmall/">TechMall</a> › '
        f"{escape(CATEGORY_NAMES[x.sku.product.family.category])}</nav>"
        f'<h1 class="product-title">{escape(x.title)}</h1>'
        f'<p class="product-price"><span class="price">{money_text(price)}</span></p>'
        f'<p class="availability">{"In stock" if x.in_stock else "Out of stock"}</p>'
        f'<p class="shipping">{"Free shipping" if not x.shipping else "Shipping " + money_text(x.shipping)}</p>'
    )
    return html_page(x.title, body, head)


def _jsonld(x: Listing, price, url: str, base: str) -> dict:
    sku = x.sku
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": x.title,
        "sku": x.listing_id,
        "brand": {"@type": "Brand", "name": sku.product.brand.en},
        "category": CATEGORY_NAMES[sku.product.family.category],
        "image": f"{base}/static/img/tm-{x.listing_id}.svg",
    }
    if x.gtin:
        data["gtin13"] = x.gtin
    if x.mpn:
        data["mpn"] = x.mpn
    if "colour" in sku.values:
        data["color"] = sku.values["colour"]
    availability = "InStock" if x.in_stock else "OutOfStock"
    data["offers"] = {
        "@type": "Offer",
        "url": url,
        "price": f"{price:.2f}",
        "priceCurrency": "CNY",
        "availability": f"https://schema.org/{availability}",
        "itemCondition": "https://schema.org/NewCondition",
        "seller": {"@type": "Organization", "name": x.seller},
        "shippingDetails": {
            "@type": "OfferShippingDetails",
            "shippingRate": {"@type": "MonetaryAmount", "value": f"{x.shipping:.2f}", "currency": "CNY"},
            "shippingDestination": {"@type": "DefinedRegion", "addressCountry": "CN"},
            "deliveryTime": {
                "@type": "ShippingDeliveryTime",
                "handlingTime": {
                    "@type": "QuantitativeValue",
                    "minValue": 0,
                    "maxValue": 1,
                    "unitCode": "DAY",
                },
                "transitTime": {
                    "@type": "QuantitativeValue",
                    "minValue": 1,
                    "maxValue": 3,
                    "unitCode": "DAY",
                },
            },
        },
    }
    return data


def gbk_page(title: str, body: str, head: str = "") -> Reply:
    text = (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="gbk"><title>{escape(title)}</title>'
        f"{head}</head>\n<body>\n{body}\n</body></html>\n"
    )
    return Reply(200, "text/html; charset=gbk", text.encode("gbk", errors="xmlcharrefreplace"))


def jingxuan_shell(faults: Faults) -> Reply:
    script = JINGXUAN_JS.read_text(encoding="utf-8")
    classes = (
        ["goods-card", "g-title", "g-shop", "g-price", "g-coupon", "g-ship", "g-eta", "g-stock"]
        if faults.changed_markup
        else ["item", "title", "shop", "price", "coupon-price", "shipping", "delivery", "stock"]
    )
    config = json.dumps({"api": "/jingxuan/api/items", "classes": classes})
    body = (
        '<header><h1>精选商城</h1><p class="slogan">正品保障 · 极速发货</p></header>\n'
        '<main><div id="list" class="list"></div>\n'
        '<p id="status" class="status">加载中…</p>\n'
        '<button class="load-more" type="button" hidden>加载更多</button></main>\n'
        f"<script>window.JX_CONFIG = {config};</script>\n<script>\n{script}</script>"
    )
    return gbk_page("精选商城 - 全部商品", body)


def jingxuan_item(cat: Catalogue, listing_id: str, faults: Faults) -> Reply | None:
    if not (listing_id.startswith("JX") and listing_id[2:].isdigit()):
        return None
    index = unpermute(int(listing_id[2:]), 3)
    if index >= len(cat) or "jingxuan" not in cat.shops_of(index):
        return None
    x = cat.listing("jingxuan", index)
    price, _, final = shown_prices(x, faults)
    coupon = f'<p class="coupon-price">券后价 {money_text(final)}</p>' if final else ""
    body = (
        f'<h1 class="title">{escape(x.title)}</h1><p class="shop">{escape(x.seller)}</p>'
        f'<p class="price">{money_text(price)}</p>{coupon}'
        f'<p class="stock">{"有货" if x.in_stock else "无货"}</p>'
        '<p><a href="/jingxuan/">返回</a></p>'
    )
    return gbk_page(x.title, body)


def woomart_product(cat: Catalogue, segment: str) -> Reply | None:
    tail = segment.rstrip("/").rsplit("-", 1)[-1]
    if not tail.isdigit() or int(tail) < 100:
        return None
    index = unpermute(int(tail) - 100, 2)
    if index >= len(cat) or "woomart" not in cat.shops_of(index):
        return None
    x = cat.listing("woomart", index)
    return html_page(
        x.title,
        f'<h1 class="product_title entry-title">{escape(x.title)}</h1>'
        f'<p class="price"><span class="woocommerce-Price-amount amount">{money_text(x.price)}</span></p>',
    )
