"""The browser spider's page coroutine in a real headless Chromium against a tiny local JS page."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from crawler.config import BrowserOptions, Marketplace
from spiders.pages import browser_listing
from spiders.rendering import item_counter, render_listing

pytestmark = pytest.mark.browser
PAGES, PER_PAGE = 3, 4
SHELL = """<!doctype html><html><head><meta charset="utf-8"><title>精选</title></head><body>
<div id="list"></div><button class="load-more">加载更多</button>
<script>
let page = 0;
async function more() {
  page += 1;
  const data = await (await fetch('api/items?page=' + page)).json();
  for (const it of data.items) {
    const div = document.createElement('div');
    div.className = 'item'; div.dataset.offer = it.id;
    div.innerHTML = `<a class="title" href="item/${it.id}">${it.title}</a><span class="shop">测试店</span>`
      + `<span class="price">¥${it.price}</span><span class="shipping">包邮</span>`
      + `<span class="delivery">次日达</span><span class="stock">有货</span>`;
    document.getElementById('list').appendChild(div);
  }
  if (page >= data.total_pages) document.querySelector('button.load-more').remove();
}
document.querySelector('button.load-more').addEventListener('click', () => setTimeout(more, 50));
setTimeout(more, 100);
</script></body></html>"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.endswith("/api/items"):
            page = int(parse_qs(parts.query)["page"][0])
            items = [
                {"id": f"JX{page}{i:02d}", "title": f"商品 {page}-{i}", "price": f"{page * 100 + i}.00"}
                for i in range(PER_PAGE)
            ]
            body, kind = json.dumps({"items": items, "total_pages": PAGES}).encode(), "application/json"
        else:
            body, kind = SHELL.encode(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jingxuan/"
    server.shutdown()
    server.server_close()


async def render(url: str, options: BrowserOptions) -> tuple[str, int]:
    """The browser preset's rendering steps (wait for items, "load more" until gone) on a real page."""
    from playwright.async_api import async_playwright

    from crawler.browser import launch_options

    m = Marketplace(name="jingxuan", shape="browser", base_url=url, browser=options)
    preset = browser_listing.preset_map(m)
    assert preset.render is not None and preset.pagination is not None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options())
        try:
            page = await browser.new_page()
            await page.goto(url)
            count = item_counter(page, preset.items, None)
            rendered = await render_listing(
                page, preset.render, preset.pagination, count, preset.pagination.max_pages
            )
            return rendered.html, rendered.loads
        finally:
            await browser.close()


def test_load_more_until_gone_collects_every_item(shop: str) -> None:
    m = Marketplace(name="jingxuan", shape="browser", base_url=shop)
    html, clicks = asyncio.run(render(shop, m.browser))
    offers = browser_listing.extract_offers(html, shop, m)
    assert clicks == PAGES - 1
    assert len(offers) == PAGES * PER_PAGE
    assert offers[-1].listing_id == f"JX{PAGES}{PER_PAGE - 1:02d}"
    assert offers[0].price_raw == "¥100.00" and offers[0].url == shop + "item/JX100"


def test_max_load_more_bounds_the_clicks(shop: str) -> None:
    options = BrowserOptions(max_load_more=1)
    m = Marketplace(name="jingxuan", shape="browser", base_url=shop, browser=options)
    html, clicks = asyncio.run(render(shop, options))
    assert clicks == 1
    assert len(browser_listing.extract_offers(html, shop, m)) == 2 * PER_PAGE


CRAWL = """
import sys, threading
from http.server import ThreadingHTTPServer
from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from crawler.browser import launch_options
from crawler.config import Marketplace
from spiders import SPIDERS
from tests.test_spiders_browser import Handler

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/jingxuan/"
items = []
process = AsyncCrawlerProcess({
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "DOWNLOAD_HANDLERS": {"http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"},
    "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(), "LOG_LEVEL": "WARNING"})
crawler = process.create_crawler(SPIDERS["browser"])
crawler.signals.connect(lambda item, **kw: items.append(item), signal=signals.item_scraped, weak=False)
process.crawl(crawler, marketplace=Marketplace(name="jingxuan", shape="browser", base_url=url, obey_robots=False))
process.start()
print("ITEMS", len(items), len({i.listing_id for i in items}), crawler.stats.get_value("bijia/loads"))
"""


def test_browser_spider_through_scrapy_playwright() -> None:
    """The whole spider in a real crawl (its own process: Scrapy's reactor cannot restart)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning:scrapy", "-c", CRAWL],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"ITEMS {PAGES * PER_PAGE} {PAGES * PER_PAGE} {PAGES - 1}" in done.stdout, done.stderr[-3000:]
