"""The basket optimiser: time of the exact answer (integer programme) at 20 products × 10 shops, and the
heuristic's gap to it on random baskets (prices, shipping, 包邮 thresholds, 满减, coupons, 第二件半价, 跨店).

    .venv/bin/python benchmarks/bench_basket.py --baskets 200
    .venv/bin/python benchmarks/bench_basket.py --sizes 20x10,40x15,60x20 --baskets 50

Times are per basket, in one warm process (scipy imported once), with the plan priced by
``core.promo_pricing``; wall time and the process's CPU time (HiGHS runs one thread here, so CPU time is
what a quiet core would take); the gap is (heuristic − exact) / exact.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.promo_pricing import basket_total
from service.basket import heuristic, naive
from service.basket_ilp import solve
from tests.basket_cases import random_basket


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(products: int, shops: int, baskets: int, seed: int = 1000) -> dict:
    exact_ms, exact_cpu, heur_ms, gaps, savings = [], [], [], [], []
    for n in range(baskets):
        cands = random_basket(products, shops, seed + n)
        t, cpu = time.perf_counter(), time.process_time()
        exact = basket_total(solve(cands)).total
        exact_ms.append((time.perf_counter() - t) * 1000)
        exact_cpu.append((time.process_time() - cpu) * 1000)
        t = time.perf_counter()
        heur = basket_total(heuristic(cands)).total
        heur_ms.append((time.perf_counter() - t) * 1000)
        base = basket_total(naive(cands)).total
        if heur < exact:
            raise SystemExit(f"basket {seed + n}: heuristic {heur} below the exact {exact}: the ILP is wrong")
        gaps.append(float((heur - exact) / exact))
        savings.append(float((base - exact) / base))
    return {
        "size": f"{products}x{shops}",
        "baskets": baskets,
        "exact_p50_ms": statistics.median(exact_ms),
        "exact_p99_ms": percentile(exact_ms, 0.99),
        "exact_max_ms": max(exact_ms),
        "exact_cpu_p50_ms": statistics.median(exact_cpu),
        "exact_cpu_p99_ms": percentile(exact_cpu, 0.99),
        "heuristic_p50_ms": statistics.median(heur_ms),
        "heuristic_p99_ms": percentile(heur_ms, 0.99),
        "gap_mean_pct": 100 * statistics.mean(gaps),
        "gap_p99_pct": 100 * percentile(gaps, 0.99),
        "gap_max_pct": 100 * max(gaps),
        "heuristic_optimal_share": sum(g == 0 for g in gaps) / len(gaps),
        "saving_vs_naive_median_pct": 100 * statistics.median(savings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20x10,40x15", help="PRODUCTSxSHOPS, comma-separated")
    parser.add_argument("--baskets", type=int, default=100)
    args = parser.parse_args()
    solve(random_basket(3, 2, 0))  # import scipy and warm HiGHS once
    print(f"load {os.getloadavg()[0]:.2f} at the start, {os.cpu_count()} cores")
    for size in args.sizes.split(","):
        products, shops = (int(x) for x in size.lower().split("x"))
        r = measure(products, shops, args.baskets)
        print(
            f"{r['size']:>6} × {r['baskets']}: exact p50 {r['exact_p50_ms']:.1f} ms, p99 {r['exact_p99_ms']:.1f} ms, "
            f"max {r['exact_max_ms']:.1f} ms (CPU p50 {r['exact_cpu_p50_ms']:.1f}, p99 {r['exact_cpu_p99_ms']:.1f} ms) | heuristic p50 {r['heuristic_p50_ms']:.1f} ms, p99 "
            f"{r['heuristic_p99_ms']:.1f} ms, gap mean {r['gap_mean_pct']:.3f} %, p99 {r['gap_p99_pct']:.3f} %, "
            f"max {r['gap_max_pct']:.3f} %, optimal {100 * r['heuristic_optimal_share']:.0f} % | "
            f"exact saves {r['saving_vs_naive_median_pct']:.2f} % (median) against each item at its own cheapest",
            flush=True,
        )
    print(f"load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
