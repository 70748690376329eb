"""Crawl throughput: `bijia crawl` against raw Scrapy on the same demo pages (plain-HTTP shapes).

    .venv/bin/python -m benchmarks.bench_crawl --size 3000 --repeats 3

The demo marketplaces run in their own process (``python -m demo.server``), so the server does not share
the crawler's GIL. Three crawls of techmall, shopline, woomart and shandian, each in a fresh process:

- ``bijia``: ``bijia crawl -m … --db <fresh>``; pages and offers from ``bijia runs --format json``, time
  from the run's start to its commit (parse, validate, stage in DuckDB, publish).
- ``raw spiders``: the same spiders and settings with ``ITEM_PIPELINES = {}`` (extraction, no storage).
- ``raw fetch``: a minimal ``scrapy.Spider`` per marketplace that fetches the URLs the spiders fetched
  and parses nothing (the ceiling for this server and Scrapy's downloader).

The figure is bijia ÷ raw spiders (target ≥ 0.8), median over ``--repeats`` rounds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BIJIA, PYTHON, ROOT, Table, bench_env, demo_server_process, median, spread

SHOPS = ("techmall", "shopline", "woomart", "shandian")


# ------------------------------------------------------------------ inside a fresh process: raw Scrapy


def _raw_settings(workdir: Path):
    from crawler.runner import crawl_settings

    settings = crawl_settings(workdir / "unused.duckdb", "raw", log_level="ERROR")
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    return settings


def raw_crawl(mode: str, urls_file: Path) -> dict[str, Any]:
    """Run raw Scrapy in this process. ``spiders``: bijia's spiders, no pipelines, and write the URLs they
    fetched to ``urls_file``; ``fetch``: minimal spiders that fetch the URLs in ``urls_file``."""
    import scrapy
    from scrapy import signals
    from scrapy.crawler import AsyncCrawlerProcess, Crawler

    from crawler.config import load_marketplaces
    from spiders import SPIDERS

    started = time.perf_counter()
    settings = _raw_settings(urls_file.parent)
    process = AsyncCrawlerProcess(settings)
    crawlers: dict[str, Crawler] = {}
    seen: dict[str, list[str]] = {name: [] for name in SHOPS}
    planned = json.loads(urls_file.read_text()) if mode == "fetch" else {}

    class FetchSpider(scrapy.Spider):
        name = "fetch"

        async def start(self):
            for url in self.urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):
            return None

    for market in load_marketplaces(only=list(SHOPS)):
        if mode == "spiders":
            crawler = process.create_crawler(Crawler(SPIDERS[market.shape], settings.copy()))

            def on_response(response, request, spider, _name=market.name):
                if not response.url.endswith("/robots.txt"):
                    seen[_name].append(response.url)

            crawler.signals.connect(on_response, signal=signals.response_received, weak=False)
            process.crawl(crawler, marketplace=market)
        else:
            spider_settings = settings.copy()
            spider_settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", market.concurrency, priority="spider")
            crawler = process.create_crawler(Crawler(FetchSpider, spider_settings))
            process.crawl(crawler, name=market.name, urls=planned[market.name])
        crawlers[market.name] = crawler
    process.start(install_signal_handlers=False)
    seconds = time.perf_counter() - started
    if mode == "spiders":
        urls_file.write_text(json.dumps(seen))
    stats = {name: c.stats.get_stats() for name, c in crawlers.items()}
    return {
        "seconds": seconds,
        "pages": sum(int(s.get("response_received_count", 0)) for s in stats.values()),
        "offers": sum(int(s.get("item_scraped_count", 0)) for s in stats.values()),
        "errors": sum(int(s.get("log_count/ERROR", 0)) for s in stats.values()),
    }


# ------------------------------------------------------------------ the driver


def bijia_crawl(base_url: str, workdir: Path, n: int) -> dict[str, Any]:
    db = workdir / f"bijia-{n}.duckdb"
    env = bench_env(base_url)
    args = [*BIJIA, "crawl", *[a for s in SHOPS for a in ("-m", s)], "--db", str(db)]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bijia crawl exited {done.returncode}: {done.stderr[-2000:]}")
    runs = subprocess.run(
        [*BIJIA, "runs", "--db", str(db), "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    run = json.loads(runs.stdout)[0]
    markets = run["stats"]["marketplaces"].values()
    return {
        "seconds": float(run["seconds"]),
        "pages": sum(m["pages"] for m in markets),
        "offers": sum(m["offers"] for m in markets),
        "errors": sum(m["errors"] for m in markets),
    }


def raw(mode: str, base_url: str, urls_file: Path) -> dict[str, Any]:
    args = [PYTHON, "-m", "benchmarks.bench_crawl", "--raw", mode, "--urls-file", str(urls_file)]
    done = subprocess.run(args, cwd=ROOT, env=bench_env(base_url), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"raw {mode} exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(size: int, repeats: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Rounds of (raw spiders, raw fetch, bijia), interleaved so that noise hits all three alike."""
    results: dict[str, list[dict[str, Any]]] = {"bijia": [], "raw spiders": [], "raw fetch": []}
    with (
        demo_server_process(size, seed) as base_url,
        tempfile.TemporaryDirectory(prefix="bijia-bench-") as tmp,
    ):
        workdir = Path(tmp)
        urls = workdir / "urls.json"
        raw("spiders", base_url, urls)  # warm-up: the server builds its pages once
        for n in range(repeats):
            results["raw spiders"].append(raw("spiders", base_url, urls))
            results["raw fetch"].append(raw("fetch", base_url, urls))
            results["bijia"].append(bijia_crawl(base_url, workdir, n))
    return results


def add_figures(table: Table, results: dict[str, list[dict[str, Any]]], size: int, command: str) -> None:
    rates = {k: [r["pages"] / r["seconds"] for r in v] for k, v in results.items()}
    offer_rates = {k: [r["offers"] / r["seconds"] for r in v] for k, v in results.items()}
    runs = len(results["bijia"])
    pages, offers = results["bijia"][0]["pages"], results["bijia"][0]["offers"]
    for name in ("bijia", "raw spiders", "raw fetch"):
        note = f"{pages} pages, {offers} offers; {runs} runs, range {spread(rates[name])}"
        table.add(
            "crawl (1)", f"{name} pages/s", f"{median(rates[name]):,.0f}", "pages/s", note, command=command
        )
        if name != "raw fetch":
            table.add(
                "crawl (1)",
                f"{name} offers/s",
                f"{median(offer_rates[name]):,.0f}",
                "offers/s",
                f"range {spread(offer_rates[name])}",
                command=command,
            )
    ratios = [b / r for b, r in zip(rates["bijia"], rates["raw spiders"], strict=True)]
    table.add(
        "crawl (1)",
        "bijia ÷ raw spiders (pages/s)",
        f"{median(ratios):.2f}",
        "ratio",
        f"target ≥ 0.8; per round {', '.join(f'{x:.2f}' for x in ratios)}",
        command=command,
    )
    fetch = [b / r for b, r in zip(rates["bijia"], rates["raw fetch"], strict=True)]
    table.add(
        "crawl (1)",
        "bijia ÷ raw fetch (pages/s)",
        f"{median(fetch):.2f}",
        "ratio",
        f"demo size {size}",
        command=command,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=3000, help="demo catalogue SKUs (3000 ≈ 2,800 pages)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--raw", choices=["spiders", "fetch"], help=argparse.SUPPRESS)
    ap.add_argument("--urls-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = ap.parse_args(argv)
    if args.raw:
        print(json.dumps(raw_crawl(args.raw, args.urls_file)))
        return 0
    results = measure(args.size, args.repeats)
    if args.json:
        print(json.dumps(results))
        return 0
    table = Table()
    add_figures(
        table,
        results,
        args.size,
        f"python -m benchmarks.bench_crawl --size {args.size} --repeats {args.repeats}",
    )
    print(table.render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
