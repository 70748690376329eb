"""`bijia marketplaces add | list | check` against the demo marketplaces and small shops on 127.0.0.1."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from crawler.config import ConfigError, load_marketplaces
from demo.catalogue import generate_catalogue
from demo.server import DemoServer
from service.marketplaces import add_marketplace, marketplace_block, suggest_name
from tests.test_spiders_localsite import LocalSite

runner = CliRunner()


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    with DemoServer(generate_catalogue(20, 1), port=0) as server:
        yield server.base_url


def bijia(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_add_probes_each_shape_then_list_and_check(demo: str, tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    config.write_text("# my shops\n[run]\ngone_after_runs = 2\n", encoding="utf-8")
    for shop, shape in [
        ("techmall", "jsonld"),
        ("shopline", "shopify"),
        ("woomart", "woocommerce"),
        ("shandian", "instant"),
    ]:
        code, out, err = bijia(
            "marketplaces", "add", f"{demo}/{shop}/", "-c", str(config), "-f", "json", "--no-preview"
        )
        assert code == 0, err
        [added] = json.loads(out)
        assert (added["name"], added["shape"], added["written"]) == (shop, shape, True)
    assert load_marketplaces(config)[0].sitemap_urls == [f"{demo}/techmall/sitemap.xml"]  # from robots.txt
    code, _, err = bijia(
        "marketplaces", "add", f"{demo}/jingxuan/", "-c", str(config), "--shape", "browser", "--no-preview"
    )
    assert code == 0, err
    assert config.read_text().startswith("# my shops") and "gone_after_runs = 2" in config.read_text()

    code, out, _ = bijia("marketplaces", "list", "-c", str(config), "-f", "json")
    assert code == 0
    assert [(r["name"], r["shape"], r["discovery"]) for r in json.loads(out)] == [
        ("techmall", "jsonld", "sitemaps"),
        ("shopline", "shopify", "base_url"),
        ("woomart", "woocommerce", "base_url"),
        ("shandian", "instant", "base_url"),
        ("jingxuan", "browser", "base_url"),
    ]


@pytest.mark.slow
def test_add_proposes_a_field_map_from_embedded_json_and_previews_it(demo: str, tmp_path: Path) -> None:
    """A Next.js page: no standard shape fits; the proposal reads __NEXT_DATA__, the preview crawls it."""
    config = tmp_path / "shops.toml"
    code, out, err = bijia("marketplaces", "add", f"{demo}/nextmall/products", "-c", str(config), "--dry-run")
    assert code == 0, err
    assert not config.exists()  # --dry-run writes nothing
    assert 'script = "#__NEXT_DATA__"' in out and 'items = "props.pageProps.products"' in out
    assert "Preview: first offers of nextmall" in out and "fill: title 100%  price 100%" in out
    code, out, err = bijia(
        "marketplaces", "add", f"{demo}/nextmall/products", "-c", str(config), "-f", "json"
    )
    assert code == 0, err
    [added] = json.loads(out)
    assert added["shape"] == "fieldmap" and added["map"]["fields"]["price"] == "price.amount"
    preview = added["preview"]
    truth = {
        r.listing_id: r.price for r in generate_catalogue(20, 1).truth_rows() if r.marketplace == "nextmall"
    }
    assert len(preview["offers"]) == min(10, len(truth)) and preview["fill"]["title"] == 1.0
    assert preview["fill"]["price"] == 1.0
    assert all(Decimal(o["price"]) == truth[o["listing_id"]] for o in preview["offers"])
    text = config.read_text()
    assert "[marketplace.map.fields]" in text and "# " in text.split("[marketplace.map.fields]")[1]
    [market] = load_marketplaces(config)
    assert market.map is not None and market.map.pagination is not None


@pytest.mark.slow
def test_add_proposes_a_map_for_a_json_api_with_a_cursor(demo: str, tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    code, out, err = bijia(
        "marketplaces", "add", f"{demo}/kuaigou/api/v2/items?limit=5", "-c", str(config), "-f", "json"
    )
    assert code == 0, err
    [added] = json.loads(out)
    fields = added["map"]["fields"]
    assert (added["map"]["items"], fields["title"], fields["listing_id"]) == ("data.items", "name", "skuId")
    assert added["map"]["pagination"] == {
        "kind": "cursor",
        "cursor": "data.next_cursor",
        "max_pages": 50,
        "wait_ms": 3000,
    }
    assert added["base_url"] == f"{demo}/kuaigou/api/v2/"
    assert len(added["preview"]["offers"]) == 5


@pytest.mark.slow
def test_check_crawls_like_crawl_and_reports_fill_rates(demo: str, tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    config.write_text(
        "".join(
            f'[[marketplace]]\nname = "{n}"\nshape = "{s}"\nbase_url = "{demo}/{n}/"\n\n'
            for n, s in (("shopline", "shopify"), ("woomart", "woocommerce"), ("shandian", "instant"))
        ),
        encoding="utf-8",
    )
    code, out, err = bijia(
        "marketplaces", "check", "-c", str(config), "-f", "json", "--db", str(tmp_path / "none")
    )
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert {n: r["status"] for n, r in rows.items()} == {"shopline": "ok", "woomart": "ok", "shandian": "ok"}
    for row in rows.values():
        assert row["usable"] >= 1 and row["fill"]["title"] == row["fill"]["price"] == 1.0
        assert row["fill"]["shipping"] == 1.0 if row["name"] == "shandian" else True
        assert row["currency"] == "CNY" and Decimal(row["price"]) > 0
    assert rows["shandian"]["shipping"] == "100%" and rows["woomart"]["fill"]["gtin"] == 0.0
    code, out, _ = bijia("marketplaces", "check", "shopline", "-c", str(config), "-f", "csv")
    assert code == 0 and out.splitlines()[0].startswith("name,shape,status") and len(out.splitlines()) == 2


def test_check_warns_on_layout_drift_against_the_last_run(demo: str, tmp_path: Path) -> None:
    """The database says the last run had a GTIN on most offers; a sample with none is drift."""
    from core.offer import Offer
    from storage import connect
    from storage.offers import commit_run, stage_offers, start_run

    db = tmp_path / "bijia.duckdb"
    con = connect(db)
    offers = [
        Offer(
            "woomart",
            str(n),
            f"http://x/{n}",
            f"t{n}",
            gtin="6901234567892",
            price=Decimal(1),
            currency="CNY",
        )
        for n in range(4)
    ]
    start_run(con, "r1", "crawl", ["woomart"])
    stage_offers(con, "r1", offers)
    commit_run(con, "r1", ["woomart"], "finished", {})
    con.close()
    config = tmp_path / "shops.toml"
    config.write_text(
        f'[[marketplace]]\nname = "woomart"\nshape = "woocommerce"\nbase_url = "{demo}/woomart/"\n'
    )
    code, out, _ = bijia("marketplaces", "check", "-c", str(config), "-f", "json", "--db", str(db))
    [row] = json.loads(out)
    assert code == 0 and any("gtin fell from 100% to 0%" in w and "drift" in w for w in row["warnings"])
    assert not any(w.startswith("title fell") for w in row["warnings"])


@pytest.mark.slow
def test_check_fails_with_a_reason_and_exit_code(demo: str, tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    config.write_text(
        f'[[marketplace]]\nname = "good"\nshape = "shopify"\nbase_url = "{demo}/shopline/"\n\n'
        f'[[marketplace]]\nname = "gone"\nshape = "woocommerce"\nbase_url = "{demo}/nothing-here/"\n',
        encoding="utf-8",
    )
    code, out, err = bijia("marketplaces", "check", "-c", str(config), "-f", "json")
    assert code == 3 and "failed: gone" in err
    gone = next(r for r in json.loads(out) if r["name"] == "gone")
    assert gone["status"] == "failed" and any("HTTP 404" in w for w in gone["warnings"])
    code, _, _ = bijia("marketplaces", "check", "gone", "-c", str(config))
    assert code == 4
    code, _, err = bijia("marketplaces", "check", "nope", "-c", str(config))
    assert code == 78 and "unknown marketplace" in err


def test_check_obeys_robots_and_reports_dropped_offers(tmp_path: Path) -> None:
    with LocalSite() as site:
        site.add("/robots.txt", "User-agent: *\nDisallow: /secret/\n", "text/plain")
        site.add(
            "/shop/products.json?limit=250&page=1",
            json.dumps(
                {
                    "products": [
                        {
                            "id": 1,
                            "title": "Kettle",
                            "variants": [
                                {"id": 11, "title": "Default Title", "price": "99.00"},
                                {"id": 12, "title": "Big", "price": None},
                            ],
                        }
                    ]
                }
            ),
            "application/json",
        )
        config = tmp_path / "shops.toml"
        config.write_text(
            f'[[marketplace]]\nname = "shop"\nshape = "shopify"\nbase_url = "{site.url}/shop/"\n\n'
            f'[[marketplace]]\nname = "secret"\nshape = "shopify"\nbase_url = "{site.url}/secret/"\n',
            encoding="utf-8",
        )
        code, out, _ = bijia("marketplaces", "check", "-c", str(config), "-f", "json")
        assert not any(p.startswith("/secret/") for p in site.paths())
        assert all(h.headers["user-agent"].startswith("bijia/") for h in site.hits)
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 3
    assert (rows["shop"]["status"], rows["shop"]["offers"], rows["shop"]["usable"]) == ("ok", 2, 1)
    assert "1 offer(s) without a price (dropped)" in rows["shop"]["warnings"]
    assert rows["secret"]["status"] == "failed"
    assert any("robots.txt disallows" in w for w in rows["secret"]["warnings"])


def test_add_rolls_back_an_invalid_entry_and_names_line_and_key(demo: str, tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    add_marketplace(config, f"{demo}/shopline/", preview=False)
    before = config.read_text()
    with pytest.raises(ConfigError, match=r"line \d+: marketplace 'woo': currency: String should match"):
        add_marketplace(config, f"{demo}/woomart/", name="woo", currency="usd", preview=False)
    assert config.read_text() == before
    code, _, err = bijia("marketplaces", "add", f"{demo}/woomart/", "-c", str(config), "--name", "shopline")
    assert code == 1 and "exists already" in err and config.read_text() == before
    code, _, err = bijia("marketplaces", "add", f"{demo}/woomart/", "-c", str(config), "--shape", "magento")
    assert code == 2
    code, _, err = bijia("marketplaces", "add", "ftp://x", "-c", str(config))
    assert code == 1 and "not an http(s) URL" in err


def test_new_keys_are_validated_with_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    config.write_text(
        '[[marketplace]]\nname = "a"\nshape = "shopify"\nbase_url = "http://127.0.0.1:1/"\n'
        'http_cache = "sometimes"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"line 5: marketplace 'a': http_cache: Input should be a valid boolean"
    ):
        load_marketplaces(config)


def test_toml_values_are_escaped() -> None:
    title = 'Zhang\'s "best" shop \\ 张记\n二店\t'
    block = marketplace_block(
        {
            "name": "z",
            "title": title,
            "shape": "jsonld",
            "base_url": "http://127.0.0.1/",
            "start_urls": ['http://127.0.0.1/a?b=1&c="2"'],
        },
        "first line\nsecond",
    )
    parsed = tomllib.loads(block)["marketplace"][0]
    assert parsed["title"] == title and parsed["start_urls"] == ['http://127.0.0.1/a?b=1&c="2"']
    assert block.startswith("# first line\n# second\n[[marketplace]]")


@pytest.mark.parametrize(
    ("url", "taken", "expected"),
    [
        ("https://www.shop-a.example/", set(), "shop-a"),
        ("https://shop.example/zh/store", set(), "shop-zh"),
        ("http://127.0.0.1:8765/techmall/", set(), "techmall"),
        ("http://127.0.0.1:8765/", set(), "shop"),
        ("http://127.0.0.1:8765/techmall/", {"techmall"}, "techmall-2"),
        ("https://_x.example/", set(), "x"),
    ],
)
def test_suggested_names(url: str, taken: set[str], expected: str) -> None:
    assert suggest_name(url, taken) == expected
