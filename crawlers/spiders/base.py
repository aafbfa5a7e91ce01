"""What kmb's spiders share: the crawl's Scrapy settings come from the spider's options, and the
spider counts into its own source's stats (``naver_health/...``, ``kci/...``)."""

from __future__ import annotations

import scrapy

from kmb.crawlers.stats import SourceStats


class KmbSpider(scrapy.Spider):
    """A spider built from checked options (``self.options``); no ``name``, so Scrapy lists only
    the subclasses."""

    source: str  # the corpus source these documents go to, the prefix of the spider's stats

    def crawl_settings(self) -> dict:
        """The Scrapy settings the options decide (delay, robots.txt, workspace, ...)."""
        raise NotImplementedError

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Scrapy (>= 2.11) applies settings changed here, after the spider's options are known.
        crawler.settings.setdict(spider.crawl_settings(), priority="spider")
        return spider

    @property
    def stats(self) -> SourceStats:
        """This source's counters in the crawl's stats (set once the crawl starts)."""
        return SourceStats(self.crawler.stats, self.source)
