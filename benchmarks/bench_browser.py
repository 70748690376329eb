"""Browser-rendered pages/s and memory: bijia's browser spider through scrapy-playwright and Chromium.

    .venv/bin/python -m benchmarks.bench_browser --pages 2000

The jingxuan demo shop renders its listing with JavaScript. The benchmark crawls ``--pages`` distinct URLs
of it (``/jingxuan/?r=N``: each a real navigation, a JavaScript fetch of the items and a render, waited
for by the spider's ``item_selector``; ``max_load_more = 0``) with the project's settings (contexts and
pages per context as in ``crawler/settings.py``) through ``run_crawl`` into a scratch database, in a child
process. The parent samples the resident memory of the child's whole process tree (PSS: Python, the Playwright
driver, Chromium and its renderers) from ``/proc`` every half second. Flat memory after warm-up means
pages and contexts are closed; the slope is given in MiB per 1,000 pages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    PYTHON,
    ROOT,
    RssSampler,
    Table,
    bench_env,
    demo_server_process,
    mib,
    slope,
    tree_pss,
)


def child(base_url: str, pages: int, db: Path) -> dict:
    """In a fresh process: crawl ``pages`` renders of jingxuan through ``run_crawl``."""
    from crawler.config import BrowserOptions, Marketplace
    from crawler.runner import run_crawl

    market = Marketplace(
        name="jingxuan",
        shape="browser",
        base_url=f"{base_url}/jingxuan/",
        start_urls=[f"{base_url}/jingxuan/?r={n}" for n in range(pages)],
        currency="CNY",
        browser=BrowserOptions(max_load_more=0, wait_timeout_ms=30_000),
    )
    started = time.perf_counter()
    report = run_crawl([market], db_path=db, log_level="ERROR")
    m = report.marketplaces[0]
    return {
        "seconds": time.perf_counter() - started,
        "crawl_seconds": m.seconds,
        "pages": m.pages,
        "status": m.status,
        "errors": m.errors,
        "offers": m.offers,
        "dropped": m.dropped,
    }


def measure(pages: int, size: int = 150) -> dict:
    with (
        demo_server_process(size) as base_url,
        tempfile.TemporaryDirectory(prefix="bijia-bench-browser-") as tmp,
    ):
        args = [
            PYTHON,
            "-m",
            "benchmarks.bench_browser",
            "--child",
            "--base-url",
            base_url,
            "--pages",
            str(pages),
            "--db",
            str(Path(tmp) / "b.duckdb"),
        ]
        proc = subprocess.Popen(
            args, cwd=ROOT, env=bench_env(base_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        with RssSampler(proc.pid, 0.5, tree_pss) as sampler:
            out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"browser benchmark child exited {proc.returncode}: {err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    samples = sampler.samples
    # judge the steady part: after the warm-up (Chromium and the first contexts start in the first quarter)
    # and before the shutdown (the last tenth, when Chromium closes)
    steady = samples[len(samples) // 4 : len(samples) * 9 // 10]
    rate = result["pages"] / result["crawl_seconds"] if result["crawl_seconds"] else 0.0
    per_second = slope([(t, b) for t, b in steady])
    result.update(
        {
            "pages_per_s": rate,
            "peak_pss": sampler.peak,
            "pss_after_warmup": steady[0][1] if steady else 0,
            "pss_end": steady[-1][1] if steady else 0,
            "slope_mib_per_1000_pages": per_second / 2**20 / rate * 1000 if rate else 0.0,
            "samples": len(samples),
        }
    )
    return result


def add_figures(table: Table, r: dict, command: str) -> None:
    table.add(
        "browser (2)",
        "rendered pages/s",
        f"{r['pages_per_s']:.1f}",
        "pages/s",
        f"{r['pages']} pages in {r['crawl_seconds']:.0f}s, status {r['status']}, {r['errors']} errors",
        command=command,
    )
    table.add(
        "browser (2)",
        "peak memory (PSS), process tree",
        mib(r["peak_pss"]),
        "MiB",
        "Python + Playwright driver + Chromium and its renderers",
        command=command,
    )
    table.add(
        "browser (2)",
        "memory slope after warm-up",
        f"{r['slope_mib_per_1000_pages']:+.1f}",
        "MiB/1000 pages",
        f"PSS {mib(r['pss_after_warmup'])} → {mib(r['pss_end'])} MiB from 25% to 90% of the run",
        command=command,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.base_url, args.pages, args.db)))
        return 0
    result = measure(args.pages)
    if args.json:
        print(json.dumps(result))
        return 0
    table = Table()
    add_figures(table, result, f"python -m benchmarks.bench_browser --pages {args.pages}")
    print(table.render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
