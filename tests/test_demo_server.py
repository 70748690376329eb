"""The demo server on a real 127.0.0.1 port: formats, pagination, truth consistency, faults."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import httpx
import lxml.html
import pytest

from demo.catalogue import generate_catalogue
from demo.faults import Faults, parse_fault
from demo.server import DemoServer

SIZE = 60


@pytest.fixture(scope="module")
def cat():
    return generate_catalogue(SIZE, 7)


@pytest.fixture(scope="module")
def server(cat):
    with DemoServer(cat) as srv:
        yield srv


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base_url, timeout=5) as c:
        yield c


def _yuan(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", text))


def crawl(c: httpx.Client) -> dict[tuple[str, str], Decimal]:
    """A minimal reference crawl of every shop: (shop, listing id) → shown price."""
    seen: dict[tuple[str, str], Decimal] = {}
    url: str | None = "/techmall/category/all"
    while url:
        page = lxml.html.fromstring(c.get(url).text)
        for href in page.xpath('//a[@class="product-link"]/@href'):
            ld = lxml.html.fromstring(c.get(href).text).xpath('//script[@type="application/ld+json"]/text()')
            data = json.loads(ld[0])
            seen["techmall", data["sku"]] = Decimal(data["offers"]["price"])
        url = next(iter(page.xpath('//a[@rel="next"]/@href')), None)
    for n in range(1, 100):
        products = c.get("/shopline/products.json", params={"limit": 7, "page": n}).json()["products"]
        if not products:
            break
        seen.update(
            (("shopline", str(v["id"])), Decimal(v["price"])) for p in products for v in p["variants"]
        )
    pages = int(
        c.get("/woomart/wp-json/wc/store/v1/products", params={"per_page": 9}).headers["X-WP-TotalPages"]
    )
    for n in range(1, pages + 1):
        for p in c.get("/woomart/wp-json/wc/store/v1/products", params={"per_page": 9, "page": n}).json():
            seen["woomart", str(p["id"])] = (
                Decimal(p["prices"]["price"]) / 10 ** p["prices"]["currency_minor_unit"]
            )
    n, more = 0, True
    while more:
        n += 1
        data = c.get("/jingxuan/api/items", params={"page": n}).json()
        seen.update((("jingxuan", it["id"]), _yuan(it["price"])) for it in data["items"])
        more = data["has_more"]
    for store in c.get("/shandian/api/stores").json()["stores"]:
        n, total = 0, 1
        while n < total:
            n += 1
            data = c.get(f"/shandian/api/stores/{store['id']}/products", params={"page": n, "size": 8}).json()
            total = data["total_pages"]
            seen.update(
                (("shandian", f"{it['id']}@{store['id']}"), Decimal(it["price"])) for it in data["items"]
            )
    seen.update(crawl_field_map_shops(c))
    return seen


def crawl_field_map_shops(c: httpx.Client) -> dict[tuple[str, str], Decimal]:
    seen: dict[tuple[str, str], Decimal] = {}
    n, total = 0, 1
    while n < total:
        n += 1
        page = lxml.html.fromstring(c.get("/nextmall/products", params={"page": n}).text)
        props = json.loads(page.xpath('//script[@id="__NEXT_DATA__"]/text()')[0])["props"]["pageProps"]
        total = props["pagination"]["totalPages"]
        seen.update((("nextmall", p["id"]), Decimal(p["price"]["amount"])) for p in props["products"])
    n, more = 0, True
    while more:
        n += 1
        data = c.get("/tanhuo/api/feed", params={"page": n}).json()["data"]
        seen.update((("tanhuo", it["itemId"]), _yuan(it["priceText"])) for it in data["list"])
        more = data["hasMore"]
    cursor: str | None = ""
    while cursor is not None:
        data = c.get("/kuaigou/api/v2/items", params={"cursor": cursor, "limit": 7}).json()["data"]
        seen.update((("kuaigou", it["skuId"]), Decimal(it["salePrice"]) / 100) for it in data["items"])
        cursor = data["next_cursor"]
    return seen


def test_tanhuo_details_and_shell(client, cat):
    shell = client.get("/tanhuo/").text
    assert "/tanhuo/api/feed" in shell and "data-item" not in shell.split("<script>")[0]
    item = client.get("/tanhuo/api/feed", params={"page": 1}).json()["data"]["list"][0]
    assert set(item) == {"itemId", "title", "shopName", "priceText", "couponText", "link"}
    detail = lxml.html.fromstring(client.get(item["link"]).text)
    assert detail.xpath("//h1/text()") == [item["title"]]
    assert detail.xpath('//*[@class="stock"]/text()')[0] in ("现货", "已售罄")
    assert client.get("/tanhuo/item/123").status_code == 404
    assert client.get("/kuaigou/api/v2/items", params={"limit": 0}).status_code == 400


def test_crawling_every_shop_finds_exactly_the_truth(client, server):
    seen = crawl(client)
    truth = {(r.marketplace, r.listing_id): r.price for r in server.truth_rows()}
    assert seen == truth
    assert {shop for shop, _ in seen} == set(server.catalogue.shops)
    assert server.requests["techmall"] > len(server.catalogue.shop_skus("techmall"))


def test_robots_and_sitemaps_lead_to_every_product(client, cat):
    robots = client.get("/robots.txt").text
    assert "Disallow: /techmall/cart" in robots
    sitemap = re.search(r"^Sitemap: (\S+)$", robots, re.M).group(1)
    assert sitemap.startswith("http://127.0.0.1:")
    children = re.findall(r"<loc>(.*?)</loc>", client.get(sitemap).text)
    urls = [u for child in children for u in re.findall(r"<loc>(.*?)</loc>", client.get(child).text)]
    assert len(urls) == len(set(urls)) == len(cat.shop_skus("techmall"))
    page = client.get(urls[0])
    assert (
        page.status_code == 200
        and "application/ld+json" in page.text
        and re.search(r"¥[\d,]+\.\d\d", page.text)
    )


def test_techmall_jsonld_carries_shipping_and_identifiers(client, cat):
    page = client.get("/techmall/category/all?page=1").text
    links = lxml.html.fromstring(page).xpath('//a[@class="product-link"]/@href')
    assert len(links) == 24
    gtins = mpns = 0
    for href in links:
        ld = json.loads(
            lxml.html.fromstring(client.get(href).text).xpath("//script[@type='application/ld+json']")[0].text
        )
        assert ld["@type"] == "Product" and ld["offers"]["priceCurrency"] == "CNY"
        rate = ld["offers"]["shippingDetails"]["shippingRate"]
        assert Decimal(rate["value"]) == (0 if Decimal(ld["offers"]["price"]) >= 99 else 10)
        gtins += "gtin13" in ld
        mpns += "mpn" in ld
    assert 0 < gtins < 24 and 0 < mpns < 24


def test_jingxuan_shell_is_gbk_and_has_no_items(client):
    r = client.get("/jingxuan/")
    assert r.headers["content-type"] == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    text = r.content.decode("gbk")
    assert '<meta charset="gbk">' in text and "精选商城" in text
    doc = lxml.html.fromstring(text)
    assert doc.xpath("//*[@data-offer]") == [] and doc.xpath('//*[@class="item"]') == []
    assert "¥" not in text and "/jingxuan/api/items" in text
    assert doc.xpath("//button[contains(@class, 'load-more')]/text()") == ["加载更多"]


def test_jingxuan_api_pages_end_and_show_display_prices(client, cat):
    first = client.get("/jingxuan/api/items?page=1").json()
    assert first["has_more"] and len(first["items"]) == 20
    item = first["items"][0]
    assert re.fullmatch(r"¥[\d,]+\.\d\d", item["price"]) and item["stock"] in ("有货", "无货")
    assert item["shipping"] == "包邮" or re.fullmatch(r"运费 ¥\d+\.\d\d", item["shipping"])
    last = client.get(f"/jingxuan/api/items?page={first['total_pages']}").json()
    assert not last["has_more"]
    assert client.get(f"/jingxuan/item/{item['id']}").headers["content-type"].endswith("gbk")


def test_shopify_groups_variants_and_paginates_to_an_empty_page(client):
    r = client.get("/shopline/products.json", params={"limit": 250})
    products = r.json()["products"]
    assert any(len(p["variants"]) > 1 for p in products)
    v = products[0]["variants"][0]
    assert isinstance(v["price"], str) and {"id", "title", "option1", "sku", "available", "barcode"} <= set(v)
    assert client.get("/shopline/products.json", params={"limit": 250, "page": 2}).json() == {"products": []}
    assert client.get("/shopline/products.json", params={"limit": 251}).status_code == 400


def test_woocommerce_headers_minor_units_and_page_limits(client, cat):
    r = client.get("/woomart/wp-json/wc/store/v1/products", params={"per_page": 100})
    total = len(cat.shop_skus("woomart"))
    assert r.headers["X-WP-Total"] == str(total) and r.headers["X-WP-TotalPages"] == "1"
    p = r.json()[0]
    assert p["prices"]["currency_minor_unit"] == 2 and p["prices"]["price"].isdigit()
    assert (
        isinstance(p["is_in_stock"], bool)
        and p["categories"]
        and p["permalink"].startswith("http://127.0.0.1")
    )
    assert (
        client.get("/woomart/wp-json/wc/store/v1/products", params={"page": 2, "per_page": 100}).json() == []
    )
    assert client.get("/woomart/wp-json/wc/store/v1/products", params={"per_page": 101}).status_code == 400


def test_shandian_stores_and_per_store_stock(client):
    stores = client.get("/shandian/api/stores").json()["stores"]
    assert len(stores) == 8 and {"id", "name", "distance_km", "delivery_minutes", "lat", "lng"} <= set(
        stores[0]
    )
    items = client.get(f"/shandian/api/stores/{stores[0]['id']}/products", params={"size": 100}).json()[
        "items"
    ]
    assert any(it["stock"] == 0 for it in items) and any(it["stock"] > 0 for it in items)
    assert client.get("/shandian/api/stores/999/products").status_code == 404


def test_unknown_paths_are_404(client):
    for path in ("/nope", "/techmall/product/TM0000000-x", "/shopline/other", "/jingxuan/item/JX9"):
        assert client.get(path).status_code == 404


def _serve(cat, faults):
    return DemoServer(cat, faults=faults)


def test_429_every_n_with_retry_after_and_request_counts(cat):
    with _serve(cat, {"shopline": Faults(status_429_every=3, retry_after=2)}) as srv:
        codes = [httpx.get(srv.base_url + "/shopline/products.json").status_code for _ in range(6)]
        assert codes == [200, 200, 429, 200, 200, 429]
        limited = [httpx.get(srv.base_url + "/shopline/products.json") for _ in range(3)][-1]
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
        assert httpx.get(srv.base_url + "/woomart/wp-json/wc/store/v1/products").status_code == 200
        assert srv.requests["shopline"] == 9 and srv.injected["shopline:429"] == 3


def test_5xx_truncate_and_reset(cat):
    faults = {
        "techmall": Faults(status_5xx_rate=1.0),
        "woomart": Faults(truncate_rate=1.0),
        "shandian": Faults(reset_rate=1.0),
    }
    with _serve(cat, faults) as srv:
        assert httpx.get(srv.base_url + "/techmall/category/all").status_code in (500, 502, 503)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(srv.base_url + "/woomart/wp-json/wc/store/v1/products")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(srv.base_url + "/shandian/api/stores")
        assert httpx.get(srv.base_url + "/shopline/products.json").status_code == 200


def test_changed_markup_drops_jsonld_and_renames_classes(cat):
    with _serve(cat, Faults(changed_markup=True)) as srv:
        listing = lxml.html.fromstring(httpx.get(srv.base_url + "/techmall/category/all").text)
        page = httpx.get(srv.base_url + listing.xpath('//a[@class="product-link"]/@href')[0]).text
        assert "ld+json" not in page and 'class="price"' not in page and "pdp-amount" in page
        assert '"goods-card"' in httpx.get(srv.base_url + "/jingxuan/").content.decode("gbk")


def test_absurd_prices_are_served_and_left_out_of_the_truth(cat):
    with _serve(cat, {"shopline": Faults(absurd_prices=True)}) as srv:
        products = httpx.get(srv.base_url + "/shopline/products.json?limit=250").json()["products"]
        prices = {str(v["id"]): Decimal(v["price"]) for p in products for v in p["variants"]}
        bad = {i for i, p in prices.items() if p <= 0 or p >= Decimal("1e12")}
        assert bad
        truth_ids = {r.listing_id for r in srv.truth_rows() if r.marketplace == "shopline"}
        assert truth_ids == set(prices) - bad


def test_duplicates_and_pagination_loop(cat):
    with _serve(cat, Faults(duplicate_listings=True, pagination_loop=True)) as srv:
        pages = [httpx.get(srv.base_url + "/jingxuan/api/items", params={"page": n}).json() for n in (1, 2)]
        ids = [it["id"] for p in pages for it in p["items"]]
        assert len(ids) == len(set(ids)) + 2
        total = pages[0]["total_pages"]
        beyond = httpx.get(srv.base_url + "/jingxuan/api/items", params={"page": total + 1}).json()
        assert beyond["has_more"] and beyond["items"] == pages[0]["items"]
        last_page = -(-len(cat.shop_skus("techmall")) // 24)
        last = httpx.get(srv.base_url + f"/techmall/category/all?page={last_page}").text
        assert 'rel="next" href="/techmall/category/all?page=1"' in last
        shop = httpx.get(srv.base_url + "/shopline/products.json", params={"limit": 250, "page": 2}).json()
        assert shop["products"]


def test_fault_switches_parse_from_cli_syntax():
    plan = parse_fault("techmall:status_429_every=5")
    plan = parse_fault("all:slow_ms=20", plan)
    plan = parse_fault("jingxuan:changed_markup", plan)
    assert plan["techmall"] == Faults(status_429_every=5, slow_ms=20)
    assert plan["jingxuan"].changed_markup and plan["woomart"].slow_ms == 20
    for bad in ("techmall", "nowhere:slow_ms=1", "techmall:bogus=1", "techmall:slow_ms=x"):
        with pytest.raises(ValueError):
            parse_fault(bad)
