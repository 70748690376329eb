"""`bijia marketplaces add | list | check` against the demo marketplaces and small shops on 127.0.0.1."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
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
        code, out, err = bijia("marketplaces", "add", f"{demo}/{shop}/", "-c", str(config), "-f", "json")
        assert code == 0, err
        [added] = json.loads(out)
        assert (added["name"], added["shape"]) == (shop, shape)
    assert load_marketplaces(config)[0].sitemap_urls == [f"{demo}/techmall/sitemap.xml"]  # from robots.txt
    # a JavaScript shop cannot be probed: say so, leave the file alone; with --shape it is added
    before = config.read_text()
    code, _, err = bijia("marketplaces", "add", f"{demo}/jingxuan/", "-c", str(config))
    assert code == 1 and "--shape" in err and config.read_text() == before
    code, _, err = bijia(
        "marketplaces",
        "add",
        f"{demo}/jingxuan/",
        "-c",
        str(config),
        "--shape",
        "browser",
        "--title",
        "精选商城",
    )
    assert code == 0, err
    assert config.read_text().startswith(before) and "# my shops" in config.read_text()

    code, out, _ = bijia("marketplaces", "list", "-c", str(config), "-f", "json")
    assert code == 0
    assert [(r["name"], r["shape"], r["discovery"]) for r in json.loads(out)] == [
        ("techmall", "jsonld", "sitemaps"),
        ("shopline", "shopify", "base_url"),
        ("woomart", "woocommerce", "base_url"),
        ("shandian", "instant", "base_url"),
        ("jingxuan", "browser", "base_url"),
    ]

    code, out, err = bijia("marketplaces", "check", "-c", str(config), "-f", "json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert {n: r["status"] for n, r in rows.items()} == {
        "techmall": "ok",
        "shopline": "ok",
        "woomart": "ok",
        "shandian": "ok",
        "jingxuan": "unchecked",
    }
    for name in ("techmall", "shopline", "woomart", "shandian"):
        assert rows[name]["usable"] >= 1 and rows[name]["title"] and rows[name]["currency"] == "CNY"
        assert float(rows[name]["price"]) > 0

    code, out, _ = bijia("marketplaces", "check", "shopline", "-c", str(config), "-f", "csv")
    assert code == 0 and out.splitlines()[0].startswith("name,shape,status") and len(out.splitlines()) == 2


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
    assert gone["status"] == "failed" and "HTTP 404" in gone["problems"]
    code, _, _ = bijia("marketplaces", "check", "gone", "-c", str(config))
    assert code == 4
    code, _, err = bijia("marketplaces", "check", "nope", "-c", str(config))
    assert code == 78 and "unknown marketplace" in err


def test_check_obeys_robots_and_reports_dropped_offers(tmp_path: Path) -> None:
    with LocalSite() as site:
        site.add("/robots.txt", "User-agent: *\nDisallow: /secret/\n", "text/plain")
        site.add(
            "/shop/products.json?limit=10&page=1",
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
    assert "1 offer(s) dropped: no_price" in rows["shop"]["problems"]
    assert rows["secret"]["status"] == "failed" and "robots.txt disallows" in rows["secret"]["problems"]


def test_add_rolls_back_an_invalid_entry_and_names_line_and_key(demo: str, tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    add_marketplace(config, f"{demo}/shopline/")
    before = config.read_text()
    with pytest.raises(ConfigError, match=r"line \d+: marketplace 'woo': currency: String should match"):
        add_marketplace(config, f"{demo}/woomart/", name="woo", currency="usd")
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
