"""kmb.crawlers.stats: one `<source>/<name>` convention for the crawl statistics."""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from kmb.crawlers.stats import SourceStats, source_stats


def test_source_stats_prefix_and_strip():
    collector = MemoryStatsCollector(get_crawler())
    naver, kci = SourceStats(collector, "naver_health"), SourceStats(collector, "kci")
    naver.inc("parsed")
    naver.inc("parsed", 2)
    kci.set("skipped/deleted", 1)
    collector.set_value("downloader/request_count", 9)  # Scrapy's own keys stay as they are
    assert naver.get("parsed") == 3 and naver.get("rejected") == 0 and kci.get("pages", None) is None
    everything = collector.get_stats()
    assert everything["naver_health/parsed"] == 3 and everything["kci/skipped/deleted"] == 1
    assert source_stats(everything, "kci") == {"skipped/deleted": 1}
    assert source_stats(everything, "naver_health") == {"parsed": 3}
