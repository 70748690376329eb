"""A small catalogue for the API and snapshot tests, written through the storage API (no crawl)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import storage
from core.offer import Offer
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products
from storage.snapshots import publish

NOW = datetime.now(UTC).replace(microsecond=0)
MARKETPLACES = ["jingxuan", "shopline", "techmall", "usmart"]

# product id → (title, brand, category, [(marketplace, listing id, title, price, final, shipping, in stock)])
CATALOGUE: dict[str, tuple[str, str, str, list[tuple]]] = {
    "p_iphone15pro": (
        "Apple iPhone 15 Pro 256GB Black",
        "Apple",
        "phones",
        [
            (
                "jingxuan",
                "JX001",
                "【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色 正品",
                "5999.00",
                "5799.00",
                "0",
                True,
            ),
            ("techmall", "TM-IP15P-256-BK", "Apple iPhone 15 Pro 256GB Black", "6099.00", None, "0", True),
            ("shopline", "90001", "iPhone 15 Pro - 256GB / Black", "5899.00", None, "20.00", True),
        ],
    ),
    "p_mate60": (
        "Huawei Mate 60 Pro 512GB Green",
        "Huawei",
        "phones",
        [
            ("jingxuan", "JX002", "华为 Mate60 Pro 512G 雅川青", "6999.00", None, "6.00", True),
            ("techmall", "TM-MATE60-512", "HUAWEI Mate 60 Pro 512GB Green", "6899.00", None, "0", False),
        ],
    ),
    "p_xm5": (
        "Sony WH-1000XM5 Headphones Black",
        "Sony",
        "audio",
        [
            (
                "techmall",
                "TM-XM5-BK",
                "Sony WH-1000XM5 Wireless Noise Cancelling Headphones Black",
                "2399.00",
                None,
                "0",
                True,
            ),
            ("shopline", "90002", "索尼 WH-1000XM5 头戴式降噪耳机 黑色", "2299.00", "2199.00", "15.00", True),
            ("usmart", "US-XM5", "Sony WH-1000XM5 Wireless Headphones", "329.00", None, "0", True),
        ],
    ),
}
EXTRA: dict[tuple[str, str], dict] = {  # identifiers, images, a hostile URL, another currency
    ("techmall", "TM-IP15P-256-BK"): {"gtin": "194253432098", "image": "http://127.0.0.1:9/ip15.png"},
    ("jingxuan", "JX002"): {"gtin": "6900165432095", "url": "javascript:alert(1)"},
    ("techmall", "TM-XM5-BK"): {"mpn": "WH1000XM5/B"},
    ("usmart", "US-XM5"): {"currency": "USD"},
    ("shopline", "90001"): {"delivery_hours": 0.75, "store": "朝阳门店", "distance_km": 2.4},
}
for i in range(30):  # enough products to page through
    CATALOGUE[f"p_cable{i:02d}"] = (
        f"Anker USB-C Cable {i + 1}m",
        "Anker",
        "accessories",
        [
            ("shopline", f"C{i:03d}", f"Anker USB-C 数据线 {i + 1}米", f"{59 + i}.00", None, "0", True),
        ],
    )


def _offer(
    market: str,
    lid: str,
    title: str,
    price: str,
    final: str | None,
    ship: str,
    stock: bool,
    brand: str,
    category: str,
    at: datetime,
    bump: int,
) -> Offer:
    fields = {"url": f"http://127.0.0.1/{market}/{lid}", "currency": "CNY", "delivery_hours": 24.0}
    fields |= EXTRA.get((market, lid), {})
    return Offer(
        marketplace=market,
        listing_id=lid,
        title=title,
        brand=brand,
        category=category,
        price=Decimal(price) + bump,
        final_price=Decimal(final) + bump if final else None,
        shipping=Decimal(ship),
        in_stock=stock,
        observed_at=at,
        **fields,
    )


def build_working_db(path: Path, *, days: int = 3, price_bump: int = 0) -> Path:
    """Three crawl runs on three days (prices fall by 100 a day for the phones), then one match run."""
    con = storage.connect(path)
    try:
        for day in range(days):
            at = NOW - timedelta(days=days - 1 - day)
            run_id = f"crawl-{at:%Y%m%d}-{price_bump}"
            start_run(con, run_id, "crawl", MARKETPLACES)
            offers = [
                _offer(
                    m,
                    lid,
                    t,
                    p,
                    f,
                    s,
                    stock,
                    brand,
                    cat,
                    at,
                    price_bump + (100 * (days - 1 - day) if cat == "phones" else 0),
                )
                for _, (_, brand, cat, members) in CATALOGUE.items()
                for m, lid, t, p, f, s, stock in members
            ]
            stage_offers(con, run_id, offers)
            commit_run(con, run_id, MARKETPLACES, "finished", {})
        groups = [
            SavedGroup(pid, [f"{m}/{lid}" for m, lid, *_ in members], 0.9, {})
            for pid, (_, _, _, members) in CATALOGUE.items()
        ]
        save_products(con, "match-1", groups, {pid: (t, b, c) for pid, (t, b, c, _) in CATALOGUE.items()})
    finally:
        con.close()
    return path


def run_server(app, *, port: int = 0):
    """Start ``app`` under a real uvicorn on 127.0.0.1 in a thread; returns (server, thread, base url)."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def stop_server(server, thread) -> None:
    server.should_exit = True
    thread.join(timeout=10)


def published_snapshots(root: Path) -> Path:
    """The snapshots folder of ``root`` after publishing :func:`build_working_db` once."""
    publish(build_working_db(root / "working.duckdb"), root / "snaps")
    return root / "snaps"
