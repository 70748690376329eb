"""Pipelines: raw price texts parsed, unusable offers dropped with a counted reason, batches staged."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from scrapy.exceptions import DropItem
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from core.offer import Offer
from crawler.config import Marketplace
from crawler.pipelines import DuckDBPipeline, PricePipeline, ValidatePipeline
from storage import connect
from storage.offers import staged_count, start_run


def crawler_for(market: Marketplace):
    crawler = get_crawler()
    crawler.spider = SimpleNamespace(marketplace=market)
    crawler.stats = MemoryStatsCollector(crawler)
    return crawler


MARKET = Marketplace(
    name="jx", shape="browser", base_url="http://127.0.0.1/jx/", currency="CNY", default_shipping=Decimal("7")
)


def raw_offer(**fields) -> Offer:
    return Offer(
        marketplace="jx", listing_id="JX1", url="http://127.0.0.1/jx/1", title="苹果 iPhone 15", **fields
    )


def test_price_pipeline_parses_raw_texts():
    item = PricePipeline(crawler_for(MARKET)).process_item(
        raw_offer(
            price_raw="¥5,999.00",
            final_price_raw="券后价 ¥5,799.00",
            shipping_raw="包邮",
            delivery_raw="次日达",
        )
    )
    assert (item.price, item.final_price, item.shipping) == (
        Decimal("5999.00"),
        Decimal("5799.00"),
        Decimal(0),
    )
    assert item.currency == "CNY" and item.delivery_hours == 24


def test_default_shipping_only_when_shop_states_none():
    pipeline = PricePipeline(crawler_for(MARKET))
    assert pipeline.process_item(raw_offer(price=Decimal("10"))).shipping == Decimal("7")
    assert pipeline.process_item(
        raw_offer(price=Decimal("10"), shipping_raw="运费 ¥6.00")
    ).shipping == Decimal("6.00")


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({}, "no_price"),
        ({"price": Decimal(0)}, "price_not_positive"),
        ({"price": Decimal(-5)}, "price_not_positive"),
        ({"price": Decimal("1e12")}, "price_absurd"),
        ({"price": Decimal(10), "final_price": Decimal(12)}, "final_price_inconsistent"),
        ({"price": Decimal(10), "title": "  "}, "no_title"),
    ],
)
def test_validation_drops_with_counted_reason(fields, reason):
    crawler = crawler_for(MARKET)
    pipeline = ValidatePipeline.from_crawler(crawler)
    offer = raw_offer(**{k: v for k, v in fields.items() if k != "title"})
    if "title" in fields:
        offer.title = fields["title"]
    with pytest.raises(DropItem, match=reason):
        pipeline.process_item(offer)
    assert crawler.stats.get_value(f"bijia/dropped/{reason}") == 1


def test_valid_offer_passes():
    assert ValidatePipeline().process_item(raw_offer(price=Decimal(10))).price == Decimal(10)


def test_duckdb_pipeline_batches_into_staging(db_path):
    con = connect(db_path)
    start_run(con, "r1", "crawl", ["jx"])
    con.close()
    pipeline = DuckDBPipeline(str(db_path), "r1", batch_size=2)
    pipeline.open_spider()
    for i in range(5):
        offer = raw_offer(price=Decimal(10 + i))
        offer.listing_id = f"JX{i}"
        pipeline.process_item(offer)
    assert pipeline.written == 4  # two full batches; one offer still buffered
    pipeline.close_spider()
    con = connect(db_path)
    assert staged_count(con, "r1") == {"jx": 5}
