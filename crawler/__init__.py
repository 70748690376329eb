"""Scrapy project for bijia: settings, items, pipelines, middlewares and the crawl runner."""
