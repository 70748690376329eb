"""Product-page extraction: speed on the demo pages and accuracy on the public benchmark.

    .venv/bin/python -m benchmarks.bench_extraction --pages 500 --repeats 5

- speed: ``spiders.pages.jsonld.extract_offers`` over the demo techmall product pages (built in this
  process, no server, no Scrapy), pages/s; the median of ``--repeats`` passes, each over every page.
- accuracy: ``service.extraction.eval_extraction`` on ``../shared/pages/product-extraction-benchmark``
  (skipped with the reason when that folder or the service is absent).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Table, median, spread
from crawler.config import Marketplace
from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.pages import product_path, techmall_product

BASE = "http://127.0.0.1:8765"


def demo_pages(count: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(URL, body) of ``count`` demo techmall product pages."""
    cat = generate_catalogue(max(count * 2, 50), seed)
    pages = []
    for index in cat.shop_skus("techmall")[:count]:
        path = product_path(cat.listing("techmall", index))
        reply = techmall_product(cat, path.rsplit("/", 1)[-1], BASE, Faults())
        if reply is not None:
            pages.append((f"{BASE}{path}", reply.body))
    return pages


def measure_speed(count: int, repeats: int) -> dict[str, object]:
    from spiders.pages import jsonld

    pages = demo_pages(count)
    market = Marketplace(name="techmall", shape="jsonld", base_url=f"{BASE}/techmall/")
    rates, offers = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        offers = sum(len(jsonld.extract_offers(body, url, market)) for url, body in pages)
        rates.append(len(pages) / (time.perf_counter() - started))
    return {"pages": len(pages), "offers": offers, "rates": rates}


def add_speed(table: Table, result: dict, command: str) -> None:
    rates = result["rates"]
    table.add(
        "extraction (6)",
        "demo product pages/s",
        f"{median(rates):,.0f}",
        "pages/s",
        f"{result['pages']} pages, {result['offers']} offers; {len(rates)} passes, range {spread(rates)}",
        command=command,
    )


def add_accuracy(table: Table, command: str) -> str | None:
    """The benchmark scores as figures; the reason when it cannot run here."""
    from service.errors import UserError
    from service.extraction import SYSTEM, eval_extraction

    try:
        result = eval_extraction()
    except UserError as exc:
        return str(exc)
    for s in result.scores:
        if s.attribute in ("price", "sku", "availability"):
            table.add(
                "extraction (6)",
                f"{s.attribute} F1 {s.system}",
                f"{s.f1:.3f}",
                "F1",
                f"P {s.precision:.3f} R {s.recall:.3f}, support {s.support}"
                + (f"; {result.pages} pages in {result.seconds}s" if s.system == SYSTEM else ""),
                command=command,
            )
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=500, help="demo product pages per pass")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--speed-only", action="store_true", help="leave out the benchmark accuracy (about a minute)"
    )
    args = ap.parse_args(argv)
    table = Table()
    add_speed(
        table,
        measure_speed(args.pages, args.repeats),
        f"python -m benchmarks.bench_extraction --pages {args.pages} --repeats {args.repeats}",
    )
    skipped = None if args.speed_only else add_accuracy(table, "bijia eval-extraction")
    print(table.render())
    if skipped:
        print(f"skipped: benchmark accuracy: {skipped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
