"""Labelled pair sets for measuring and fitting the matcher, each read in its own format.

- Any **DeepMatcher-format folder**: ``tableA.csv``, ``tableB.csv`` (an ``id`` column) and
  ``train.csv``/``valid.csv``/``test.csv`` (``ltable_id``, ``rtable_id``, ``label``), with a column mapping
  (``title=name,brand=manufacturer,mpn=modelno,price=price``; guessed from the usual names when absent).
- Named shared sets (under ``$BIJIA_SHARED/data`` or ``<repo>/../shared/data``): ``abt-buy`` (DeepMatcher);
  ``wdc-products`` (WDC Products 80 % corner cases, gzipped JSON lines: ``train`` = ``*_train_medium``,
  ``valid`` = ``*_valid_medium``, ``test`` = ``*rnd000un_gs`` (seen), ``test-50un``/``test-100un``);
  ``ali-ember-zh[/category]`` (Parquet: ``train``/``valid`` (val.parquet)/``test`` and the other ``test_*``).
- ``demo``: the demo generator's blocked candidate pairs labelled by its truth (one seed per split).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from demo.records import listing_records
from matching.blocking import candidate_pairs
from matching.config import MatchConfig
from matching.prepare import Vocabulary, prepare_all
from matching.records import OfferRecord

NAMED = ("abt-buy", "wdc-products", "ali-ember-zh", "demo")
FIELDS = ("title", "brand", "mpn", "gtin", "price", "description", "category")
"""``OfferRecord`` fields a column of a DeepMatcher table can fill."""
GUESSES: dict[str, tuple[str, ...]] = {
    "title": ("title", "name"),
    "brand": ("brand", "manufacturer"),
    "mpn": ("mpn", "modelno", "model"),
    "gtin": ("gtin", "ean", "upc"),
    "price": ("price",),
    "description": ("description",),
    "category": ("category",),
}
"""Columns read when no mapping names the field (the first present wins)."""
SPLIT_FILES = {"train": "train.csv", "valid": "valid.csv", "test": "test.csv"}


class DatasetError(ValueError):
    """A labelled set that cannot be read: missing folder or file, missing column, bad mapping."""


class DatasetMissing(DatasetError, FileNotFoundError):
    """The set's files are not where they should be."""


@dataclass
class PairSet:
    name: str
    records: list[OfferRecord]
    pairs: list[tuple[int, int]]
    labels: list[int]
    truth: dict[str, str] = field(default_factory=dict)
    """Each record key's true group, when the set knows its groups (the demo): grouping can be scored."""


def data_root() -> Path:
    env = os.environ.get("BIJIA_SHARED")
    base = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    return base / "data"


def parse_columns(text: str | None) -> dict[str, str]:
    """``title=name,mpn=modelno`` → ``{"title": "name", "mpn": "modelno"}`` (fields checked)."""
    mapping: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        field, eq, column = (s.strip() for s in item.partition("="))
        if not eq or not field or not column:
            raise DatasetError(f"--columns: {item.strip()!r} is not field=column (e.g. title=name)")
        if field not in FIELDS:
            raise DatasetError(f"--columns: unknown field {field!r} (fields: {', '.join(FIELDS)})")
        mapping[field] = column
    return mapping


def _num(text: object) -> float | None:
    try:
        value = float(str(text).replace(",", "").strip().lstrip("$¥€£"))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if text and text.lower() != "nan" else None


def _read_table(path: Path, market: str, mapping: dict[str, str]) -> Iterator[OfferRecord]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        columns = dict(mapping)
        for field, names in GUESSES.items():
            columns.setdefault(field, next((n for n in names if n in header), ""))
        missing = [f"{c!r} ({f})" for f, c in columns.items() if c and c not in header]
        if "id" not in header:
            missing.insert(0, "'id'")
        if missing:
            raise DatasetError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(header)})")
        if not columns["title"]:
            raise DatasetError(f"{path}: no title column; map one with --columns title=COLUMN")
        for row in reader:
            get = {f: (row.get(c) if c else None) for f, c in columns.items()}
            yield OfferRecord(
                key=f"{market}/{row['id']}",
                marketplace=market,
                title=get["title"] or "",
                brand=_text(get["brand"]),
                gtin=_text(get["gtin"]),
                mpn=_text(get["mpn"]),
                price=_num(get["price"]),
                description=_text(get["description"]),
                category=_text(get["category"]),
            )


def load_deepmatcher(
    folder: Path, split: str, columns: dict[str, str] | None = None, markets: tuple[str, str] = ("a", "b")
) -> PairSet:
    """A DeepMatcher-format folder's split (``train``/``valid``/``test`` or another ``<split>.csv``)."""
    if not folder.is_dir():
        raise DatasetMissing(f"{folder}: no such folder")
    pairs_file = folder / SPLIT_FILES.get(split, f"{split}.csv")
    for path in (folder / "tableA.csv", folder / "tableB.csv", pairs_file):
        if not path.is_file():
            raise DatasetMissing(
                f"{path} not found (a DeepMatcher folder holds tableA.csv, tableB.csv and "
                "train.csv/valid.csv/test.csv)"
            )
    records: list[OfferRecord] = []
    index: dict[str, int] = {}
    for table, market in zip(("tableA.csv", "tableB.csv"), markets, strict=True):
        for record in _read_table(folder / table, market, columns or {}):
            index[record.key] = len(records)
            records.append(record)
    pairs, labels = [], []
    with open(pairs_file, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"ltable_id", "rtable_id", "label"} - set(reader.fieldnames or [])
        if need:
            raise DatasetError(f"{pairs_file}: no column {', '.join(sorted(need))}")
        for line, row in enumerate(reader, start=2):
            ends = (f"{markets[0]}/{row['ltable_id']}", f"{markets[1]}/{row['rtable_id']}")
            unknown = [k for k in ends if k not in index]
            if unknown:
                raise DatasetError(f"{pairs_file}:{line}: id {unknown[0].split('/', 1)[1]} not in its table")
            pairs.append((index[ends[0]], index[ends[1]]))
            labels.append(int(float(row["label"])))
    return PairSet(f"{folder.name}:{split}", records, pairs, labels)


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


class _Records:
    """Records keyed once each, in first-seen order."""

    def __init__(self) -> None:
        self.records: list[OfferRecord] = []
        self.index: dict[str, int] = {}

    def add(self, key: str, make) -> int:
        if key not in self.index:
            self.index[key] = len(self.records)
            self.records.append(make())
        return self.index[key]


def load_wdc(split: str, root: Path) -> PairSet:
    path = root / "wdc-products" / f"{_WDC.get(split, split)}.json.gz"
    if not path.exists():
        raise DatasetMissing(f"{path} not found")
    seen, pairs, labels = _Records(), [], []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ends = []
            for side in ("left", "right"):
                key = f"{side}/{row[f'id_{side}']}"
                ends.append(
                    seen.add(
                        key,
                        lambda key=key, side=side, row=row: OfferRecord(
                            key=key,
                            marketplace=side,
                            title=row.get(f"title_{side}") or "",
                            brand=row.get(f"brand_{side}"),
                            description=row.get(f"description_{side}"),
                        ),
                    )
                )
            pairs.append((ends[0], ends[1]))
            labels.append(int(row["label"]))
    return PairSet(f"wdc-products:{split}", seen.records, pairs, labels)


def _pv(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (text or "").split("#;#"):
        if "#:#" in item:
            k, v = item.split("#:#", 1)
            out[k.strip()] = v.strip()
    return out


def load_ali(split: str, root: Path, category: str = "all") -> PairSet:
    fname = {"train": "train", "valid": "val", "val": "val", "test": "test"}.get(split, split)
    path = root / "ali-ember-zh" / "datasets" / category / f"{fname}.parquet"
    if not path.exists():
        raise DatasetMissing(f"{path} not found")
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT id_left, title_left, cate_name_left, pv_pairs_left, id_right, title_right, "
            "cate_name_right, pv_pairs_right, label FROM read_parquet(?)",
            [str(path)],
        ).fetchall()
    finally:
        con.close()
    seen, pairs, labels = _Records(), [], []
    for r in rows:
        ends = []
        for off, side in ((0, "left"), (4, "right")):
            ends.append(
                seen.add(
                    f"{side}/{r[off]}",
                    lambda off=off, side=side, r=r: OfferRecord(
                        key=f"{side}/{r[off]}",
                        marketplace=side,
                        title=r[off + 1] or "",
                        category=r[off + 2],
                        attributes=_pv(r[off + 3]),
                    ),
                )
            )
        pairs.append((ends[0], ends[1]))
        labels.append(int(r[8]))
    return PairSet(f"ali-ember-zh/{category}:{split}", seen.records, pairs, labels)


DEMO_SEEDS: dict[str, tuple[int, ...]] = {"train": (101, 102, 103), "valid": (202,), "test": (7,)}
"""Demo catalogues per split; the default model trains on several seeds and chooses on another."""
DEMO_OFFERS = 1000


def demo_pairs(records: Sequence[OfferRecord], truth: dict[str, str], name: str) -> PairSet:
    """A demo catalogue's blocked candidate pairs (what the matcher scores), labelled by the truth."""
    cfg = MatchConfig()
    prepared = prepare_all(records, cfg.cjk_tokens)
    pairs = candidate_pairs(prepared, Vocabulary(p.tokens for p in prepared), cfg)
    labels = [int(truth[records[i].key] == truth[records[j].key]) for i, j in pairs]
    return PairSet(name, list(records), pairs, labels, dict(truth))


def load_demo(split: str, offers: int = DEMO_OFFERS) -> PairSet:
    """The demo generator as a labelled pair set, one catalogue per seed of the split (pooled)."""
    if split not in DEMO_SEEDS:
        raise DatasetError(f"demo has no split {split!r} (splits: {', '.join(DEMO_SEEDS)})")
    parts = [demo_pairs(*listing_records(offers, seed), f"demo:{seed}") for seed in DEMO_SEEDS[split]]
    return concat(parts, f"demo:{split}")


def concat(parts: Sequence[PairSet], name: str) -> PairSet:
    """Several pair sets as one (records kept apart: their keys are prefixed with the part's index)."""
    if len(parts) == 1:
        return replace(parts[0], name=name)
    records: list[OfferRecord] = []
    pairs: list[tuple[int, int]] = []
    labels: list[int] = []
    truth: dict[str, str] = {}
    for n, part in enumerate(parts):
        base = len(records)
        records += [replace(r, key=f"{n}:{r.key}") for r in part.records]
        pairs += [(i + base, j + base) for i, j in part.pairs]
        labels += part.labels
        truth.update({f"{n}:{k}": f"{n}:{v}" for k, v in part.truth.items()})
    return PairSet(name, records, pairs, labels, truth)


def load(
    dataset: str, split: str, columns: dict[str, str] | None = None, root: Path | None = None
) -> PairSet:
    """A labelled split: a named set (``abt-buy``, ``wdc-products``, ``ali-ember-zh[/category]``,
    ``demo``) or the path of a DeepMatcher-format folder (with ``columns``; ``./abt-buy`` for a folder
    named like a shared set)."""
    name, _, sub = dataset.partition("/")
    if name in NAMED:  # a folder of the same name is given as ./name
        root = root or data_root()
        if name == "demo":
            return load_demo(split)
        if name == "abt-buy":
            return load_deepmatcher(root / "abt-buy", split, {"title": "name"}, ("abt", "buy"))
        if name == "wdc-products":
            return load_wdc(split, root)
        return load_ali(split, root, sub or "all")
    path = Path(dataset).expanduser()
    if path.is_dir() or "/" in dataset or dataset.startswith("."):
        return load_deepmatcher(path, split, columns)
    raise DatasetError(
        f"unknown dataset {dataset!r} (expected abt-buy, wdc-products, ali-ember-zh[/category], demo, "
        "or the folder of a DeepMatcher-format set)"
    )
