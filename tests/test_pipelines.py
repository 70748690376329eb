"""Pipelines: raw price texts parsed, unusable offers dropped with a counted reason, batches staged."""

from decimal import Decimal
from types import SimpleNamespace

import duckdb
import pytest
from scrapy.exceptions import DropItem
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from core.offer import Offer
from crawler.config import Marketplace
from crawler.pipelines import DuckDBPipeline, PricePipeline, ValidatePipeline
from crawler.runner import marketplace_status, stored_offers
from storage import connect
from storage.offers import stage_offers, staged_count, start_run


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


# ------------------------------------------------------------------ values that cannot be stored


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"price": Decimal("0.001")}, "price_rounds_to_zero"),
        ({"price": Decimal("0.004")}, "price_rounds_to_zero"),
        ({"price_raw": "1e308"}, "price_scientific_notation"),
        ({"price_raw": "{'v': 1}"}, "price_not_a_number"),
        ({"price": Decimal("NaN")}, "no_price"),
        ({"price": Decimal("1E+20")}, "price_absurd"),
        ({"price": Decimal(10), "final_price": Decimal("0.004")}, "final_price_rounds_to_zero"),
        ({"price": Decimal(10), "shipping": Decimal("1e17")}, "shipping_absurd"),
        ({"price": Decimal(10), "url": "javascript:alert(1)"}, "url_not_http"),
        ({"price": Decimal(10), "url": " JaVaScRiPt:alert(1)"}, "url_not_http"),
        ({"price": Decimal(10), "url": "file:///etc/passwd"}, "url_not_http"),
        ({"price": Decimal(10), "url": "data:text/html,x"}, "url_not_http"),
    ],
)
def test_offers_that_cannot_be_compared_or_stored_are_dropped_with_a_reason(fields, reason):
    crawler = crawler_for(MARKET)
    offer = raw_offer(**{k: v for k, v in fields.items() if k != "url"})
    offer.url = fields.get("url", offer.url)
    PricePipeline(crawler).process_item(offer)
    with pytest.raises(DropItem, match=reason):
        ValidatePipeline.from_crawler(crawler).process_item(offer)
    assert crawler.stats.get_value(f"bijia/dropped/{reason}") == 1


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        ({"list_price": Decimal("99999999999999999")}, "list_price", "list_price_out_of_range"),
        ({"list_price_raw": "1e20"}, "list_price", "list_price_scientific_notation"),
        ({"stock_qty": 10**12}, "stock_qty", "stock_qty_out_of_range"),
        ({"delivery_hours": float("inf")}, "delivery_hours", "delivery_hours_out_of_range"),
        ({"image": "javascript:alert(2)"}, "image", "image_not_http"),
    ],
)
def test_a_field_that_cannot_be_stored_is_cleared_and_the_offer_kept(fields, field, reason):
    crawler = crawler_for(MARKET)
    offer = PricePipeline(crawler).process_item(raw_offer(price=Decimal("10"), **fields))
    kept = ValidatePipeline.from_crawler(crawler).process_item(offer)
    assert getattr(kept, field) is None and kept.price == Decimal("10.00")
    assert crawler.stats.get_value(f"bijia/cleared/{reason}") == 1


def test_money_is_stored_as_the_cents_duckdb_keeps_and_broken_text_is_repaired():
    crawler = crawler_for(MARKET)
    offer = raw_offer(price=Decimal("19.995"), shipping=Decimal("0.005"), attributes={"颜色\ud800": "黑"})
    offer.title = "Kettle \ud800"
    kept = ValidatePipeline.from_crawler(crawler).process_item(offer)
    assert (kept.price, kept.shipping) == (Decimal("20.00"), Decimal("0.01"))  # half away from zero
    assert kept.title == "Kettle \ufffd" and kept.attributes == {"颜色\ufffd": "黑"}
    assert crawler.stats.get_value("bijia/cleared/text_not_unicode") == 1


def staged_offer(listing_id: str, **fields) -> Offer:
    offer = raw_offer(price=Decimal(10), **fields)
    offer.listing_id = listing_id
    return offer


def test_an_offer_the_database_refuses_loses_only_itself(db_path):
    """The pipeline's checks keep such values out; if one still gets through, the rest of the batch is
    stored, the refused offer is counted as an error and ``bijia/staged`` is what was stored."""
    con = connect(db_path)
    start_run(con, "r1", "crawl", ["jx"])
    con.close()
    crawler = crawler_for(MARKET)
    pipeline = DuckDBPipeline(str(db_path), "r1", batch_size=3, crawler=crawler)
    pipeline.open_spider()
    for n in range(5):  # JX2 carries a value DECIMAL(18,2) cannot hold, JX3 text UTF-8 cannot encode
        pipeline.process_item(
            staged_offer(
                f"JX{n}", list_price=Decimal("1e17") if n == 2 else None, seller="\ud800" if n == 3 else None
            )
        )
    pipeline.close_spider()
    con = connect(db_path)
    try:
        rows = con.execute("SELECT listing_id FROM staging_offers ORDER BY 1").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["JX0", "JX1", "JX4"]
    stats = crawler.stats.get_stats()
    assert stats["bijia/errors/storage_rejected"] == 2 and stats["bijia/staged"] == 3 == pipeline.written
    status, reason, errors = marketplace_status(
        {**stats, "item_scraped_count": 5, "finish_reason": "finished"}
    )
    assert (status, errors) == ("degraded", 2)  # a shop that lost offers is not ok
    assert "2 offer(s) the database refused" in reason


def test_without_a_reject_handler_a_refused_batch_raises(db_path):
    con = connect(db_path)
    try:
        start_run(con, "r1", "crawl", ["jx"])
        with pytest.raises(duckdb.ConversionException):
            stage_offers(con, "r1", [staged_offer("JX1"), staged_offer("JX2", list_price=Decimal("1e17"))])
        assert staged_count(con, "r1") == {}
    finally:
        con.close()


def test_the_reported_offers_are_the_stored_ones():
    stats = {"item_scraped_count": 3, "bijia/staged": 0, "finish_reason": "finished"}
    assert marketplace_status(stats)[:2] == ("failed", "no offers")  # main said "ok, 3 offers"
    assert stored_offers(stats) == 0
