"""The cycle collector is paused while the matcher runs — in the process and in the workers it forks — and
given back afterwards, also when the match fails: a match makes tens of millions of objects and no cycles,
and the collector's passes over them cost a quarter of an incremental match of a million offers."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from demo.records import listing_records
from matching import MatchConfig, match_offers
from matching import parallel as parallel_module
from matching.collector import gc_paused
from service import match as service_match
from tests.test_matching_incremental import _crawl, churn


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_block_gives_the_collector_back_as_it_found_it(collector_on) -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: still off, and not turned on by the inner block's end
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("a failed match")
    assert gc.isenabled()
    gc.disable()  # off before: left off
    with gc_paused():
        pass
    assert not gc.isenabled()


def _checked(stage):
    def run(*args, **kwargs):
        if gc.isenabled():  # raised in a worker, it reaches the parent through the pool
            raise AssertionError(f"{stage.__name__} ran with the cycle collector on")
        return stage(*args, **kwargs)

    return run


def test_match_runs_paused_in_the_process_and_its_workers(collector_on, monkeypatch) -> None:
    records, _ = listing_records(400, 5)
    config = MatchConfig.load("default")
    expected = match_offers(records, config)
    monkeypatch.setattr(parallel_module, "CHUNK", 500)  # several scoring and grouping tasks: forked
    monkeypatch.setattr(parallel_module, "GROUP_BATCH", 60)
    monkeypatch.setattr(parallel_module, "score_batch", _checked(parallel_module.score_batch))
    monkeypatch.setattr(parallel_module, "group_edges", _checked(parallel_module.group_edges))
    got = match_offers(records, config, workers=2)
    assert gc.isenabled()
    assert [g.members for g in got.groups] == [g.members for g in expected.groups]


def test_bijia_match_runs_paused_and_gives_the_collector_back(collector_on, tmp_path, monkeypatch) -> None:
    records, _ = listing_records(300, 8)
    first, second, _ = churn(records, 8)
    db = tmp_path / "bijia.duckdb"
    seen: list[bool] = []
    save = service_match.save_match

    def saved(*args, **kwargs):
        seen.append(gc.isenabled())
        return save(*args, **kwargs)

    monkeypatch.setattr(service_match, "save_match", saved)
    _crawl(db, "c1", first)
    assert service_match.run_match(db, workers=2).mode == "full"
    _crawl(db, "c2", second)
    assert service_match.run_match(db, workers=2).mode == "incremental"
    assert seen == [False, False] and gc.isenabled()
    monkeypatch.setattr(service_match, "match_changed", _fail)
    _crawl(db, "c3", first)
    with pytest.raises(RuntimeError, match="matcher failed"):
        service_match.run_match(db, workers=2)
    assert gc.isenabled()


def _fail(*args, **kwargs):
    raise RuntimeError("matcher failed")
