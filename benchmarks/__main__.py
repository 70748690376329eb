"""`make bench`: every bijia benchmark, one table of medians, with the machine's core count.

    .venv/bin/python -m benchmarks                     # the full set (about an hour on 2 busy cores)
    .venv/bin/python -m benchmarks --quick             # small sizes, a few minutes
    .venv/bin/python -m benchmarks --only crawl,storage --repeats 5

Sections: (1) crawl throughput, bijia vs raw Scrapy (``bench_crawl``); (2) browser-rendered pages/s and
memory (``bench_browser``); field maps: the engine's extraction against hand-written extractors on the same
demo pages (``bench_fieldmap``); (3) matching offers/s and peak memory (``bench_matching.py``, run as a
subprocess); (4) API latency and requests/s on a snapshot (``make_snapshot.py`` + ``bench_api.py``, run as
subprocesses); (5) storage offers/s (``bench_storage``); (6) product-page extraction: demo pages/s and the public
product extraction benchmark's P/R/F1 beside Zyte, Diffbot and extruct (``bench_extraction``). A section whose script is missing or fails is
reported as skipped with the reason; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PYTHON, ROOT, Table, bench_env, cores, median

SECTIONS = ("crawl", "browser", "fieldmap", "matching", "api", "storage", "extraction")
HERE = Path(__file__).resolve().parent


def crawl(table: Table, args: argparse.Namespace) -> None:
    from benchmarks import bench_crawl

    results = bench_crawl.measure(args.crawl_size, args.repeats)
    bench_crawl.add_figures(
        table,
        results,
        args.crawl_size,
        f"python -m benchmarks.bench_crawl --size {args.crawl_size} --repeats {args.repeats}",
    )


def browser(table: Table, args: argparse.Namespace) -> None:
    from benchmarks import bench_browser
    from crawler.browser import chromium_executable

    chromium_executable()  # BrowserNotFound → skipped with its message
    result = bench_browser.measure(args.browser_pages)
    bench_browser.add_figures(
        table, result, f"python -m benchmarks.bench_browser --pages {args.browser_pages}"
    )


def fieldmap(table: Table, args: argparse.Namespace) -> None:
    from benchmarks import bench_fieldmap

    size = 1000 if args.quick else 3000
    results = bench_fieldmap.measure(size, max(args.repeats, 3))
    bench_fieldmap.add_figures(
        table, results, f"python -m benchmarks.bench_fieldmap --size {size} --repeats {max(args.repeats, 3)}"
    )


def matching(table: Table, args: argparse.Namespace) -> None:
    script = HERE / "bench_matching.py"
    if not script.exists():
        raise Skip("benchmarks/bench_matching.py is not there yet")
    for size in args.matching_sizes:
        runs = []
        repeats = args.repeats if size <= 100_000 else 1
        for _ in range(repeats):
            out = _run([PYTHON, str(script), "--skip-datasets", "--sizes", str(size), "--json"], 7200)
            runs.append(json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1]))
        rates = [r["offers"] / r["match_s"] for r in runs if r.get("match_s")]
        command = f"python benchmarks/bench_matching.py --skip-datasets --sizes {size}"
        first = runs[0]
        table.add(
            "matching (3)",
            f"{first['offers']:,} offers grouped",
            f"{median(rates):,.0f}",
            "offers/s",
            f"match_offers {median([r['match_s'] for r in runs]):.1f}s, {first['groups']:,} groups, "
            f"pairwise P {first.get('precision')} R {first.get('recall')}; {len(runs)} run(s)",
            command=command,
        )
        table.add(
            "matching (3)",
            f"{first['offers']:,} offers peak memory",
            f"{median([r['peak_rss_mb'] for r in runs]):,.0f}",
            "MiB",
            f"ru_maxrss of the main process; largest worker {first.get('worker_peak_rss_mb', 0):,} MiB; "
            f"blocking recall {first.get('blocking_recall')}",
            command=command,
        )
    if args.matching_incremental:
        size = args.matching_incremental
        out = _run(
            [PYTHON, str(script), "--skip-datasets", "--sizes", "", "--incremental", str(size), "--json"],
            7200,
        )
        row = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
        table.add(
            "matching (3)",
            f"incremental bijia match, {row['changed']:,} of {row['offers']:,} offers changed",
            f"{row['incremental_s']:.1f}",
            "s",
            f"end to end; bijia match --full {row['full_s']} s; groups differing {row['groups_differ']} of "
            f"{row['groups']:,}; publish {row['publish_s']} s",
            command=f"python benchmarks/bench_matching.py --skip-datasets --sizes '' --incremental {size}",
        )


API_LINE = re.compile(
    r"^(?P<name>\S+)\s+p50\s+(?P<p50>[\d.]+) ms\s+p99\s+(?P<p99>[\d.]+) ms\s+(?P<rps>\d+) req/s"
    r"\s+errors (?P<errors>\d+) of (?P<requests>\d+)"
)


def api(table: Table, args: argparse.Namespace) -> None:
    make, bench = HERE / "make_snapshot.py", HERE / "bench_api.py"
    if not (make.exists() and bench.exists()):
        raise Skip("benchmarks/make_snapshot.py or bench_api.py is not there yet")
    out_dir = args.api_dir or Path(f"/tmp/bijia-bench-api-{args.api_offers}")
    build = (
        f"python benchmarks/make_snapshot.py --offers {args.api_offers} --products {args.api_offers // 10} "
        f"--out {out_dir}"
    )
    if not (out_dir / "snapshots" / "CURRENT").exists():
        _run(
            [
                PYTHON,
                str(make),
                "--offers",
                str(args.api_offers),
                "--products",
                str(args.api_offers // 10),
                "--out",
                str(out_dir),
            ],
            7200,
        )
    command = (
        f"python benchmarks/bench_api.py --dir {out_dir} --runs {args.repeats} --seconds {args.api_seconds}"
    )
    out = _run(
        [
            PYTHON,
            str(bench),
            "--dir",
            str(out_dir),
            "--runs",
            str(args.repeats),
            "--seconds",
            str(args.api_seconds),
            "--no-swap",
        ],
        7200,
    )
    header = next((ln for ln in out.splitlines() if ln.startswith("server ")), "")
    found = 0
    for line in out.splitlines():
        m = API_LINE.match(line.strip())
        if not m:
            continue
        found += 1
        table.add(
            "api (4)",
            f"{m['name']} p50 / p99",
            f"{float(m['p50']):.1f} / {float(m['p99']):.1f}",
            "ms",
            f"{int(m['rps']):,} req/s, errors {m['errors']} of {m['requests']}; "
            f"{_size_note(args.api_offers)}",
            command=f"{build}; {command}",
        )
    if not found:
        raise Skip(f"bench_api.py printed no figures I can read: {out[-300:]!r}")
    table.add(
        "api (4)", "server", header.split(" ", 2)[-1][:60], "", "as bench_api.py reports it", command=command
    )


def _size_note(offers: int) -> str:
    return f"{offers / 1e6:g}M-offer snapshot" if offers >= 1_000_000 else f"{offers:,}-offer snapshot"


def storage(table: Table, args: argparse.Namespace) -> None:
    from benchmarks import bench_storage

    for size in args.storage_sizes:
        results = bench_storage.measure(size, args.repeats)
        bench_storage.add_figures(
            table,
            size,
            results,
            f"python -m benchmarks.bench_storage --sizes {size} --repeats {args.repeats}",
        )


def extraction(table: Table, args: argparse.Namespace) -> None:
    from benchmarks import bench_extraction

    pages = 200 if args.quick else 500
    result = bench_extraction.measure_speed(pages, max(args.repeats, 3))
    bench_extraction.add_speed(
        table,
        result,
        f"python -m benchmarks.bench_extraction --pages {pages} --repeats {max(args.repeats, 3)}",
    )
    skipped = bench_extraction.add_accuracy(table, "bijia eval-extraction")
    if skipped:
        raise Skip(f"benchmark accuracy: {skipped}")


class Skip(Exception):
    """A section that cannot run here (a missing script or browser); the message says why."""


def _run(args: list[str], timeout: float) -> str:
    done = subprocess.run(args, cwd=ROOT, env=bench_env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise Skip(f"{Path(args[1]).name} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes and 2 repeats (a few minutes)")
    ap.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}"
    )
    ap.add_argument(
        "--repeats", type=int, help="runs per figure, the median is reported (default 3; quick 2)"
    )
    ap.add_argument(
        "--crawl-size", type=int, help="demo catalogue SKUs for the crawl (default 3000; quick 600)"
    )
    ap.add_argument("--browser-pages", type=int, help="rendered pages (default 2000; quick 200)")
    ap.add_argument("--matching-sizes", type=_ints, help="offers (default 100000,1000000; quick 20000)")
    ap.add_argument(
        "--matching-incremental",
        type=int,
        help="offers in the database for incremental bijia match (default 1000000; quick 20000; 0 = none)",
    )
    ap.add_argument(
        "--api-offers", type=int, help="offers in the API snapshot (default 5000000; quick 200000)"
    )
    ap.add_argument("--api-dir", type=Path, help="an existing make_snapshot.py --out folder to reuse")
    ap.add_argument("--api-seconds", type=float, help="seconds per API load run (default 10; quick 3)")
    ap.add_argument("--storage-sizes", type=_ints, help="offers (default 10000,100000; quick 10000)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args(argv)
    quick = args.quick
    defaults = {
        "repeats": 2 if quick else 3,
        "crawl_size": 600 if quick else 3000,
        "browser_pages": 200 if quick else 2000,
        "matching_sizes": [20_000] if quick else [100_000, 1_000_000],
        "matching_incremental": 20_000 if quick else 1_000_000,
        "api_offers": 200_000 if quick else 5_000_000,
        "api_seconds": 3 if quick else 10,
        "storage_sizes": [10_000] if quick else [10_000, 100_000],
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    table = Table()
    skipped: list[str] = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"bijia benchmarks — {cores()} cores, Python {platform.python_version()}, {platform.machine()}, "
        f"load {load:.1f} at start; medians of {args.repeats} runs{' (quick)' if args.quick else ''}",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    for name in args.only:
        t0, before = time.monotonic(), len(table.figures)
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            globals()[name](table, args)
        except Skip as exc:
            skipped.append(f"{name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others' figures
            traceback.print_exc(file=sys.stderr)
            skipped.append(f"{name}: failed: {type(exc).__name__}: {exc}")
        for f in table.figures[before:]:  # as they come: a long run can be read before it ends
            print(f"  {f.name}: {f.value} {f.unit}  ({f.note})", file=sys.stderr, flush=True)
        print(f"  {name} took {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nbijia benchmarks: {cores()} cores, load {load:.1f} → {load_end:.1f}, "
        f"{time.monotonic() - started:.0f}s, medians of {args.repeats} runs\n"
    )
    print(table.render())
    if skipped:
        print("\nskipped:\n" + "\n".join(f"  {s}" for s in skipped))
    print(
        "\ncommands:\n"
        + "\n".join(f"  {c}" for c in dict.fromkeys(f.command for f in table.figures if f.command))
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cores": cores(),
                    "load": [load, load_end],
                    "repeats": args.repeats,
                    "figures": [asdict(f) for f in table.figures],
                    "skipped": skipped,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
