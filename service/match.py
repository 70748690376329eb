"""``bijia match``: group the stored offers into products with stable ids — incrementally by default."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crawler.runner import new_run_id
from matching.collector import gc_paused
from matching.columns import PREPARE_VERSION, Row
from matching.config import MatchConfig
from matching.forking import usable_cores
from matching.grouping import Edges
from matching.incremental import PreviousMatch, match_changed
from matching.normalise import canonical_brand
from matching.overrides import Overrides
from matching.parallel import METHODS
from matching.pipeline import Group, PairDecision, match_store
from matching.product_ids import assign_product_ids
from matching.records import OfferRecord
from matching.store import KeptRows, PreparedStore
from service.errors import UserError
from storage import connect
from storage.offers import finish_run, start_run
from storage.products import (
    MatchState,
    MatchWrite,
    OfferRow,
    OffersToMatch,
    SavedGroup,
    gone_since_match,
    kept_edges,
    kept_texts,
    marketplaces_to_match,
    match_state,
    offers_for_matching,
    offers_to_match,
    overrides,
    overrides_since,
    prepared_rows,
    previous_product_ids,
    product_ids_of,
    product_members,
    save_match,
)

_NOT_GROUPING = ("workers", "notes")
"""Configuration fields that do not change a grouping (a change of any other means a full regroup)."""


@dataclass
class MatchReport:
    run_id: str
    offers: int
    products: int
    multi_marketplace: int
    review: int
    seconds: float
    mode: str = "full"
    """``full`` (regrouped from scratch) or ``incremental``."""
    changed: int = 0
    """Offers new, changed or gone since the last match (every offer when full)."""
    regrouped: int = 0
    """Offers whose product was worked out again."""
    why_full: str = ""


def representative(titles: list[str]) -> str:
    """A readable product title: the shortest member title once shop marketing in brackets is dropped."""
    cleaned = [re.sub(r"【[^】]*】|\[[^\]]*\]", "", t).strip() or t for t in titles]
    return min(cleaned, key=lambda t: (len(t), t))


def product_brand(brands: list[str]) -> str | None:
    """The group's brand: counted across languages (``苹果`` and ``Apple`` are one brand), shown in Latin
    script when an offer writes it so (so one brand reads the same on every product and brand filters find it),
    else in the spelling used most."""
    spellings = [b.strip() for b in brands if b and b.strip()]
    if not spellings:
        return None
    votes = Counter(canonical_brand(b) or b for b in spellings)
    winner = max(votes, key=lambda c: (votes[c], c))
    written = Counter(b for b in spellings if (canonical_brand(b) or b) == winner)
    return max(written, key=lambda b: (b.isascii(), written[b], [-ord(ch) for ch in b]))


def record_of(row: OfferRow) -> OfferRecord:
    """The matcher's view (``OfferRecord``) of a stored offer (``storage.products.OfferRow``)."""
    return OfferRecord(
        key=row.key,
        marketplace=row.marketplace,
        title=row.title,
        brand=row.brand,
        gtin=row.gtin,
        mpn=row.mpn,
        attributes=row.attributes,
        price=row.price,
        category=row.category,
    )


def load_config(path: Path | None) -> MatchConfig:
    """The matcher configuration: a JSON file of ``MatchConfig`` fields, else the tuned default."""
    if path is None:
        return MatchConfig.load()
    try:
        return MatchConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"{path}: not a usable matcher configuration: {exc}") from None


@gc_paused()  # reading, matching and saving a million offers makes tens of millions of objects, no cycles
def run_match(
    db_path: Path, *, config_path: Path | None = None, full: bool = False, workers: int | None = None
) -> MatchReport:
    """Match the stored offers: only what changed since the last match (``full``: everything again), on
    ``workers`` processes (default: every usable core)."""
    from service.model import configured  # it reads this module's record_of

    started = time.monotonic()
    config = load_config(config_path)
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be at least 1 (got {workers})")
    workers = workers or usable_cores()
    con = connect(db_path)
    try:
        if config_path is None:  # the model fitted with the merchandiser's decisions, when one is active
            config = configured(con, config)
        state = match_state(con)
        why_full = "--full" if full else _why_full(state, config)
        run_id = new_run_id()
        # a full match reads no kept state: every offer's would be held, unused, beside the match
        offers = None if why_full else offers_to_match(con)
        markets = marketplaces_to_match(con) if offers is None else sorted(set(offers.marketplaces))
        start_run(con, run_id, "match", markets, _run_config(config))
        rules = Overrides.from_rows(overrides(con))
        if offers is None:
            write, report = _full(con, state, config, rules, workers)
        else:
            write, report = _incremental(con, offers, state, config, rules, workers)
        todo = [g for g in write.groups if g.product_id not in write.kept_products]
        by_key = {r.key: r for r in offers_for_matching(con, [k for g in todo for k in g.members])}
        write.titles = {g.product_id: _product_facts([by_key[k] for k in g.members]) for g in todo}
        save_match(con, run_id, write)
        offered = report.offers if offers is None else len(offers.keys)
        report = _report(con, run_id, offered, report, round(time.monotonic() - started, 2))
        report.why_full = why_full
        finish_run(con, run_id, "finished", report.__dict__)
        return report
    finally:
        con.close()


def _run_config(config: MatchConfig) -> dict[str, Any]:
    """What a match run keeps of its configuration: the matcher's, and the version of the code that
    prepared its rows (kept rows of another version are prepared again: a full regroup)."""
    return {**config.to_dict(), "prepare_version": PREPARE_VERSION}


def _why_full(state: MatchState, config: MatchConfig) -> str:
    """Why this match must regroup from scratch ('' when it can be incremental)."""
    if state.config is None or not state.offers:
        return "no earlier match"
    before = {k: v for k, v in state.config.items() if k not in _NOT_GROUPING}
    now = {k: v for k, v in _run_config(config).items() if k not in _NOT_GROUPING}
    if before != now:
        changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        return f"matcher configuration or code changed ({', '.join(changed)})"
    return ""


def _full(
    con: Any, state: MatchState, config: MatchConfig, rules: Overrides, workers: int
) -> tuple[MatchWrite, MatchReport]:
    rows = offers_for_matching(con)
    fingerprints = {r.key: r.fingerprint for r in rows}
    records = [record_of(r) for r in rows]
    del rows  # the records share their texts: only the rows' own objects are freed
    store = PreparedStore.prepare(records, config.cjk_tokens, workers)
    del records
    result = match_store(store, config, rules, workers=workers)
    ids = assign_product_ids([g.members for g in result.groups], previous_product_ids(con))
    write = MatchWrite(
        full=True,
        groups=_saved(result.groups, ids),
        titles={},
        state=_state_rows(store, range(len(store)), fingerprints),
        edges=_edge_rows(result.edges or Edges.empty(), list(store.keys)),  # decoded once, not per edge
        review=_review_rows(result.review),
    )
    return write, MatchReport("", len(store), 0, 0, len(result.review), 0.0, "full", len(store), len(store))


def _incremental(
    con: Any,
    offers: OffersToMatch,
    state: MatchState,
    config: MatchConfig,
    rules: Overrides,
    workers: int,
) -> tuple[MatchWrite, MatchReport]:
    store, changed = _store(con, offers, config, workers)
    previous = PreviousMatch(
        {},
        {},
        Edges(*kept_edges(con, METHODS)),
        [PairDecision(a, b, s, [r] if r else []) for a, b, s, r in state.review],
        members_of=lambda keys: product_members(con, keys),
    )
    changed_overrides = frozenset(overrides_since(con, state.started_at))
    removed = gone_since_match(con)
    result = match_changed(store, changed, removed, previous, config, rules, changed_overrides, workers)
    regrouped = {k for g in result.groups for k in g.members}
    before, reserved = product_ids_of(con, sorted(regrouped))
    ids = assign_product_ids([g.members for g in result.groups], before, reserved)
    sizes, changed_keys = Counter(before.values()), set(result.changed)
    kept = {
        pid
        for pid, g in zip(ids, result.groups, strict=True)
        if sizes[pid] == len(g.members)
        and all(before.get(k) == pid and k not in changed_keys for k in g.members)
    }
    fingerprints = dict(zip(offers.keys, offers.fingerprints, strict=True))
    write = MatchWrite(
        full=False,
        groups=_saved(result.groups, ids),
        titles={},
        regrouped=[*result.removed, *sorted(regrouped)],
        changed=[*result.removed, *result.changed],
        state=_state_rows(store, np.flatnonzero(changed).tolist(), fingerprints),
        edges=_edge_rows(result.new_edges, store.keys),
        review=_review_rows(result.review),
        kept_products=frozenset(kept),
    )
    n_changed = len(result.removed) + len(result.changed)
    report = MatchReport(
        "", len(store), 0, 0, len(result.review), 0.0, "incremental", n_changed, len(regrouped)
    )
    return write, report


def _store(
    con: Any, offers: OffersToMatch, config: MatchConfig, workers: int
) -> tuple[PreparedStore, np.ndarray]:
    """The prepared offers: rows kept from the last match (read when needed), and the new or changed offers
    prepared now."""
    changed = ~np.array(offers.kept, dtype=bool)
    new_keys = [offers.keys[k] for k in np.flatnonzero(changed).tolist()]
    fresh = PreparedStore.prepare(
        [record_of(r) for r in offers_for_matching(con, new_keys)], config.cjk_tokens, workers
    )
    fresh_rows = dict(zip(fresh.keys, fresh.rows, strict=True))
    items: list[Row | bytes | None] = [
        None if kept else fresh_rows[key] for key, kept in zip(offers.keys, offers.kept, strict=True)
    ]
    norms = [
        fresh_rows[key].norm if norm is None else norm
        for key, norm in zip(offers.keys, offers.norms, strict=True)
    ]
    rows = KeptRows(items, lambda rows: prepared_rows(con, [offers.keys[i] for i in rows]))

    def kept(kind: str, rows: list[int]) -> list[str | None]:  # a changed offer's stored texts are stale
        unchanged = [i for i in rows if not changed[i]]
        stored = dict(zip(unchanged, kept_texts(con, kind, [offers.keys[i] for i in unchanged]), strict=True))
        return [stored.get(i) for i in rows]

    store = PreparedStore(
        offers.keys, offers.marketplaces, rows, list(offers.key_hashes), norms, kept_texts=kept
    )
    return store, changed


def _state_rows(
    store: PreparedStore, rows: Sequence[int], fingerprints: dict[str, int]
) -> tuple[list[str], list[int], list[str], list[bytes], list[bytes], list[str], list[str]]:
    rows = list(rows)
    keys = [store.keys[i] for i in rows]  # each read once: a full match's keys are packed, decoded when read
    return (
        keys,
        [fingerprints[k] for k in keys],
        [store.norms[i] for i in rows],
        [store.key_hashes[i] or b"" for i in rows],
        [store.row_blob(i) for i in rows],
        store.texts("twin", rows),
        store.texts("veto", rows),
    )


def _saved(groups: Sequence[Group], ids: Sequence[str]) -> list[SavedGroup]:
    return [
        SavedGroup(pid, g.members, g.confidence, dict(g.method)) for pid, g in zip(ids, groups, strict=True)
    ]


def _edge_rows(edges: Edges, keys: Sequence[str]) -> tuple[list[str], list[str], list[float], list[str]]:
    return (
        [keys[i] for i in edges.i.tolist()],
        [keys[j] for j in edges.j.tolist()],
        edges.score.tolist(),
        [METHODS[m] for m in edges.method.tolist()],
    )


def _review_rows(review: Sequence[PairDecision]) -> list[tuple[str, str, float, str]]:
    return [(p.key_a, p.key_b, p.score, "; ".join(p.reasons)) for p in review]


def _product_facts(members: Sequence[OfferRow]) -> tuple[str, str | None, str | None]:
    """(title, brand, category) of a product from its member offers."""
    categories = Counter(m.category for m in members if m.category)
    return (
        representative([m.title for m in members]),
        product_brand([m.brand for m in members if m.brand]),
        categories.most_common(1)[0][0] if categories else None,
    )


def _report(con: Any, run_id: str, offers: int, report: MatchReport, seconds: float) -> MatchReport:
    products, multi = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE markets > 1) FROM "
        "(SELECT product_id, count(DISTINCT marketplace) AS markets FROM product_offers GROUP BY product_id)"
    ).fetchone()
    report.run_id, report.offers, report.products, report.multi_marketplace = run_id, offers, products, multi
    report.seconds = seconds
    return report
