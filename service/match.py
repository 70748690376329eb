"""``bijia match``: group the stored offers into products with stable ids."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from storage import connect


@dataclass
class MatchReport:
    run_id: str
    offers: int
    products: int
    multi_marketplace: int
    review: int
    seconds: float


def representative(titles: list[str]) -> str:
    """A readable product title: the shortest member title once shop marketing in brackets is dropped."""
    import re

    cleaned = [re.sub(r"【[^】]*】|\[[^\]]*\]", "", t).strip() or t for t in titles]
    return min(cleaned, key=lambda t: (len(t), t))


def product_brand(brands: list[str]) -> str | None:
    """The group's brand: counted across languages (``苹果`` and ``Apple`` are one brand), shown in Latin
    script when an offer writes it so (so one brand reads the same on every product and brand filters find it),
    else in the spelling used most."""
    from matching.normalise import canonical_brand

    spellings = [b.strip() for b in brands if b and b.strip()]
    if not spellings:
        return None
    votes = Counter(canonical_brand(b) or b for b in spellings)
    winner = max(votes, key=lambda c: (votes[c], c))
    written = Counter(b for b in spellings if (canonical_brand(b) or b) == winner)
    return max(written, key=lambda b: (b.isascii(), written[b], [-ord(ch) for ch in b]))


def record_of(row):
    """The matcher's view (``OfferRecord``) of a stored offer (``storage.products.OfferRow``)."""
    from matching.records import OfferRecord

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


def load_config(path: Path | None):
    """The matcher configuration: a JSON file of ``MatchConfig`` fields, else the tuned default."""
    import json

    from matching.config import MatchConfig
    from service.errors import UserError

    if path is None:
        return MatchConfig.load()
    try:
        return MatchConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"{path}: not a usable matcher configuration: {exc}") from None


def run_match(db_path: Path, *, config_path: Path | None = None) -> MatchReport:
    import time

    from crawler.runner import new_run_id
    from matching import match_offers
    from matching.overrides import Overrides
    from matching.product_ids import assign_product_ids
    from service.model import configured
    from storage.offers import finish_run, start_run
    from storage.products import (
        SavedGroup,
        offers_for_matching,
        overrides,
        previous_product_ids,
        save_products,
        save_review,
    )

    started = time.monotonic()
    config = load_config(config_path)
    con = connect(db_path)
    try:
        if config_path is None:  # the model fitted with the merchandiser's decisions, when one is active
            config = configured(con, config)
        rows = offers_for_matching(con)
        records = [record_of(r) for r in rows]
        by_key = {r.key: r for r in rows}
        run_id = new_run_id()
        start_run(con, run_id, "match", sorted({r.marketplace for r in rows}), config.to_dict())
        result = match_offers(records, config, Overrides.from_rows(overrides(con)))
        member_lists = [list(g.members) for g in result.groups]
        ids = assign_product_ids(member_lists, previous_product_ids(con))
        groups = [
            SavedGroup(pid, g.members, g.confidence, dict(g.method))
            for pid, g in zip(ids, result.groups, strict=True)
        ]
        titles = {}
        for g in groups:
            members = [by_key[k] for k in g.members]
            categories = Counter(m.category for m in members if m.category)
            titles[g.product_id] = (
                representative([m.title for m in members]),
                product_brand([m.brand for m in members if m.brand]),
                categories.most_common(1)[0][0] if categories else None,
            )
        save_products(con, run_id, groups, titles)
        save_review(con, run_id, [(p.key_a, p.key_b, p.score, "; ".join(p.reasons)) for p in result.review])
        multi = sum(1 for g in groups if len({k.split("/", 1)[0] for k in g.members}) > 1)
        seconds = round(time.monotonic() - started, 2)
        report = MatchReport(run_id, len(records), len(groups), multi, len(result.review), seconds)
        finish_run(con, run_id, "finished", report.__dict__)
        return report
    finally:
        con.close()
