"""Scrapy settings for bijia: only what differs from Scrapy's defaults.

Per-marketplace politeness (concurrency, delay, robots.txt) comes from the marketplaces file and is
applied by each spider.
"""

import os

from crawler.browser import launch_options

BOT_NAME = "bijia"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "bijia/0.1 (+https://github.com/bijia-price/bijia; price comparison crawler)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = float(os.environ.get("BIJIA_DOWNLOAD_TIMEOUT", "30"))  # seconds; lower it for tests
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 8.0
# HTTP cache, off unless a marketplace says ``http_cache = true`` (development) or a run enables it
# (service/run.py, with its own directory). RevalidatePolicy is RFC2616Policy that always revalidates
# (If-None-Match / If-Modified-Since → 304) and never caches browser pages. A relative HTTPCACHE_DIR is
# taken from the working directory (spiders.base.apply_politeness), not from .scrapy/.
HTTPCACHE_POLICY = "crawler.httpcache.RevalidatePolicy"
HTTPCACHE_DIR = ".cache"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    # a shop page must never make the crawler read a local file or another protocol (crawler.urlpolicy)
    "file": None,
    "data": None,
    "ftp": None,
    "s3": None,
}
# Per marketplace: [marketplace] limits (crawler.limits); these are the fallbacks for other requests.
DOWNLOAD_MAXSIZE = 32 * 2**20
DOWNLOAD_WARNSIZE = 8 * 2**20
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = launch_options()
PLAYWRIGHT_MAX_CONTEXTS = 2
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000

# Also registered by spiders.base.MarketplaceSpider.update_settings (for crawlers built without this
# module); here so that CrawlerProcess.create_crawler's merge of the process settings keeps them.
DOWNLOADER_MIDDLEWARES = {
    "crawler.guards.UrlPolicyMiddleware": 30,  # before robots.txt (100): a refused host is never asked
    "crawler.guards.ResponseLimitsMiddleware": 40,
    "crawler.middlewares.RetryAfterMiddleware": 560,
    "crawler.middlewares.EncodingMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.guards.CappedCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.guards.LoopCountingRedirectMiddleware": 600,
}
SPIDER_MIDDLEWARES = {
    # spider side (past MetaCopyDetection's 1000): what it drops costs no other middleware any work
    "crawler.guards.CrawlBudgetMiddleware": 1100,
}

ITEM_PIPELINES = {
    "crawler.pipelines.PricePipeline": 100,
    "crawler.pipelines.ValidatePipeline": 200,
    "crawler.pipelines.DuckDBPipeline": 300,
}

# bijia's own settings (set by crawler.runner for a run)
BIJIA_DB = None
BIJIA_RUN_ID = None
BIJIA_BATCH_SIZE = 500
BIJIA_MAX_PRICE = 10_000_000
