"""The shapes of the API's JSON answers, for the OpenAPI document (the endpoints write precomputed JSON
themselves; these models describe it). Money is a decimal string, times ISO 8601."""

from __future__ import annotations

from pydantic import BaseModel, Field

Money = str | None


class ProductSummary(BaseModel):
    product_id: str
    title: str
    brand: str | None = None
    category: str | None = None
    image: str | None = Field(None, description="An http(s) image URL of one of its offers, when known.")
    currency: str = Field(description="The display currency every `*_price` of the summary is in.")
    offers: int
    marketplaces: int
    offers_apart: int = Field(description="Offers in a currency without a usable rate: shown, never ranked.")
    lowest_price: Money = Field(description="Lowest landed price (price after coupon + shipping).")
    lowest_marketplace: str | None = None
    lowest_shipping_unknown: bool | None = Field(
        None, description="The lowest offer's shipping fee is unknown: its price is a lower bound."
    )
    highest_price: Money = None
    saving: Money = Field(None, description="Highest minus lowest landed price.")
    price_now: Money = Field(None, description="Lowest price after coupon now (shipping excluded).")
    price_since: str | None = Field(None, description="The day the price now took effect.")
    reference_price: Money = Field(
        None, description="Lowest daily price in the 30 days before `price_since` (EU Omnibus rule)."
    )
    real_discount: bool = Field(description="`price_now` is below `reference_price`.")
    low_all_time: Money = None
    last_observed: str | None = None


class Offer(BaseModel):
    rank: int
    marketplace: str
    listing_id: str
    title: str
    brand: str | None = None
    url: str | None = Field(None, description="http(s) only.")
    seller: str | None = None
    store: str | None = None
    currency: str | None = Field(None, description="The offer's own currency (of every unconverted price).")
    price: Money = None
    list_price: Money = None
    final_price: Money = Field(None, description="Price after coupon (券后价).")
    shipping: Money = Field(None, description="Shipping fee; null when unknown (never taken as 0).")
    shipping_known: bool
    landed_price: Money = Field(None, description="Final price + shipping; null when shipping is unknown.")
    display_price: Money = Field(None, description="The ranking price in the display currency.")
    display_landed_price: Money = None
    comparable: bool = Field(description="A rate into the display currency is known.")
    rate: Money = None
    rate_date: str | None = None
    reference_price: Money = Field(
        None, description="This offer's lowest price in the 30 days before its price."
    )
    price_since: str | None = None
    real_discount: bool
    in_stock: bool | None = None
    stock_qty: int | None = None
    delivery_hours: float | None = None
    delivery_text: str | None = None
    distance_km: float | None = None
    image: str | None = None
    observed_at: str
    stale: bool
    missed_runs: int
    match_confidence: float | None = None
    match_method: str | None = None


class SearchResponse(BaseModel):
    snapshot: str
    count: int = Field(description="Matching products in all pages.")
    sort: str
    next_cursor: str | None = None
    items: list[ProductSummary]


class ProductResponse(BaseModel):
    snapshot: str
    product: ProductSummary
    offers: list[Offer]


class BestOffer(BaseModel):
    marketplace: str
    display_price: Money = None
    is_lowest: bool
    currency: str | None = None
    landed_price: Money = None
    shipping_known: bool
    comparable: bool
    listing_id: str
    title: str
    in_stock: bool | None = None
    delivery_hours: float | None = None
    observed_at: str
    url: str | None = None


class ComparedProduct(ProductSummary):
    best_per_marketplace: list[BestOffer]


class CompareResponse(BaseModel):
    snapshot: str
    products: list[ComparedProduct]
    missing: list[str]


class Day(BaseModel):
    date: str
    low: Money = None
    marketplace: str | None = None
    high: Money = None
    observations: int | None = None


class Series(BaseModel):
    marketplace: str
    days: list[Day]


class HistoryResponse(BaseModel):
    snapshot: str
    product_id: str | None = None
    marketplace: str | None = None
    listing_id: str | None = None
    currency: str | None = None
    price_now: Money = None
    price_since: str | None = None
    reference_price: Money = None
    real_discount: bool
    low_all_time: Money = None
    days: list[Day]
    series: list[Series] | None = None


class Marketplace(BaseModel):
    marketplace: str
    offers: int
    gone_offers: int
    shipping_fill_rate: float | None = Field(
        None, description="Share of live offers with a known shipping fee."
    )
    last_success: str | None = None
    last_success_run: str | None = None
    last_attempt: str | None = None
    last_attempt_status: str | None = None
    last_observed: str | None = None


class MarketplacesResponse(BaseModel):
    snapshot: str
    marketplaces: list[Marketplace]
