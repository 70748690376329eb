"""The shopper's facts through the whole demo: store coordinates, radius and promotions come from the demo
shops' API and rendered page into the database, and ``compare --near`` / ``basket --near`` decide on them."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from core.promotions import parse_promotions
from crawler.config import Marketplace
from demo.shopper import STORES
from spiders.pages import browser_listing
from storage import connect

BIJIA = [sys.executable, "-c", "from cli import app; app()"]
ROOT = Path(__file__).parents[1]
BEIJING, SHANGHAI = "39.9042,116.4074", "31.2397,121.4998"


def test_rendered_listing_keeps_each_promotion_tag():
    html = """<div class="item" data-offer="JX1"><a class="title" href="/jingxuan/item/JX1">绿联 数据线</a>
      <span class="shop">绿联优品专营店</span><span class="price">¥29.00</span><span class="shipping">运费 ¥6.00</span>
      <span class="promo">每满100减5</span><span class="promo"> 满99包邮 </span><span class="promo">满99包邮</span></div>"""
    market = Marketplace(name="jingxuan", shape="browser", base_url="http://127.0.0.1:8765/jingxuan/")
    (offer,) = browser_listing.extract_offers(html, "http://127.0.0.1:8765/jingxuan/", market)
    assert offer.promotions == ["每满100减5", "满99包邮"]


def test_every_demo_promotion_text_parses():
    texts = {t for s in STORES for t in s.promotions} | {
        "第二件半价",
        "2件8折",
        "跨店每满300减50",
        "满199减20",
        "满300减30",
        "满99包邮",
        "每满100减5",
    }
    for text in texts:
        assert parse_promotions([text]), text


def bijia(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*BIJIA, *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.browser
@pytest.mark.slow
def test_demo_crawl_carries_coordinates_and_promotions_and_decides_on_them(tmp_path: Path):
    db = tmp_path / "demo.duckdb"
    demo = bijia("demo", "--db", str(db), "--size", "30", "--no-publish", "--format", "json", "--limit", "1")
    assert demo.returncode == 0, demo.stderr
    con = connect(db, read_only=True)
    try:
        stores = con.execute(
            "SELECT store, any_value(latitude), any_value(longitude), any_value(delivery_radius_km), "
            "any_value(promotions) FROM offers WHERE marketplace = 'shandian' GROUP BY store"
        ).fetchall()
        jx = con.execute("SELECT seller, promotions FROM offers WHERE marketplace = 'jingxuan'").fetchall()
        pid = con.execute(
            "SELECT po.product_id FROM product_offers po JOIN offers o USING (marketplace, listing_id) "
            "GROUP BY 1 HAVING count(*) FILTER (o.store IN ('闪电到家·王府井店', '闪电到家·国贸店')) >= 1 "
            "AND count(*) FILTER (o.store = '闪电到家·陆家嘴店') >= 1 "
            "AND count(*) FILTER (o.marketplace <> 'shandian') >= 1 ORDER BY 1 LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()
    by_name = {s.name: s for s in STORES}
    assert len(stores) == 8
    for name, lat, lng, radius, promos in stores:
        s = by_name[name]
        assert (lat, lng, radius) == (s.lat, s.lng, s.radius_km) and set(s.promotions) <= set(promos)
    assert jx and all("满99包邮" in promos for seller, promos in jx if seller != "精选自营")
    assert any("跨店每满300减50" in promos for _, promos in jx)

    picks = {}
    for city, place in (("北京", BEIJING), ("上海", SHANGHAI)):
        out = bijia(
            "compare", "--db", str(db), "--near", place, "--sort", "arrival", "-f", "json", "--limit", "1000"
        )
        assert out.returncode == 0, out.stderr
        (product,) = [p for p in json.loads(out.stdout) if p["product_id"] == pid]
        stores_seen = {o["store"] for o in product["offers"] if o["store"]}
        assert stores_seen and all(by_name[s].city == city for s in stores_seen)
        assert all(o["distance_km"] <= by_name[o["store"]].radius_km for o in product["offers"] if o["store"])
        picks[city] = product["choices"]["fastest"]
    assert picks["北京"]["arrival"] != "tomorrow" or picks["上海"]["arrival"] != "tomorrow"
    basket = bijia("basket", f"{pid}:3", "--db", str(db), "--near", SHANGHAI, "-f", "json")
    assert basket.returncode == 0, basket.stderr
    plan = json.loads(basket.stdout)
    assert Decimal(plan["total"]) <= Decimal(plan["naive_total"]) and plan["method"] == "exact"
    assert all(
        not s["shop"].startswith("shandian/") or by_name[s["shop"].split("/", 1)[1]].city == "上海"
        for s in plan["shops"]
    )
