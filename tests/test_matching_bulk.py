"""Column-at-a-time preparation gives exactly what the per-record functions give, and the parallel pipeline
the same groups whatever the number of worker processes."""

from __future__ import annotations

import pytest

from demo.records import listing_records
from matching import MatchConfig, OfferRecord, match_offers
from matching.bulk import normalise_titles
from matching.columns import materialise, prepare_rows
from matching.identity import identity_of
from matching.normalise import normalise_title
from matching.prepare import prepare
from matching.tuning.datasets import DatasetMissing, load

catalogue = pytest.importorskip("demo.catalogue", reason="demo.catalogue (the generator) is not built yet")

ODD = [
    "a\x00b 256G",
    "【官方旗舰店 never closed",
    "closed】 only 1TB",
    "",
    "   ",
    "Ｃａｆé  Ｎｏ．５ 500ML",
    "e\u0301cole 6 x 500ml",
    "iPhone15ProMax 1TB 8GB+256GB",
    "0:L bottle 100G 雀巢 Milo",
    "阿迪达斯originals Samba EU 42 黑色",
    "Coca Cola Zero 330ml ×24罐装",
    "Avery labels 2/3 x 3-7/16 inch 450 pack",
    "Bosch 7274t router 8g/512g",
]


def _records() -> list[OfferRecord]:
    records, _ = listing_records(1500, 17)
    records += [
        OfferRecord(f"odd/{k}", "odd", t, mpn="WH-1000XM5" if k % 2 else None, attributes={"颜色": "黑色"})
        for k, t in enumerate(ODD)
    ]
    return records


def _benchmark_records(splits: tuple[str, ...] = ("valid",)) -> list[OfferRecord]:
    out: list[OfferRecord] = []
    for dataset in ("abt-buy", "wdc-products", "ali-ember-zh"):
        for split in splits:
            try:
                out += load(dataset, split).records
            except DatasetMissing as exc:
                pytest.skip(str(exc))
    return out


def _assert_rows_equal_per_record(records: list[OfferRecord], cjk: str = "bigram") -> None:
    rows = prepare_rows(records, cjk)
    for record, row in zip(records, rows, strict=True):
        prepared = prepare(record, cjk)
        assert materialise(record.key, record.marketplace, row) == (prepared, identity_of(record, prepared))


@pytest.mark.parametrize("cjk", ["bigram", "jieba"])
def test_bulk_normalise_equals_per_record(cjk: str) -> None:
    titles = [r.title for r in _records()]
    assert normalise_titles(titles, cjk) == [normalise_title(t, cjk) for t in titles]


@pytest.mark.parametrize("source", ["demo", "benchmarks"])
def test_prepared_rows_equal_prepare_and_identity(source: str) -> None:
    _assert_rows_equal_per_record(_records() if source == "demo" else _benchmark_records())


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 11])
def test_prepared_rows_of_a_large_demo_catalogue_equal_prepare_and_identity(seed: int) -> None:
    """20,000 offers, where titles repeat across and within shops (each distinct title is read once)."""
    records, _ = listing_records(20_000, seed)
    assert len({r.title for r in records}) < 0.8 * len(records)
    _assert_rows_equal_per_record(records)


@pytest.mark.slow
@pytest.mark.parametrize("cjk", ["bigram", "jieba"])
def test_prepared_rows_of_every_benchmark_record_equal_prepare_and_identity(cjk: str) -> None:
    _assert_rows_equal_per_record(_benchmark_records(("train", "valid")), cjk)


def test_workers_do_not_change_the_groups() -> None:
    records = _records()
    config = MatchConfig.load("default")
    one, two = match_offers(records, config, workers=1), match_offers(records, config, workers=2)
    assert [g.members for g in one.groups] == [g.members for g in two.groups]
    assert [(g.confidence, g.method) for g in one.groups] == [(g.confidence, g.method) for g in two.groups]
    assert {(d.key_a, d.key_b, d.score) for d in one.review} == {
        (d.key_a, d.key_b, d.score) for d in two.review
    }
    assert one.stats == two.stats
