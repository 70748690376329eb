"""``fieldmap`` shape: any shop described by a field map (``[marketplace.map]``, see docs/marketplaces.md).

The spider walks what the map says: an optional ``each`` list (stores, categories) → listing pages
(plain HTTP, or rendered in Chromium with actions and XHR capture) → items → optional detail pages;
pagination by page/offset parameter, cursor, next link, total pages/count, "load more" or infinite scroll,
bounded by the map's ``max_pages`` and the marketplace's ``max_pages``. The ``browser`` and ``instant``
shapes are presets of this spider (their own maps, with the file's fields on top).
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from core.offer import Offer
from crawler.config import Marketplace
from crawler.fieldmap_config import Detail, FieldMap, FieldRule
from spiders.base import MarketplaceSpider
from spiders.fieldmap_probe import probe
from spiders.pages.embedded import NotJson
from spiders.pages.fieldmap import (
    Document,
    Field,
    MapPlan,
    Scope,
    compile_field,
    compile_map,
    json_getter,
    make_offer,
)
from spiders.rendering import Capture, item_counter, render_listing
from spiders.shape import Shape


def with_params(url: str, params: dict[str, Any]) -> str:
    """``url`` with these query parameters set (others kept, in order)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))


def detail_plan(detail: Detail, plan: MapPlan) -> MapPlan:
    """A plan reading ``detail.fields`` from the whole detail page."""
    field_map = FieldMap(
        format=detail.format, script=detail.script, fields=detail.fields, attributes=detail.attributes
    )
    return compile_map(field_map, plan.marketplace)


class FieldMapSpider(MarketplaceSpider):
    name = "fieldmap"
    shape = "fieldmap"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.map = self.field_map()
        self.plan = compile_map(self.map, self.marketplace)
        detail = self.map.detail
        self.detail = detail_plan(detail, self.plan) if detail else None
        self.detail_url: Field | None = (
            compile_field("url", detail.url, json=self.plan.json) if detail and detail.url else None
        )
        self.seen: set[str] = set()
        self.captures: dict[int, Capture] = {}

    def field_map(self) -> FieldMap:
        """The map this spider reads (presets override this)."""
        assert self.marketplace.map is not None  # Marketplace validation guarantees it for this shape
        return self.marketplace.map

    @property
    def page_limit(self) -> int:
        limits = [self.map.pagination.max_pages if self.map.pagination else 1, self.marketplace.max_pages]
        return min(n for n in limits if n is not None)

    # --- requests -----------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        each = self.map.each
        if each is not None:
            yield scrapy.Request(self.marketplace.url(each.url), callback=self.parse_each)
            return
        for url in self.marketplace.start_urls or [self.marketplace.base_url]:
            yield self.listing_request(self.page_url(url, 1), url, 1, None)

    def parse_each(self, response: Response) -> Iterator[scrapy.Request]:
        assert self.map.each is not None
        doc = self.document(response, json=True)
        if doc is None:
            return
        elements = self.plan_items(doc.root, self.map.each.items)
        self.count("each", len(elements))
        for element in elements:
            listing = self.fill(self.map.each.listing, element)
            if listing is not None:
                url = self.marketplace.url(listing)
                yield self.listing_request(self.page_url(url, 1), url, 1, element)

    def listing_request(
        self, url: str, start: str, page: int, each: Any, chain: bool = True
    ) -> scrapy.Request:
        kwargs = {"start": start, "page": page, "each": each, "chain": chain}
        render = self.map.render
        if render is None:
            return scrapy.Request(url, callback=self.parse_listing, cb_kwargs=kwargs)
        # only names and flags in meta: a request must stay serialisable (JOBDIR, the Redis frontier)
        meta: dict[str, Any] = {"playwright": True, "playwright_include_page": True}
        if render.capture:
            meta["playwright_page_event_handlers"] = {"response": "on_capture_response"}
        return scrapy.Request(
            url, callback=self.parse_rendered, errback=self.close_page, cb_kwargs=kwargs, meta=meta
        )

    def page_url(self, start: str, page: int) -> str:
        """The URL of page ``page`` of a listing that starts at ``start`` (page/offset pagination)."""
        p = self.map.pagination
        if p is None or p.kind not in ("page", "offset"):
            return start
        params: dict[str, Any] = {}
        if p.size_param and p.size:
            params[p.size_param] = p.size
        if page > 1 or p.start is not None:
            step = (p.size or 1) if p.kind == "offset" else 1
            params[p.parameter] = p.first + (page - 1) * step
        return with_params(start, params) if params else start

    # --- listing pages ------------------------------------------------------------------------------

    def parse_listing(
        self, response: Response, start: str, page: int, each: Any, chain: bool
    ) -> Iterator[Any]:
        doc = self.document(response, json=self.plan.json)
        if doc is None:
            return
        self.count("listing_pages")
        new = 0
        for found in self.emit_list(doc, each):
            new += 1
            yield found
        if chain:
            yield from self.follow(doc, response.url, start, page, each, new)

    async def parse_rendered(
        self, response: Response, start: str, page: int, each: Any, chain: bool
    ) -> AsyncIterator[Any]:
        assert self.map.render is not None
        pw_page = response.meta["playwright_page"]
        capture = self.page_capture(pw_page) if self.map.render.capture else None
        selector = None if self.plan.json else self.map.items
        try:
            rendered = await render_listing(
                pw_page,
                self.map.render,
                self.map.pagination,
                item_counter(pw_page, selector, capture),
                self.page_limit,
            )
        finally:
            await pw_page.close()
            self.captures.pop(id(pw_page), None)
        self.count("rendered_pages")
        self.count("loads", rendered.loads)
        docs = (
            self.captured(capture)
            if capture is not None
            else [self.plan.document(rendered.html, response.url)]
        )
        new = 0
        for doc in docs:
            for found in self.emit_list(doc, each):
                new += 1
                yield found
        pagination = self.map.pagination
        if chain and docs and pagination is not None and pagination.kind not in ("load_more", "scroll"):
            for request in self.follow(docs[-1], response.url, start, page, each, new):
                yield request

    def page_capture(self, page: Any) -> Capture:
        """The capture of one rendered page's XHR/fetch responses (made when its first one arrives)."""
        assert self.map.render is not None and self.map.render.capture
        return self.captures.setdefault(id(page), Capture(re.compile(self.map.render.capture)))

    async def on_capture_response(self, response: Any) -> None:
        """scrapy-playwright's handler of the ``response`` event of a rendered listing page."""
        await self.page_capture(response.frame.page).on_response(response)

    def captured(self, capture: Capture) -> list[Document]:
        docs = []
        for url, body in capture.responses:
            try:
                docs.append(self.plan.document(body, url, "application/json"))
            except NotJson:
                self.count("capture_not_json")
        self.count("captured", len(docs))
        return docs

    async def close_page(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on errback failures
        page = request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        self.count("browser_errors")
        self.logger.error("browser page failed: %s: %s", request.url, failure.value)

    def document(self, response: Response, *, json: bool) -> Document | None:
        try:
            if json and not self.map.script:
                return self.plan.document(response.body, response.url, self.content_type(response))
            return self.plan.document(self.page_text(response), response.url)
        except NotJson as exc:
            self.count("errors/unreadable_page")
            self.logger.error("%s: %s", response.url, exc)
            return None

    @staticmethod
    def content_type(response: Response) -> str:
        return (response.headers.get(b"Content-Type") or b"").decode("latin-1")

    # --- items, offers and detail pages -------------------------------------------------------------

    def emit_list(self, doc: Document, each: Any) -> Iterator[Offer | scrapy.Request]:
        for item, values in self.plan.item_values(doc, each):
            offer = make_offer(values, self.marketplace, doc.url)
            if offer is None:
                self.count("items_without_title_or_price")
                continue
            if offer.listing_id in self.seen:
                continue
            self.seen.add(offer.listing_id)
            if self.detail is None:
                yield offer
            else:
                yield self.detail_request(self.detail_url_of(item, doc, each) or offer.url, values, doc.url)

    def detail_url_of(self, item: Any, doc: Document, each: Any) -> str | None:
        if self.detail_url is None:
            return None
        raw, templated = self.detail_url.raw(item, Scope(doc.root, None, each))
        return urljoin(self.marketplace.base_url if templated else doc.url, str(raw)) if raw else None

    def detail_request(self, url: str, values: dict[str, Any], listing_url: str) -> scrapy.Request:
        assert self.map.detail is not None
        meta = {"playwright": True} if self.map.detail.render else {}
        return scrapy.Request(
            url,
            callback=self.parse_detail,
            errback=self.detail_failed,
            cb_kwargs={"values": values, "listing_url": listing_url},
            meta=meta,
        )

    def parse_detail(self, response: Response, values: dict[str, Any], listing_url: str) -> Iterator[Offer]:
        assert self.detail is not None
        self.count("detail_pages")
        try:
            doc = self.detail.document(self.page_text(response), response.url)
        except NotJson as exc:
            self.count("errors/unreadable_detail")
            self.logger.error("%s: %s", response.url, exc)
            doc = None
        more = self.detail.values(doc.root, doc) if doc is not None else {}
        attributes = {**values.get("attributes", {}), **more.pop("attributes", {})}
        merged = {**values, **more, **({"attributes": attributes} if attributes else {})}
        offer = make_offer(merged, self.marketplace, listing_url)
        if offer is not None:
            yield offer

    def detail_failed(self, failure: Failure) -> Iterator[Offer]:
        request = failure.request  # type: ignore[attr-defined]
        self.count("detail_failed")
        offer = make_offer(request.cb_kwargs["values"], self.marketplace, request.cb_kwargs["listing_url"])
        if offer is not None:
            yield offer

    # --- pagination ---------------------------------------------------------------------------------

    def follow(
        self, doc: Document, url: str, start: str, page: int, each: Any, new: int
    ) -> Iterator[scrapy.Request]:
        p = self.map.pagination
        if p is None or page >= self.page_limit:
            return
        if new == 0:
            self.count("pagination_end_empty_or_seen")
            return
        read = self.reader(doc)
        if p.has_more and read(p.has_more) in (False, 0, "false", "False", None):
            return
        if p.kind in ("page", "offset"):
            total = self.total_pages(read)
            if total is not None and page == 1:
                for n in range(2, min(total, self.page_limit) + 1):
                    yield self.listing_request(self.page_url(start, n), start, n, each, chain=False)
            elif total is None or page < total:
                yield self.listing_request(self.page_url(start, page + 1), start, page + 1, each)
        elif p.kind == "cursor":
            cursor = read(p.cursor or "")
            if cursor not in (None, "", 0):
                yield self.listing_request(with_params(start, {p.parameter: cursor}), start, page + 1, each)
        elif p.kind == "next_link":
            href = read(p.next or "")
            if href:
                yield self.listing_request(urljoin(url, str(href)), start, page + 1, each)

    def total_pages(self, read: Any) -> int | None:
        p = self.map.pagination
        assert p is not None
        for key, per in ((p.total_pages, 1), (p.total, p.size)):
            value = read(key) if key else None
            try:
                if value is not None and per:
                    return math.ceil(int(str(value).strip()) / per)
            except ValueError:
                continue
        return None

    def reader(self, doc: Document) -> Any:
        """Read one expression over the whole page (JMESPath, or a selector's first text/attribute)."""
        json = self.plan.json

        def read(expression: str) -> Any:
            field = compile_field("page", expression, json=json)
            return field.raw(doc.root, Scope(doc.root))[0]

        return read

    @staticmethod
    def plan_items(root: Any, expression: str) -> list[Any]:
        found = json_getter(expression)(root, Scope(root))
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []

    @staticmethod
    def fill(template: str, element: Any) -> str | None:
        """``template`` with each ``{expr}`` read from ``element`` (``None`` when one is missing)."""
        field = compile_field("each", FieldRule(template=template), json=True)
        return field.raw(element, Scope(element, None, element))[0]


def extract_offers(body: str | bytes, url: str, marketplace: Marketplace) -> list[Offer]:
    """The offers of one saved listing page of a ``fieldmap`` marketplace (its map; no requests)."""
    assert marketplace.map is not None
    plan = compile_map(marketplace.map, marketplace)
    return plan.offers(plan.document(body, url))


SHAPE = Shape("fieldmap", FieldMapSpider, extract_offers, probe)
