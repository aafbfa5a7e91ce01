"""Run one of kmb's spiders in this process and return its stats: the one way both sources run.

``kmb crawl naver-health`` and ``kmb crawl kci`` call :func:`run_spider`; ``scrapy crawl`` runs
the same spiders from the same project settings (``scrapy.cfg`` -> ``kmb.crawlers.settings``).
Scrapy's reactor starts once per process, so call it once per process (tests use subprocesses).
"""

from __future__ import annotations


def project_settings(overrides: dict | None = None):
    """kmb's Scrapy project settings, with ``overrides`` at command-line priority."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("kmb.crawlers.settings", priority="project")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def run_spider(spidercls, overrides: dict | None = None, **spider_args) -> dict:
    """Crawl with ``spidercls(**spider_args)`` until it closes; return the crawl's stats."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(project_settings(overrides))
    crawler = process.create_crawler(spidercls)
    process.crawl(crawler, **spider_args)
    process.start()
    return crawler.stats.get_stats() if crawler.stats else {}
