"""Matcher benchmark: benchmark P/R/F1, scored pairs/s/core, scale runs with blocking recall, and
incremental ``bijia match`` on a database.

    .venv/bin/python benchmarks/bench_matching.py                      # benchmarks + throughput + 100k
    .venv/bin/python benchmarks/bench_matching.py --sizes 100000,1000000 --workers 2
    .venv/bin/python benchmarks/bench_matching.py --skip-datasets --sizes 20000
    .venv/bin/python benchmarks/bench_matching.py --skip-datasets --sizes '' --incremental 1000000

Scale runs use ``demo.catalogue.generate_catalogue(size, seed)`` (its truth says which listings are one
SKU) when it exists, else a small built-in generator of the same kinds of title variation. Each size runs
in a fresh subprocess; the records are generated in a child of that and the matcher runs in another, fed
the records from a file, so the peak memory it reports is the matcher's own: the summed PSS of the
matcher's process and its workers (forked workers share pages; RSS would count them twice), sampled during
the run — the figure the ≤ 3 GB target is compared against. The parent reads the truth only afterwards. The
blocking recall is measured on every candidate pair; the matcher then holds only the pairs no veto drops,
as ``bijia match`` does (it drops them while blocking). ``--incremental N``: a database of about N demo offers is matched with ``bijia match``, then 1 %
of its offers change (0.5 % retitled, 0.3 % new, 0.2 % gone) and ``bijia match`` (incremental) and
``bijia match --full`` are timed end to end, each in its own process; their groups are compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks.bench_matching_db import incremental_run
from benchmarks.pss import PssSampler, tree_pss_kb
from demo.records import listing_records
from matching import MatchConfig, OfferRecord
from matching.forking import usable_cores
from matching.pipeline import match_store
from matching.store import PreparedStore
from matching.tuning.datasets import DatasetMissing, load
from matching.tuning.evaluate import evaluate, scoring_throughput

SPLITS = [
    ("abt-buy", "test"),
    ("wdc-products", "test"),
    ("wdc-products", "test-50un"),
    ("wdc-products", "test-100un"),
    ("ali-ember-zh", "test"),
    ("ali-ember-zh/shoes", "test"),
    ("ali-ember-zh/clothing", "test"),
    ("ali-ember-zh/accessories", "test"),
]


# ------------------------------------------------------------------ catalogue for scale runs


def demo_records(size: int, seed: int) -> tuple[list[OfferRecord], dict[str, str], str]:
    """(records, truth key → sku, source). Prefers the project's demo generator."""
    records, truth = listing_records(size, seed)
    return records, truth, "demo.catalogue.generate_catalogue"


_BRANDS = [
    ("Apple", "苹果"),
    ("Huawei", "华为"),
    ("Xiaomi", "小米"),
    ("Samsung", "三星"),
    ("Sony", "索尼"),
    ("Nike", "耐克"),
    ("Adidas", "阿迪达斯"),
    ("Coca-Cola", "可口可乐"),
    ("Lenovo", "联想"),
    ("Philips", "飞利浦"),
]
_COLOURS = [("Black", "黑色"), ("White", "白色"), ("Blue", "蓝色"), ("Silver", "银色"), ("Green", "绿色")]
_WORDS = ["Pro", "Max", "Air", "Ultra", "Lite", "Plus", "Mini", "Neo", "Nova", "Edge", "Zoom", "Flex"]
_SHOPS = ["techmall", "shopline", "woomart", "jingxuan", "shandian"]


def synthetic_catalogue(size: int, seed: int) -> tuple[list[OfferRecord], dict[str, str]]:
    rng = random.Random(seed)
    records: list[OfferRecord] = []
    truth: dict[str, str] = {}
    sku = 0
    while len(records) < size:
        brand_en, brand_zh = rng.choice(_BRANDS)
        line = f"{rng.choice(_WORDS)}{rng.choice(['', 'X', 'S', 'Z'])}"
        number = rng.randint(1, 999)
        for storage in rng.sample([64, 128, 256, 512, 1024], rng.randint(1, 3)):
            for colour_en, colour_zh in rng.sample(_COLOURS, rng.randint(1, 3)):
                sku += 1
                price = rng.uniform(50, 9000)
                for shop in rng.sample(_SHOPS, rng.randint(1, 5)):
                    st = f"{storage // 1024}T" if storage >= 1024 else f"{storage}G"
                    if shop == "jingxuan":
                        title = f"【官方旗舰店】{brand_zh} {line}{number} {st} {colour_zh} 正品"
                    elif shop == "shandian":
                        title = f"{brand_zh}{line} {number} {st}B {colour_zh}"
                    elif shop == "shopline":
                        title = f"{brand_en} {line} {number} - {st}B / {colour_en}"
                    else:
                        title = f"{rng.choice(['', 'Official '])}{brand_en} {line}{number} {colour_en} {st}B"
                    key = f"{shop}/{sku}"
                    records.append(
                        OfferRecord(
                            key=key,
                            marketplace=shop,
                            title=title,
                            price=round(price * rng.uniform(0.9, 1.1), 2),
                        )
                    )
                    truth[key] = str(sku)
    return records[:size], {r.key: truth[r.key] for r in records[:size]}


# ------------------------------------------------------------------ measurements


def _rss_mb() -> tuple[float, float]:
    """Peak RSS so far of this process and of its largest (finished) worker, MB."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished workers: on a machine shared with other
    work, wall time waits for the cores, CPU time much less."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _stage(message: str) -> None:
    main, worker = _rss_mb()
    print(
        f"[{time.strftime('%H:%M:%S')}] {message} (peak RSS so far {main:,.0f} MB, worker {worker:,.0f} MB)",
        file=sys.stderr,
        flush=True,
    )


def scale_run(size: int, seed: int, workers: int) -> dict:
    """Blocking recall on the truth, full grouping time, pairwise P/R of the groups, peak memory. The records
    are generated in one child process (:func:`generate_file`) and matched in another (:func:`match_file`),
    each through a file, so the matcher's memory is its own and this process holds nothing big meanwhile:
    it reads the truth only once the matcher is done."""
    with tempfile.TemporaryDirectory(prefix="bench_matching_") as tmp:
        folder = Path(tmp)
        subprocess.run(
            [sys.executable, __file__, "--generate-file", tmp, "--one-size", str(size), "--seed", str(seed)],
            check=True,
        )
        bench_pss_mb = tree_pss_kb(os.getpid())[0] / 1024
        args = [sys.executable, __file__, "--match-file", tmp, "--workers", str(workers)]
        subprocess.run(args, check=True)
        row = json.loads((folder / "stats.json").read_text())
        generated = json.loads((folder / "generated.json").read_text())
        with (folder / "truth.pickle").open("rb") as f:
            truth = pickle.load(f)
        codes = np.load(folder / "codes.npy")
        keys = json.loads((folder / "keys.json").read_text())
        groups = json.loads((folder / "groups.json").read_text())
    return (
        row
        | _quality(keys, codes, groups, truth)
        | {
            "groups_sha1": hashlib.sha1(json.dumps(groups).encode()).hexdigest()[:12],
            "source": generated["source"],
            "generate_s": generated["generate_s"],
            "benchmark_pss_mb": round(bench_pss_mb),
        }
    )


def generate_file(folder: Path, size: int, seed: int) -> None:
    """The scale run's records and truth, pickled into ``folder`` (with the generator's name and time)."""
    t0 = time.perf_counter()
    records, truth, source = demo_records(size, seed)
    generate_s = time.perf_counter() - t0
    for name, value in (("records", records), ("truth", truth)):
        with (folder / f"{name}.pickle").open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    (folder / "generated.json").write_text(json.dumps({"source": source, "generate_s": round(generate_s, 1)}))


def _quality(keys: list[str], codes: np.ndarray, groups: list[list[str]], truth: dict[str, str]) -> dict:
    """Blocking recall of the candidate pairs and pairwise P/R of the groups, on the truth."""
    n = len(keys)
    sku_index: dict[str, int] = {}
    sku = np.array([sku_index.setdefault(truth[k], len(sku_index)) for k in keys], dtype=np.int64)
    found = int(np.count_nonzero(sku[codes // n] == sku[codes % n]))
    true_pairs = int(sum(c * (c - 1) // 2 for c in np.bincount(sku).tolist()))
    tp = pred = 0
    for members in groups:
        pred += len(members) * (len(members) - 1) // 2
        counts: dict[str, int] = {}
        for k in members:
            counts[truth[k]] = counts.get(truth[k], 0) + 1
        tp += sum(c * (c - 1) // 2 for c in counts.values())
    return {
        "true_pairs": true_pairs,
        "blocking_recall": round(found / true_pairs, 4) if true_pairs else None,
        "precision": round(tp / pred, 4) if pred else None,
        "recall": round(tp / true_pairs, 4) if true_pairs else None,
    }


def match_file(folder: Path, workers: int) -> None:
    """The matcher alone, on the records pickled in ``folder``, stage by stage; writes the candidate pairs,
    the groups and the figures there. Peak memory: summed PSS of this process and its workers."""
    with PssSampler() as pss:
        with (folder / "records.pickle").open("rb") as f:
            records = pickle.load(f)
        config = MatchConfig.load("default")
        pss.stage("prepare")
        t1, cpu0 = time.perf_counter(), _cpu_s()
        store = PreparedStore.prepare(records, config.cjk_tokens, workers)
        del records
        prep_s = time.perf_counter() - t1
        _stage(f"prepared {len(store):,} offers in {prep_s:.0f} s")
        pss.stage("blocking")
        t1 = time.perf_counter()
        codes = store.candidate_codes(config, workers=workers)
        vetoed = store.vetoed(config, codes)  # dropped here, as `bijia match` drops them while blocking
        block_s = time.perf_counter() - t1
        candidates = len(codes)
        np.save(folder / "codes.npy", codes)  # every candidate pair, for the blocking recall
        codes = codes[~vetoed]
        _stage(f"blocking: {candidates:,} candidate pairs, {len(codes):,} not vetoed, in {block_s:.0f} s")
        pss.stage("score_group")
        t2 = time.perf_counter()
        result = match_store(store, config, codes=codes, workers=workers)
        score_group_s = time.perf_counter() - t2
        _stage(f"scored and grouped in {score_group_s:.0f} s")
        cpu_s = _cpu_s() - cpu0
    (folder / "keys.json").write_text(json.dumps(list(store.keys)))
    (folder / "groups.json").write_text(json.dumps([g.members for g in result.groups]))
    main_mb, worker_mb = _rss_mb()
    stats = {
        "offers": len(store),
        "workers": workers,
        "prepare_s": round(prep_s, 1),
        "blocking_s": round(block_s, 1),
        "candidate_pairs": candidates,
        "score_group_s": round(score_group_s, 1),
        "match_s": round(score_group_s + prep_s + block_s, 1),
        "vetoed_before_scoring": int(vetoed.sum()),
        "scored_pairs": result.stats["scored_pairs"],
        "groups": len(result.groups),
        "cpu_s": round(cpu_s, 1),
        "load": round(os.getloadavg()[0], 1),
        "matcher_peak_pss_mb": round(pss.peak_mb),
        "stage_peak_pss_mb": {k: round(v / 1024) for k, v in pss.peaks.items()},
        "peak_rss_mb": round(main_mb),
        "worker_peak_rss_mb": round(worker_mb),
    }
    (folder / "stats.json").write_text(json.dumps(stats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes", default="100000", help="comma-separated offer counts for scale runs ('' = none)"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-datasets", action="store_true")
    ap.add_argument("--split", default=None, help="evaluate this split instead of each dataset's test split")
    ap.add_argument(
        "--workers", type=int, default=usable_cores(), help="processes (default: every usable core)"
    )
    ap.add_argument("--incremental", type=int, help="offers in the database for the incremental run")
    ap.add_argument(
        "--no-full",
        action="store_true",
        help="incremental run only: skip the full regroup it is compared with (no groups-differ count)",
    )
    ap.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--match-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--generate-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="print JSON lines instead of tables")
    args = ap.parse_args()
    if args.match_file:
        match_file(args.match_file, args.workers)
        return
    if args.generate_file:
        generate_file(args.generate_file, args.one_size, args.seed)
        return
    if args.one_size:
        print(json.dumps(scale_run(args.one_size, args.seed, args.workers)))
        return
    if not args.skip_datasets:
        print(f"{'dataset':<28}{'split':<12}{'P':>7}{'R':>7}{'F1':>7}{'pairs':>8}{'pairs/s':>10}")
        for dataset, split in SPLITS:
            try:
                r = evaluate(load(dataset, args.split or split))
            except DatasetMissing as exc:
                print(f"{dataset:<28}skipped: {exc}")
                continue
            print(
                f"{dataset:<28}{args.split or split:<12}{r.precision:7.3f}{r.recall:7.3f}{r.f1:7.3f}{r.pairs:8d}"
                f"{r.pairs_per_second:10,.0f}"
            )
        try:
            t = scoring_throughput(load("abt-buy", "test"))
            print(
                f"scored pairs/s/core (abt-buy test x5, model {t['model']}): "
                f"{t['pairs_per_second_per_core']:,} ({t['pairs']} pairs in {t['cpu_seconds']} CPU s)"
            )
        except DatasetMissing:
            pass
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one-size",
                str(size),
                "--seed",
                str(args.seed),
                "--workers",
                str(args.workers),
            ],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )  # stage progress on stderr
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            json.dumps(row)
            if args.json
            else f"\n{row['offers']:,} offers ({row['source']}): blocking recall {row['blocking_recall']} "
            f"({row['candidate_pairs']:,} candidate pairs for {row['true_pairs']:,} true pairs, "
            f"{row['blocking_s']} s); whole grouping {row['match_s']} s (prepare {row['prepare_s']}, blocking "
            f"{row['blocking_s']}, score+group {row['score_group_s']}), {row['groups']:,} groups, "
            f"pairwise P {row['precision']} R {row['recall']}; matcher peak {row['matcher_peak_pss_mb']:,} MB "
            f"(PSS of its process and workers; by stage {row['stage_peak_pss_mb']}; RSS main "
            f"{row['peak_rss_mb']:,} MB, largest worker {row['worker_peak_rss_mb']:,} MB; the benchmark process "
            f"holding the records and truth {row['benchmark_pss_mb']:,} MB apart), {row['workers']} workers, "
            f"{row['cpu_s']} CPU s, load {row['load']}"
        )
    if args.incremental:
        row = incremental_run(args.incremental, args.seed, args.workers, full=not args.no_full)
        print(
            json.dumps(row)
            if args.json
            else f"\nincremental bijia match on {row['offers']:,} offers, {row['changed']:,} changed: "
            f"{row['incremental_s']} s (full regroup {row['full_s']} s; first match {row['first_s']} s; "
            f"database built in {row['build_s']} s, published in {row['publish_s']} s); "
            f"groups differing from the full regroup: {row['groups_differ']} of {row['groups']:,}; "
            f"load {row['load']}"
        )


if __name__ == "__main__":
    main()
