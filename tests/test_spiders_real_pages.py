"""Real saved listing pages and API payloads (tests/fixtures/real_listings, sources in its README): each read
with its written field map (maps.toml) and with the map ``bijia marketplaces add`` proposes, against the
truth read from the documents (truth.json: the number of offers and a first, middle and last item).

Targets (issue 13): title + price + currency right on ≥ 95 % of the documents with a written map, and the
automatic proposal right without edits on ≥ 70 %.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.offer import Offer
from crawler.config import FieldMap, Marketplace, load_config
from spiders.fieldmap_probe import propose
from spiders.pages.fieldmap import compile_map

FOLDER = Path(__file__).resolve().parent / "fixtures" / "real_listings"
TRUTH: dict[str, Any] = json.loads((FOLDER / "truth.json").read_text(encoding="utf-8"))
WRITTEN = {m.name: m for m in load_config(FOLDER / "maps.toml").marketplace}
CHINESE = ("jd-", "taobao-", "meituan-", "eleme-", "koubei-")


def map_name(document: str) -> str:
    return document.split(".")[0].replace("_", "-").replace("2dfire", "twodfire")


def content_type(document: str) -> str:
    return "application/json" if document.endswith(".json") else "text/html"


def extract(document: str, market: Marketplace) -> list[Offer]:
    assert market.map is not None
    plan = compile_map(market.map, market)
    body = (FOLDER / document).read_bytes()
    return plan.offers(plan.document(body, market.base_url, content_type(document)))


@dataclass
class Score:
    document: str
    offers: int
    expected: int
    wrong: list[str]

    @property
    def right(self) -> bool:
        return not self.wrong


def score(document: str, offers: list[Offer]) -> Score:
    """Title, price and currency of each sampled truth item, found by listing id (else by title)."""
    truth = TRUTH[document]
    by_id = {o.listing_id: o for o in offers}
    by_title = {o.title: o for o in offers}
    wrong = []
    for item in truth["items"]:
        offer = by_id.get(item["listing_id"]) or by_title.get(item["title"])
        if offer is None:
            wrong.append(f"{item['title'][:30]}: not found")
            continue
        price = None if item["price"] is None else Decimal(item["price"])
        seen = (offer.title, offer.price, offer.currency)
        if seen != (item["title"], price, item["currency"]):
            wrong.append(
                f"{item['title'][:30]}: read {seen}, truth {(item['title'], price, item['currency'])}"
            )
    return Score(document, len(offers), truth["offers"], wrong)


def proposed(document: str) -> Marketplace | None:
    found = propose((FOLDER / document).read_bytes(), "https://shop.example/list", content_type(document))
    if found is None:
        return None
    market = WRITTEN[map_name(document)]
    return market.model_copy(update={"map": FieldMap.model_validate(found.entry["map"])})


def test_every_document_has_a_source_a_map_and_a_truth() -> None:
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    documents = sorted(TRUTH)
    assert len(documents) >= 30
    assert sum(d.startswith(CHINESE) for d in documents) >= 10
    for document in documents:
        assert (FOLDER / document).exists() and f"`{document}`" in readme, document
        assert map_name(document) in WRITTEN, document


@pytest.mark.parametrize("document", sorted(TRUTH))
def test_written_map_reads_the_truth(document: str) -> None:
    result = score(document, extract(document, WRITTEN[map_name(document)]))
    assert result.right, result.wrong
    assert result.offers >= 0.7 * result.expected, (result.offers, result.expected)


def test_targets_on_the_real_documents(capsys: pytest.CaptureFixture[str]) -> None:
    written = [score(d, extract(d, WRITTEN[map_name(d)])) for d in sorted(TRUTH)]
    proposals = []
    for document in sorted(TRUTH):
        market = proposed(document)
        proposals.append(
            score(document, extract(document, market)) if market else Score(document, 0, 1, ["no proposal"])
        )
    right = sum(s.right for s in written) / len(written)
    proposed_right = sum(s.right for s in proposals) / len(proposals)
    with capsys.disabled():
        print(
            f"\nreal documents: {len(written)}; written maps right {right:.0%}; proposals right {proposed_right:.0%}"
        )
        for s in proposals:
            print(f"  proposal {'right' if s.right else 'WRONG'} {s.document}: {'; '.join(s.wrong)[:150]}")
    assert right >= 0.95
    assert proposed_right >= 0.70
