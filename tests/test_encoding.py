"""Chinese product pages in UTF-8, GBK, GB18030 and Big5 (and Japanese ones in EUC-JP and Shift_JIS, and
UTF-16 pages without a byte order mark) — declared in the HTTP header, in
``<meta charset>``, in ``<meta http-equiv>``, or not at all — decode to the text a person reads: through
the jsonld spider's parse path (HtmlResponse, no network) and through a real crawl on 127.0.0.1."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from core.encoding import choose_encoding, detect_encoding, to_text
from crawler.config import Marketplace
from crawler.middlewares import EncodingMiddleware
from spiders.pages.jsonld import extract_offers
from tests.test_spiders import call, make_spider, split
from tests.test_spiders_localsite import LocalSite, crawl

SIMPLIFIED = {
    "title": "华为 Mate 60 Pro 12GB+512GB 雅川青 官方旗舰店正品",
    "seller": "华为官方旗舰店",
    "price": "6999.00",
    "sku": "HW-M60P",
    "note": "由华为官方旗舰店发货，现货，支持七天无理由退货。",
}
TRADITIONAL = {
    "title": "華碩 ROG 電競筆電 16吋 黑色 台灣公司貨",
    "seller": "華碩官方旗艦店",
    "price": "45900",
    "sku": "ASUS-ROG16",
    "note": "由華碩官方旗艦店出貨，現貨供應，享七天鑑賞期。",
}
GB18030_ONLY = {
    "title": "𠮷野家 牛肉饭 大碗 㐀 外卖套餐",
    "seller": "吉野家外卖",
    "price": "32.5",
    "sku": "YSY-1",
    "note": "下单后三十分钟送达。",
}
SHORT = {"title": "茶杯", "seller": "店", "price": "9", "sku": "C1", "note": ""}
CASES = [  # (page, encoding)
    (SIMPLIFIED, "utf-8"),
    (SIMPLIFIED, "gbk"),
    (SIMPLIFIED, "gb18030"),
    (GB18030_ONLY, "gb18030"),
    (TRADITIONAL, "big5"),
    (TRADITIONAL, "utf-8"),
    (SHORT, "gbk"),
    (SHORT, "big5"),
]
DECLARATIONS = ["header", "meta", "http-equiv", "none"]
M_JP = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:8765/shop/")


def page(product: dict[str, str], encoding: str, declared: str) -> tuple[bytes, str]:
    """(body, Content-Type) of a Chinese product page in ``encoding``, declared as said."""
    meta = {
        "meta": f'<meta charset="{encoding}">',
        "http-equiv": f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">',
    }.get(declared, "")
    html = f"""<!DOCTYPE html><html lang="zh"><head>{meta}<title>{product["title"]} - 商城</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product",
 "name": "{product["title"]}", "sku": "{product["sku"]}", "offers": {{"@type": "Offer",
 "price": "{product["price"]}", "priceCurrency": "CNY", "availability": "https://schema.org/InStock",
 "seller": {{"@type": "Organization", "name": "{product["seller"]}"}}}}}}</script>
</head><body><h1>{product["title"]}</h1><p>{product["price"]} 元</p><p>{product["note"]}</p></body></html>"""
    content_type = f"text/html; charset={encoding}" if declared == "header" else "text/html"
    return html.encode(encoding), content_type


@pytest.mark.parametrize("declared", DECLARATIONS)
@pytest.mark.parametrize(("product", "encoding"), CASES, ids=[f"{p['sku']}-{e}" for p, e in CASES])
def test_jsonld_spider_reads_chinese_pages(product: dict[str, str], encoding: str, declared: str) -> None:
    body, content_type = page(product, encoding, declared)
    spider = make_spider("jsonld")
    request = Request("http://127.0.0.1:8765/shop/p/1", callback=spider.parse_product)
    response = HtmlResponse(request.url, body=body, headers={"Content-Type": content_type}, request=request)
    [offer], _ = split(call(request, response))
    assert (offer.title, offer.seller, offer.price) == (
        product["title"],
        product["seller"],
        Decimal(product["price"]),
    )


@pytest.mark.parametrize(("product", "encoding"), CASES, ids=[f"{p['sku']}-{e}" for p, e in CASES])
def test_undeclared_bytes_are_detected(product: dict[str, str], encoding: str) -> None:
    body, _ = page(product, encoding, "none")
    assert product["title"] in to_text(body)
    expected = {"gbk": "gb18030", "big5": "big5hkscs"}.get(encoding, encoding)
    assert detect_encoding(body) == expected


def test_a_declared_utf8_that_the_bytes_are_not_is_ignored() -> None:
    body, _ = page(SIMPLIFIED, "gbk", "meta")  # the server says UTF-8, the page (rightly) GBK
    assert choose_encoding(body, "text/html; charset=utf-8") == "gb18030"
    body, _ = page(SIMPLIFIED, "gbk", "none")
    assert choose_encoding(body, "text/html; charset=UTF-8") == "gb18030"
    utf8, _ = page(SIMPLIFIED, "utf-8", "none")
    assert choose_encoding(utf8, "text/html; charset=utf-8") == "utf-8"
    assert choose_encoding(b"\xef\xbb\xbf<p>x</p>", "text/html; charset=gbk") == "utf-8"  # a BOM wins


def test_western_undeclared_page_reads_as_windows_1252() -> None:
    body = "<html><body><h1>Café crème – très bon</h1></body></html>".encode("cp1252")
    assert "Café crème – très bon" in to_text(body)


def test_middleware_replaces_only_guessed_encodings() -> None:
    crawler = get_crawler()
    crawler.stats.open_spider()
    mw = EncodingMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.1/p")
    body, _ = page(SHORT, "big5", "none")
    guessed = HtmlResponse(request.url, body=body, request=request)
    fixed = mw.process_response(request, guessed)
    assert fixed.encoding == "big5hkscs" and SHORT["title"] in fixed.text
    assert crawler.stats.get_value("bijia/encoding/big5hkscs") == 1
    declared = HtmlResponse(request.url, body=page(SHORT, "gbk", "meta")[0], request=request)
    assert mw.process_response(request, declared) is declared


def test_crawl_of_a_local_shop_in_four_encodings(tmp_path: Path) -> None:
    with LocalSite() as site:
        site.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        links = []
        for n, (product, encoding) in enumerate(CASES):
            declared = DECLARATIONS[n % len(DECLARATIONS)]
            body, content_type = page(product, encoding, declared)
            site.add(f"/p/{n}", body, content_type)
            links.append(f'<a class="product-link" href="/p/{n}">{n}</a>')
        site.add("/category", "<html><body>" + "".join(links) + "</body></html>")
        config = tmp_path / "shops.toml"
        config.write_text(
            f'[[marketplace]]\nname = "zh"\nshape = "jsonld"\nbase_url = "{site.url}/"\n'
            f'start_urls = ["{site.url}/category"]\n',
            encoding="utf-8",
        )
        result, offers = crawl(config, tmp_path / "x.duckdb")
    assert result.returncode == 0, result.stderr
    got = {(o["title"], o["seller"], o["price"]) for o in offers}
    assert got == {(p["title"], p["seller"], Decimal(p["price"])) for p, _ in CASES}


JAPANESE = {
    "title": "ソニー ワイヤレスノイズキャンセリングヘッドホン WH-1000XM5 ブラック",
    "seller": "ソニーストア",
    "price": "49500",
    "sku": "WH1000XM5-B",
    "note": "在庫あり。ご注文から二日以内にお届けします。送料は無料です。",
}


@pytest.mark.parametrize("encoding", ["euc_jp", "shift_jis", "cp932"])
@pytest.mark.parametrize("declared", ["none", "meta"])
def test_japanese_pages_without_a_declaration_read_right(encoding: str, declared: str) -> None:
    html = (
        page(JAPANESE, "utf-8", declared)[0]
        .decode()
        .replace("utf-8", encoding)
        .replace('lang="zh"', 'lang="ja"')
    )
    body = html.encode(encoding)
    assert to_text(body) == html
    [offer] = extract_offers(body, "http://127.0.0.1:8765/shop/p/1", M_JP)
    assert (offer.title, offer.seller, offer.price, offer.currency) == (
        JAPANESE["title"],
        JAPANESE["seller"],
        Decimal(JAPANESE["price"]),
        "CNY",  # what the markup says; the page's own words are not asked here
    )


def test_chinese_pages_are_not_taken_for_japanese() -> None:
    for product, encoding in CASES:
        body, _ = page(product, encoding, "none")
        assert detect_encoding(body) not in ("euc_jp", "cp932", "shift_jis"), (product["sku"], encoding)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("product", [SIMPLIFIED, JAPANESE], ids=["zh", "ja"])
def test_utf16_pages_without_a_bom_read_right(encoding: str, product: dict[str, str]) -> None:
    html = page(product, "utf-8", "none")[0].decode()
    body = html.encode(encoding)  # Python writes no BOM for an explicit byte order
    assert not body.startswith((b"\xff\xfe", b"\xfe\xff"))
    assert choose_encoding(body) == encoding and to_text(body) == html
    assert choose_encoding(body, "text/html; charset=utf-8") == encoding  # NULs are not UTF-8 text
    [offer] = extract_offers(body, "http://127.0.0.1:8765/shop/p/1", M_JP)
    assert offer.title == product["title"]
