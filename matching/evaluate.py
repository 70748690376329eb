"""Measure the matcher on public labelled benchmarks, each read in its own format.

Datasets (under ``$BIJIA_SHARED/data`` or ``<repo>/../shared/data``):

- ``abt-buy``: ``tableA.csv``/``tableB.csv`` + ``train``/``valid``/``test.csv`` (ltable_id, rtable_id, label).
- ``wdc-products``: WDC Products 80 % corner cases, gzipped JSON lines; ``train`` = ``*_train_medium``,
  ``valid`` = ``*_valid_medium``, ``test`` = ``*rnd000un_gs`` (seen), ``test-50un``/``test-100un``.
- ``ali-ember-zh`` (optionally ``ali-ember-zh/<category>``, default ``all``): Parquet (read with duckdb);
  ``train``/``valid`` (val.parquet)/``test`` and the other ``test_*`` variants by name.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import MatchConfig
from .grouping import Edge, Grouper
from .prepare import Prepared, Vocabulary, prepare_all
from .records import OfferRecord
from .scoring import feature_rows, probabilities

DATASETS = ("abt-buy", "wdc-products", "ali-ember-zh")
PROFILE = {
    "abt-buy": "abt-buy",
    "wdc-products": "wdc-products",
    "ali-ember-zh": "ali-ember-zh",
    "demo": "default",
}


class DatasetMissing(FileNotFoundError):
    """The benchmark's files are not in the shared data folder."""


@dataclass
class PairSet:
    records: list[OfferRecord]
    pairs: list[tuple[int, int]]
    labels: list[int]


@dataclass
class EvalReport:
    dataset: str
    split: str
    profile: str
    precision: float
    recall: float
    f1: float
    pairs: int
    positives: int
    tp: int
    fp: int
    fn: int
    seconds: float
    pairs_per_second: float
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.dataset} [{self.split}] P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f} "
            f"pairs={self.pairs} pairs/s={self.pairs_per_second:,.0f} (profile {self.profile})"
        )


def data_root() -> Path:
    env = os.environ.get("BIJIA_SHARED")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    return base / "data"


# ------------------------------------------------------------------ loaders


def _num(text: Any) -> float | None:
    try:
        value = float(str(text).replace(",", ""))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def load_abt_buy(split: str, root: Path) -> PairSet:
    folder = root / "abt-buy"
    name = {
        "train": "train.csv",
        "valid": "valid.csv",
        "test": "test.csv",
        "peeters": "peeters_sampled_test.csv",
    }
    if not (folder / name.get(split, "?")).exists():
        raise DatasetMissing(f"{folder / name.get(split, split + '.csv')} not found")
    records: list[OfferRecord] = []
    index: dict[str, int] = {}
    for table, market in (("tableA.csv", "abt"), ("tableB.csv", "buy")):
        with open(folder / table, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                key = f"{market}/{row['id']}"
                index[key] = len(records)
                records.append(
                    OfferRecord(
                        key=key,
                        marketplace=market,
                        title=row["name"] or "",
                        price=_num(row.get("price")),
                        description=row.get("description"),
                    )
                )
    pairs, labels = [], []
    with open(folder / name[split], encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            pairs.append((index[f"abt/{row['ltable_id']}"], index[f"buy/{row['rtable_id']}"]))
            labels.append(int(row["label"]))
    return PairSet(records, pairs, labels)


_WDC = {
    "train": "wdcproducts80cc20rnd000un_train_medium",
    "train-small": "wdcproducts80cc20rnd000un_train_small",
    "valid": "wdcproducts80cc20rnd000un_valid_medium",
    "valid-small": "wdcproducts80cc20rnd000un_valid_small",
    "valid-large": "wdcproducts80cc20rnd000un_valid_large",
    "test": "wdcproducts80cc20rnd000un_gs",
    "test-50un": "wdcproducts80cc20rnd050un_gs",
    "test-100un": "wdcproducts80cc20rnd100un_gs",
}


def load_wdc(split: str, root: Path) -> PairSet:
    path = root / "wdc-products" / f"{_WDC.get(split, split)}.json.gz"
    if not path.exists():
        raise DatasetMissing(f"{path} not found")
    records: list[OfferRecord] = []
    index: dict[str, int] = {}
    pairs, labels = [], []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ends = []
            for side, market in (("left", "left"), ("right", "right")):
                key = f"{market}/{row[f'id_{side}']}"
                if key not in index:
                    index[key] = len(records)
                    records.append(
                        OfferRecord(
                            key=key,
                            marketplace=market,
                            title=row.get(f"title_{side}") or "",
                            brand=row.get(f"brand_{side}"),
                            description=row.get(f"description_{side}"),
                        )
                    )
                ends.append(index[key])
            pairs.append((ends[0], ends[1]))
            labels.append(int(row["label"]))
    return PairSet(records, pairs, labels)


def _pv(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (text or "").split("#;#"):
        if "#:#" in item:
            k, v = item.split("#:#", 1)
            out[k.strip()] = v.strip()
    return out


def load_ali(split: str, root: Path, category: str = "all") -> PairSet:
    import duckdb

    fname = {"train": "train", "valid": "val", "val": "val", "test": "test"}.get(split, split)
    path = root / "ali-ember-zh" / "datasets" / category / f"{fname}.parquet"
    if not path.exists():
        raise DatasetMissing(f"{path} not found")
    con = duckdb.connect()
    rows = con.execute(
        "SELECT id_left, title_left, cate_name_left, pv_pairs_left, id_right, title_right, cate_name_right, "
        "pv_pairs_right, label FROM read_parquet(?)",
        [str(path)],
    ).fetchall()
    con.close()
    records: list[OfferRecord] = []
    index: dict[str, int] = {}
    pairs, labels = [], []
    for r in rows:
        ends = []
        for off, market in ((0, "left"), (4, "right")):
            key = f"{market}/{r[off]}"
            if key not in index:
                index[key] = len(records)
                records.append(
                    OfferRecord(
                        key=key,
                        marketplace=market,
                        title=r[off + 1] or "",
                        category=r[off + 2],
                        attributes=_pv(r[off + 3]),
                    )
                )
            ends.append(index[key])
        pairs.append((ends[0], ends[1]))
        labels.append(int(r[8]))
    return PairSet(records, pairs, labels)


def _measured_shops(cat: Any) -> list[str]:
    """The demo shops these figures were measured on: the field-map shops (issue 13) came later and
    would change every figure's data."""
    return [shop for shop in cat.shops if shop not in getattr(cat, "field_map_shops", ())]


def demo_listing_records(
    generate_catalogue, offers: int, seed: int
) -> tuple[list[OfferRecord], dict[str, str]]:
    """All listings of a demo catalogue sized to about ``offers`` listings, and the truth key → SKU."""
    skus = max(2, offers // 5)
    for _ in range(3):
        cat = generate_catalogue(skus, seed)
        if skus >= 5000:
            break
        count = sum(1 for shop in _measured_shops(cat) for _ in cat.listings(shop))
        skus = max(2, round(skus * offers / count))
    records, truth = [], {}
    for shop in _measured_shops(cat):
        for x in cat.listings(shop):
            key = f"{shop}/{x.listing_id}"
            brand = {"techmall": x.sku.product.brand.en, "shandian": x.sku.product.brand.zh}.get(shop)
            records.append(
                OfferRecord(
                    key=key,
                    marketplace=shop,
                    title=x.title,
                    brand=brand,
                    gtin=x.gtin,
                    mpn=x.mpn,
                    price=float(x.landed_price),
                )
            )
            truth[key] = x.sku.sku_id
    return records, truth


DEMO_SEEDS = {"train": 101, "valid": 202, "test": 7}


def load_demo(split: str, offers: int = 3000) -> PairSet:
    """The demo generator as a labelled pair set: its blocked candidate pairs, labelled by its truth."""
    try:
        from demo.catalogue import generate_catalogue
    except ImportError as exc:
        raise DatasetMissing("demo.catalogue is not available") from exc
    from .blocking import candidate_pairs

    records, truth = demo_listing_records(generate_catalogue, offers, DEMO_SEEDS[split])
    cfg = MatchConfig()
    prepared = prepare_all(records, cfg.cjk_tokens)
    pairs = candidate_pairs(prepared, Vocabulary(p.tokens for p in prepared), cfg)
    return PairSet(records, pairs, [int(truth[records[i].key] == truth[records[j].key]) for i, j in pairs])


def load(dataset: str, split: str, root: Path | None = None) -> PairSet:
    root = root or data_root()
    name, _, sub = dataset.partition("/")
    if name == "demo":
        return load_demo(split)
    if name == "abt-buy":
        return load_abt_buy(split, root)
    if name == "wdc-products":
        return load_wdc(split, root)
    if name == "ali-ember-zh":
        return load_ali(split, root, sub or "all")
    raise ValueError(f"unknown dataset {dataset!r} (expected one of {', '.join(DATASETS)})")


# ------------------------------------------------------------------ scoring a pair set


def featurise(ps: PairSet, config: MatchConfig) -> tuple[list[Prepared], list[list[float]], list[list[str]]]:
    prepared = prepare_all(ps.records, config.cjk_tokens)
    vocab = Vocabulary(p.tokens for p in prepared)
    rows, vetoes = feature_rows(prepared, ps.pairs, vocab, config)
    return prepared, rows, vetoes


def predict(
    ps: PairSet,
    prepared: Sequence[Prepared],
    rows: Sequence[Sequence[float]],
    vetoes: Sequence[Sequence[str]],
    config: MatchConfig,
) -> list[int]:
    """Pair decisions; with ``one_per_marketplace`` the pairs are grouped (1:1 linkage) first."""
    return decide(ps, prepared, probabilities(rows, vetoes, config), config)


def decide(
    ps: PairSet, prepared: Sequence[Prepared], probs: Sequence[float], config: MatchConfig
) -> list[int]:
    """Pair decisions from match probabilities (vetoed pairs already 0): the threshold, or 1:1 linkage."""
    if not config.one_per_marketplace:
        return [int(p >= config.threshold) for p in probs]
    grouper = Grouper(prepared, config.vetoes, one_per_marketplace=True)
    order = sorted(range(len(probs)), key=lambda k: -probs[k])
    for k in order:
        if probs[k] >= config.threshold:
            i, j = ps.pairs[k]
            grouper.try_merge(Edge(i, j, probs[k], "title"))
    return [int(grouper.find(i) == grouper.find(j)) for i, j in ps.pairs]


def prf(labels: Sequence[int], preds: Sequence[int]) -> tuple[float, float, float, int, int, int]:
    tp = sum(1 for y, p in zip(labels, preds, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, preds, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, preds, strict=True) if y and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, fp, fn


def evaluate(
    dataset: str, split: str = "test", config: MatchConfig | None = None, root: Path | None = None
) -> EvalReport:
    """Run the matcher on a benchmark split; precision, recall, F1 and pairs/second (featurising included)."""
    config = config or MatchConfig.load(PROFILE.get(dataset.partition("/")[0], "default"))
    ps = load(dataset, split, root)
    start = time.perf_counter()
    prepared, rows, vetoes = featurise(ps, config)
    preds = predict(ps, prepared, rows, vetoes, config)
    seconds = time.perf_counter() - start
    p, r, f1, tp, fp, fn = prf(ps.labels, preds)
    return EvalReport(
        dataset,
        split,
        config.profile,
        round(p, 4),
        round(r, 4),
        round(f1, 4),
        len(ps.pairs),
        sum(ps.labels),
        tp,
        fp,
        fn,
        round(seconds, 3),
        round(len(ps.pairs) / seconds, 1),
        config.to_dict(),
    )


def scoring_throughput(
    dataset: str = "abt-buy",
    split: str = "test",
    profile: str | None = None,
    repeat: int = 5,
    root: Path | None = None,
) -> dict[str, Any]:
    """Scored pairs per second on one core: features + probability + vetoes over a split's pairs ×
    ``repeat`` (records prepared beforehand). ``profile`` defaults to the dataset's own."""
    from .scoring import score_pairs

    config = MatchConfig.load(profile or PROFILE.get(dataset.partition("/")[0], "default"))
    config.workers = 1
    ps = load(dataset, split, root)
    prepared = prepare_all(ps.records, config.cjk_tokens)
    vocab = Vocabulary(p.tokens for p in prepared)
    pairs = ps.pairs * repeat
    score_pairs(prepared, pairs[:100], vocab, config)  # warm-up: model and jieba loaded
    start = time.perf_counter()
    score_pairs(prepared, pairs, vocab, config)
    seconds = time.perf_counter() - start
    return {
        "dataset": dataset,
        "split": split,
        "profile": config.profile,
        "model": config.model or "logistic",
        "pairs": len(pairs),
        "seconds": round(seconds, 3),
        "pairs_per_second_per_core": round(len(pairs) / seconds),
    }
