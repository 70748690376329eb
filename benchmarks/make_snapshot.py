"""Build a synthetic working database of N offers / M products with DuckDB SQL, then publish a snapshot.

    .venv/bin/python benchmarks/make_snapshot.py --offers 5000000 --products 500000 --out /tmp/bijia-bench

Writes ``<out>/working.duckdb`` (the schema through ``storage.connect``, rows through ``generate_series``)
and publishes it with ``storage.snapshots.publish`` into ``<out>/snapshots`` — so the publish time at that
size is measured too. Titles mix Chinese and English the way marketplaces do; ``--days`` crawls of history.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import storage
from storage.snapshots import publish

BRANDS = [
    ("Apple", "苹果"),
    ("Huawei", "华为"),
    ("Xiaomi", "小米"),
    ("Sony", "索尼"),
    ("Samsung", "三星"),
    ("Lenovo", "联想"),
    ("Haier", "海尔"),
    ("Midea", "美的"),
    ("Anker", "安克"),
    ("Dyson", "戴森"),
    ("Philips", "飞利浦"),
    ("Nike", "耐克"),
    ("Adidas", "阿迪达斯"),
    ("Oppo", "欧珀"),
    ("Vivo", "维沃"),
    ("Gree", "格力"),
    ("Logitech", "罗技"),
    ("Canon", "佳能"),
    ("Nikon", "尼康"),
    ("Bose", "博士"),
]
CATEGORIES = [
    ("phone", "手机"),
    ("headphones", "耳机"),
    ("laptop", "笔记本电脑"),
    ("tablet", "平板电脑"),
    ("air conditioner", "空调"),
    ("refrigerator", "冰箱"),
    ("vacuum cleaner", "吸尘器"),
    ("running shoes", "跑步鞋"),
    ("camera", "相机"),
    ("keyboard", "键盘"),
    ("monitor", "显示器"),
    ("power bank", "充电宝"),
    ("smart watch", "智能手表"),
    ("speaker", "音箱"),
]
COLOURS = [
    ("Black", "黑色"),
    ("White", "白色"),
    ("Blue", "蓝色"),
    ("Green", "绿色"),
    ("Silver", "银色"),
    ("Gold", "金色"),
    ("Red", "红色"),
    ("Purple", "紫色"),
]
SIZES = ["64GB", "128GB", "256GB", "512GB", "1TB", "2TB"]
MARKETING = ["官方旗舰店", "正品", "包邮", "新品", "自营", "顺丰发货", "限时特惠", "国行"]
MARKETPLACES = ["techmall", "shopline", "woomart", "jingxuan", "shandian", "dianpu", "haomai", "youpin"]


_STORE_COLUMNS = """
    CASE WHEN marketplace = 'shandian' THEN (CASE WHEN j % 4 = 0 THEN 31.23 ELSE 39.90 END) + (hash(j, 'y') % 1000) / 10000.0 END,
    CASE WHEN marketplace = 'shandian' THEN (CASE WHEN j % 4 = 0 THEN 121.47 ELSE 116.40 END) + (hash(j, 'x') % 1000) / 10000.0 END,
    CASE WHEN marketplace = 'shandian' THEN 3.0 END,
    CASE WHEN hash(j, 'q') % 5 = 0 THEN ['满199减20', '满99包邮'] WHEN hash(j, 'q') % 5 = 1 THEN ['第二件半价'] ELSE [] END"""
"""Offer columns of migration 3: shandian's offers come from stores in Beijing and Shanghai (3 km radius);
a fifth of the offers show a 满减 and a 包邮 threshold, another fifth 第二件半价."""


def _arr(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build_working(path: Path, offers: int, products: int, days: int) -> None:
    path.unlink(missing_ok=True)
    con = storage.connect(path)
    try:
        con.execute("SET TimeZone = 'UTC'")
        en_b, cn_b = _arr([b[0] for b in BRANDS]), _arr([b[1] for b in BRANDS])
        en_c, cn_c = _arr([c[0] for c in CATEGORIES]), _arr([c[1] for c in CATEGORIES])
        en_col, cn_col = _arr([c[0] for c in COLOURS]), _arr([c[1] for c in COLOURS])
        con.execute(f"""CREATE TEMP TABLE prod AS
            SELECT i AS n, 'p_' || substr(md5(CAST(i AS VARCHAR)), 1, 12) AS product_id,
                   CAST(1 + hash(i, 'b') % {len(BRANDS)} AS BIGINT) AS b, CAST(1 + hash(i, 'c') % {len(CATEGORIES)} AS BIGINT) AS c,
                   CAST(1 + hash(i, 'k') % {len(COLOURS)} AS BIGINT) AS k, CAST(1 + hash(i, 's') % {len(SIZES)} AS BIGINT) AS s,
                   upper(substr(md5(CAST(i AS VARCHAR) || 'm'), 1, 2)) || CAST(10 + hash(i, 'n') % 990 AS VARCHAR)
                       AS model,
                   CAST(20 + hash(i, 'p') % 9000 AS DECIMAL(18, 2)) AS base
            FROM range({products}) t(i)""")
        con.execute(f"""INSERT INTO products
            SELECT product_id, {en_b}[b] || ' ' || model || ' ' || {en_c}[c] || ' ' || {_arr(SIZES)}[s] || ' ' ||
                   {en_col}[k], {en_b}[b], {en_c}[c], now() - INTERVAL 30 DAY, now(), 'bench-match'
            FROM prod""")
        con.execute(f"""CREATE TEMP TABLE offs AS
            SELECT j, p.*, {_arr(MARKETPLACES)}[1 + j % {len(MARKETPLACES)}] AS marketplace,
                   'L' || CAST(j AS VARCHAR) AS listing_id,
                   CASE WHEN j % 2 = 0 THEN
                        {_arr(MARKETING)}[CAST(1 + hash(j) % {len(MARKETING)} AS BIGINT)] || ' ' || {cn_b}[b] || ' ' || model || ' ' ||
                        {cn_c}[c] || ' ' || replace({_arr(SIZES)}[s], 'GB', 'G') || ' ' || {cn_col}[k]
                   ELSE {en_b}[b] || ' ' || model || ' ' || {en_c}[c] || ', ' || {_arr(SIZES)}[s] || ', ' ||
                        {en_col}[k] END AS title,
                   p.base + CAST(hash(j, 'd') % 200 AS DECIMAL(18, 2)) AS price,
                   CASE WHEN hash(j, 'f') % 4 = 0 THEN CAST(hash(j, 'e') % 50 AS DECIMAL(18, 2)) END AS coupon,
                   CAST(CASE WHEN hash(j, 'h') % 3 = 0 THEN 6 ELSE 0 END AS DECIMAL(18, 2)) AS shipping,
                   hash(j, 'o') % 10 <> 0 AS in_stock
            FROM range({offers}) t(j) JOIN prod p ON p.n = hash(j, 'prod') % {products}""")
        for day in range(days):
            run_id = f"bench-crawl-{day}"
            ago = days - 1 - day
            con.execute(
                "INSERT INTO runs VALUES (?, 'crawl', 'finished', now() - to_days(?::INTEGER) - INTERVAL 1 HOUR, "
                "now() - to_days(?::INTEGER), ?, '{}', '{}')",
                [run_id, ago, ago, MARKETPLACES],
            )
            con.execute(
                """INSERT INTO prices SELECT ?, marketplace, listing_id, now() - to_days(?::INTEGER),
                   price + ?, NULL, CASE WHEN coupon IS NOT NULL THEN price + ? - coupon END, shipping, 'CNY',
                   in_stock, NULL, 24 FROM offs""",
                [run_id, ago, ago * 10, ago * 10],
            )
        con.execute(f"""INSERT INTO offers SELECT marketplace, listing_id,
                   'https://' || marketplace || '.example/item/' || listing_id, title, {en_b}[b], NULL, model, NULL,
                   {en_c}[c], '{{}}', price, NULL, NULL, CASE WHEN coupon IS NOT NULL THEN price - coupon END, NULL,
                   shipping, NULL, 'CNY', in_stock, NULL, NULL, NULL, NULL, 24, NULL, NULL, now(),
                   now() - INTERVAL 30 DAY, 'bench-crawl-{days - 1}', 0, false, {_STORE_COLUMNS}
            FROM offs""")
        con.execute(
            "INSERT INTO product_offers SELECT marketplace, listing_id, product_id, 0.9, 'bench' FROM offs"
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=3, help="crawls of price history (one a day)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bijia-bench"))
    parser.add_argument("--keep", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    working = args.out / "working.duckdb"
    started = time.perf_counter()
    build_working(working, args.offers, args.products, args.days)
    built = time.perf_counter()
    print(
        f"working db: {args.offers:,} offers / {args.products:,} products / {args.days} days "
        f"in {built - started:.1f} s ({working.stat().st_size / 2**20:.0f} MiB)",
        flush=True,
    )
    snapshot_id = publish(working, args.out / "snapshots", keep=args.keep)
    done = time.perf_counter()
    path = args.out / "snapshots" / f"{snapshot_id}.duckdb"
    print(f"published {snapshot_id} in {done - built:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
