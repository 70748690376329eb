"""The API's endpoints and parameter handling, in process (FastAPI's TestClient) over a published snapshot."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.snapshots import publish
from tests.test_api_data import published_snapshots


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_snapshots(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(snaps: Path) -> TestClient:
    with TestClient(create_app(snaps, check_interval=0)) as c:
        yield c


def ids(response) -> list[str]:
    return [item["product_id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("苹果", ["p_iphone15pro"]),
        ("iphone 15 pro", ["p_iphone15pro"]),
        ("IPHONE 256g", ["p_iphone15pro"]),
        ("ｉｐｈｏｎｅ", ["p_iphone15pro"]),
        ("华为", ["p_mate60"]),
        ("huawei mate", ["p_mate60"]),
        ("降噪耳机", ["p_xm5"]),
        ("sony wh 1000xm5", ["p_xm5"]),
        ("黑", ["p_iphone15pro", "p_xm5"]),
        ("苹果 索尼", []),
        ("nothing-like-this", []),
    ],
)
def test_search_finds_products_by_chinese_or_english_titles(
    client: TestClient, q: str, expected: list
) -> None:
    response = client.get("/api/v1/products", params={"q": q})
    assert response.status_code == 200, response.text
    assert sorted(ids(response)) == expected and response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "6900165432095"}, ["p_mate60"]),  # EAN-13
        ({"q": "6900 1654 32095"}, ["p_mate60"]),
        ({"q": "690016543209"}, ["p_mate60"]),  # the check digit left off
        ({"q": "0194253432098"}, ["p_iphone15pro"]),  # the EAN-13 of the stored UPC-A
        ({"q": "194253432098"}, ["p_iphone15pro"]),
        ({"gtin": "00194253432098"}, ["p_iphone15pro"]),  # GTIN-14
        ({"gtin": "6900165432096"}, []),  # a wrong check digit is not "the code without one"
        ({"q": "wh1000xm5/b"}, ["p_xm5"]),  # model number: case, slashes, dashes, spaces folded
        ({"q": "WH-1000XM5"}, ["p_xm5"]),
        ({"q": "wh 1000 xm5"}, ["p_xm5"]),
        ({"q": "huawei"}, ["p_mate60"]),  # brand aliases both ways
        ({"q": "华为 mate"}, ["p_mate60"]),
        ({"q": "华为手机"}, ["p_mate60"]),
        ({"q": "sony 耳机"}, ["p_xm5"]),
        ({"brand": "苹果"}, ["p_iphone15pro"]),
        ({"brand": "华为"}, ["p_mate60"]),
        ({"category": "手机"}, ["p_iphone15pro", "p_mate60"]),  # category in either language
        ({"category": "phone"}, ["p_iphone15pro", "p_mate60"]),
        ({"category": "配件"}, [f"p_cable{i:02d}" for i in range(30)]),
    ],
)
def test_search_by_codes_aliases_and_categories(client: TestClient, params: dict, expected: list) -> None:
    body = client.get("/api/v1/products", params={**params, "limit": 100}).json()
    assert sorted(i["product_id"] for i in body["items"]) == expected and body["count"] == len(expected)


def test_search_ranks_by_relevance_and_counts_all_pages(client: TestClient) -> None:
    body = client.get("/api/v1/products", params={"q": "anker 数据线", "limit": 5}).json()
    assert body["count"] == 30 and len(body["items"]) == 5 and body["sort"] == "relevance"
    # the phone whose every offer says 黑/Black ranks above the headphones that say it twice of three
    assert ids(client.get("/api/v1/products", params={"q": "black"}))[0] == "p_iphone15pro"
    assert ids(client.get("/api/v1/products", params={"q": "iphone 15"}))[0] == "p_iphone15pro"


def test_search_sorted_by_saving(client: TestClient) -> None:
    body = client.get("/api/v1/products", params={"sort": "saving", "limit": 3}).json()
    savings = [float(i["saving"]) for i in body["items"]]
    assert savings == sorted(savings, reverse=True) and savings[0] == 300.0


def test_search_filters_and_cursor_pagination(client: TestClient) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        params = {"brand": "ANKER", "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/products", params=params).json()
        seen += [i["product_id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5 and len(seen) == 30 == len(set(seen)) and seen == sorted(seen)
    assert ids(client.get("/api/v1/products", params={"category": "audio"})) == ["p_xm5"]
    assert ids(client.get("/api/v1/products", params={"q": "cable", "category": "phones"})) == []


def test_search_sorted_by_price_pages_in_price_order(client: TestClient) -> None:
    prices, cursor = [], None
    while True:
        body = client.get(
            "/api/v1/products",
            params={"sort": "price", "limit": 10, **({"cursor": cursor} if cursor else {})},
        ).json()
        prices += [float(i["lowest_price"]) for i in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert len(prices) == 33 and prices == sorted(prices)


def test_search_csv(client: TestClient) -> None:
    response = client.get("/api/v1/products", params={"q": "iphone"}, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["product_id"] == "p_iphone15pro" and rows[0]["lowest_price"] == "5799.00"
    assert rows[0]["currency"] == "CNY" and rows[0]["real_discount"] in ("true", "false")


def test_csv_pages_with_the_same_cursor_as_json(client: TestClient) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        params = {
            "category": "accessories",
            "limit": 8,
            "format": "csv",
            **({"cursor": cursor} if cursor else {}),
        }
        response = client.get("/api/v1/products", params=params)
        seen += [r["product_id"] for r in csv.DictReader(io.StringIO(response.text))]
        pages += 1
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
        assert 'rel="next"' in response.headers["link"] and "cursor=" in response.headers["link"]
        json_page = client.get("/api/v1/products", params={**params, "format": "json", "cursor": cursor})
        assert json_page.status_code == 200  # a CSV cursor continues a JSON listing too
    assert pages == 4 and seen == [f"p_cable{i:02d}" for i in range(30)]


def test_product_offers_ranked_by_landed_price_available_first(client: TestClient) -> None:
    body = client.get("/api/v1/products/p_iphone15pro").json()
    assert body["product"]["lowest_price"] == "5799.00" and body["product"]["saving"] == "300.00"
    assert [(o["marketplace"], o["landed_price"]) for o in body["offers"]] == [
        ("jingxuan", "5799.00"),
        ("shopline", "5919.00"),
        ("techmall", "6099.00"),
    ]
    mate = client.get("/api/v1/products/p_mate60").json()["offers"]
    assert [o["in_stock"] for o in mate] == [True, False]  # cheaper but out of stock goes last
    assert mate[0]["url"] is None  # a javascript: URL never leaves the snapshot
    assert body["product"]["image"] == "http://127.0.0.1:9/ip15.png"
    xm5 = client.get("/api/v1/products/p_xm5").json()
    assert xm5["product"]["offers_apart"] == 1 and xm5["offers"][-1]["currency"] == "USD"
    assert (xm5["offers"][-1]["comparable"], xm5["offers"][-1]["price"]) == (False, "329.00")
    table = client.get("/api/v1/products/p_mate60", params={"format": "csv"}).text.splitlines()
    assert table[0].startswith("rank,marketplace,listing_id") and len(table) == 3


def test_compare(client: TestClient) -> None:
    body = client.get("/api/v1/compare", params={"ids": "p_xm5,p_iphone15pro,p_gone"}).json()
    assert [p["product_id"] for p in body["products"]] == ["p_xm5", "p_iphone15pro"]
    assert body["missing"] == ["p_gone"]
    assert [b["marketplace"] for b in body["products"][1]["best_per_marketplace"]] == [
        "jingxuan",
        "shopline",
        "techmall",
    ]
    # the USD offer has no rate into CNY: listed last, not comparable, never the lowest
    usd = body["products"][0]["best_per_marketplace"][-1]
    assert (usd["marketplace"], usd["comparable"], usd["is_lowest"], usd["display_price"]) == (
        "usmart",
        False,
        False,
        None,
    )
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/api/v1/compare", params=[("ids", "p_xm5"), ("ids", "p_mate60"), ("format", "csv")]
                ).text
            )
        )
    )
    assert [(r["product_id"], r["is_lowest"]) for r in rows] == [
        ("p_xm5", "true"),
        ("p_xm5", "false"),
        ("p_xm5", "false"),
        ("p_mate60", "true"),
        ("p_mate60", "false"),
    ]


def test_history_daily_lows_series_and_reference_price(client: TestClient) -> None:
    body = client.get("/api/v1/products/p_iphone15pro/history").json()
    assert [d["low"] for d in body["days"]] == [
        "5999.00",
        "5899.00",
        "5799.00",
    ]  # 券后价: the reference's measure
    assert [s["marketplace"] for s in body["series"]] == ["jingxuan", "shopline", "techmall"]
    assert [d["low"] for d in body["series"][2]["days"]] == ["6299.00", "6199.00", "6099.00"]
    # fell 100 a day for three days: the reference is the day before today's price (5899), a real discount
    assert (body["price_now"], body["reference_price"], body["real_discount"]) == ("5799.00", "5899.00", True)
    assert body["low_all_time"] == "5799.00"
    assert len(client.get("/api/v1/products/p_iphone15pro/history", params={"days": 1}).json()["days"]) == 1
    offer = client.get(
        "/api/v1/offers/history", params={"marketplace": "techmall", "listing_id": "TM-IP15P-256-BK"}
    ).json()
    assert offer["product_id"] == "p_iphone15pro" and offer["low_all_time"] == "6099.00"
    assert (offer["reference_price"], offer["real_discount"]) == ("6199.00", True)
    assert [d["high"] for d in offer["days"]] == ["6299.00", "6199.00", "6099.00"]
    cables = client.get("/api/v1/products/p_cable00/history").json()  # the same price three days running
    assert (cables["reference_price"], cables["real_discount"]) == (None, False)


def test_marketplaces_and_health(client: TestClient) -> None:
    markets = client.get("/api/v1/marketplaces").json()["marketplaces"]
    assert [m["marketplace"] for m in markets] == ["jingxuan", "shopline", "techmall", "usmart"]
    assert all(m["shipping_fill_rate"] == 1.0 for m in markets)
    assert all(m["last_success"] and m["last_attempt_status"] == "finished" for m in markets)
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["snapshot"]["products"] == 33


def test_etag_and_last_modified(client: TestClient) -> None:
    first = client.get("/api/v1/products/p_xm5")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag == f'"{first.json()["snapshot"]}"'
    assert client.get("/api/v1/products/p_xm5", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/api/v1/products/p_xm5", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/api/v1/marketplaces", headers={"If-Modified-Since": modified}).status_code == 304
    as_csv = client.get("/api/v1/products/p_xm5", params={"format": "csv"}, headers={"If-None-Match": etag})
    assert as_csv.status_code == 200 and as_csv.headers["etag"] != etag


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/v1/products?limit=1000", 422, "limit"),
        ("/api/v1/products?limit=0", 422, "limit"),
        ("/api/v1/products?q=" + "x" * 101, 422, "q (query)"),
        ("/api/v1/products?sort=cheap", 422, "sort"),
        ("/api/v1/products?format=xml", 422, "format"),
        ("/api/v1/products?cursor=!!!", 400, "cursor"),
        ("/api/v1/products?cursor=WyJpZCIsInMiLDEsInBfMSIsbnVsbF0&sort=price", 400, "sorted by 'id'"),
        ("/api/v1/products/p_nope", 404, "p_nope"),
        ("/api/v1/products/p_nope/history", 404, "p_nope"),
        ("/api/v1/offers/history?marketplace=techmall&listing_id=nope", 404, "techmall/nope"),
        ("/api/v1/offers/history?marketplace=techmall", 422, "listing_id"),
        ("/api/v1/products/p_xm5/history?days=0", 422, "days"),
        ("/api/v1/compare", 422, "ids"),
        ("/api/v1/compare?ids=" + ",".join(f"p{i}" for i in range(51)), 422, "at most 50"),
        ("/api/v1/compare?ids=a,b", 404, "none of the products"),
        ("/api/v1/nothing", 404, "no such endpoint"),
    ],
)
def test_every_error_has_one_shape(client: TestClient, url: str, status: int, words: str) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"code", "message"} and words in error["message"]


def test_wrong_method_and_sql_looking_input(client: TestClient) -> None:
    response = client.post("/api/v1/products")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    sneaky = client.get(
        "/api/v1/products", params={"q": "'; DROP TABLE api_products; --", "brand": "x' OR 1=1"}
    )
    assert sneaky.status_code == 200 and sneaky.json()["items"] == []
    assert client.get("/api/v1/products/p_xm5").status_code == 200


def test_no_snapshot_is_503_in_the_error_shape(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "empty")) as c:
        response = c.get("/api/v1/health")
    assert response.status_code == 503 and response.json()["error"]["code"] == "no_snapshot"


def test_docs_are_served_locally_with_response_schemas(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/v1/products"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/SearchResponse")
    assert "reference_price" in spec["components"]["schemas"]["ProductSummary"]["properties"]
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "cdn" not in html.lower() and "<script>" not in html  # no CDN, no inline script
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset


def test_gzip_cors_and_head(snaps: Path) -> None:
    with TestClient(create_app(snaps, check_interval=0, cors_origins=["https://shop.example"])) as c:
        big = c.get("/api/v1/products", params={"limit": 50}, headers={"Accept-Encoding": "gzip"})
        assert big.headers["content-encoding"] == "gzip" and len(big.json()["items"]) == 33
        cors = c.get("/api/v1/health", headers={"Origin": "https://shop.example"})
        assert cors.headers["access-control-allow-origin"] == "https://shop.example"
        other = c.get("/api/v1/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        for path in ("/", "/api/v1/products/p_xm5", "/api/v1/marketplaces", "/static/app.js"):
            head, get = c.head(path), c.get(path)
            assert head.status_code == 200 and head.content == b"", path
            assert head.headers["content-type"] == get.headers["content-type"]
        assert c.head("/api/v1/products/p_nope").status_code == 404
    with TestClient(create_app(snaps, check_interval=0)) as c:  # CORS is off unless configured
        assert (
            "access-control-allow-origin"
            not in c.get("/api/v1/health", headers={"Origin": "https://x.example"}).headers
        )


def test_docs_and_page(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/compare",
        "/api/v1/health",
        "/api/v1/products/{product_id}/history",
        "/api/v1/offers/history",
        "/api/v1/marketplaces",
    } <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
    page = client.get("/").text
    assert (
        'id="chart"' in page
        and "<script>" not in page
        and "<style>" not in page
        and " on" + "click" not in page
    )


@pytest.mark.parametrize("sort", ["id", "price"])
def test_a_cursor_survives_a_new_snapshot(client: TestClient, snaps: Path, sort: str) -> None:
    first = client.get("/api/v1/products", params={"sort": sort, "limit": 10}).json()
    publish(snaps.parent / "working.duckdb", snaps)  # the next page is read from another snapshot
    seen, cursor = [i["product_id"] for i in first["items"]], first["next_cursor"]
    while cursor:
        body = client.get("/api/v1/products", params={"sort": sort, "limit": 10, "cursor": cursor}).json()
        assert body["snapshot"] != first["snapshot"]
        seen += [i["product_id"] for i in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == 33 == len(set(seen))
