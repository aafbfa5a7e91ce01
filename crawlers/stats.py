"""One convention for kmb's crawl statistics: Scrapy stats keys ``<source>/<name>``.

``naver_health/parsed``, ``kci/pages``, ``kci/skipped/deleted``...; Scrapy's own keys
(``downloader/request_count``, ``finish_reason``) stay as Scrapy names them.
"""

from __future__ import annotations


class SourceStats:
    """A crawler's stats collector seen through one source's prefix."""

    def __init__(self, stats, source: str):
        self.stats = stats
        self.prefix = f"{source}/"

    def inc(self, name: str, count: int = 1) -> None:
        self.stats.inc_value(self.prefix + name, count)

    def set(self, name: str, value) -> None:
        self.stats.set_value(self.prefix + name, value)

    def get(self, name: str, default=0):
        return self.stats.get_value(self.prefix + name, default)


def source_stats(stats: dict, source: str) -> dict:
    """The ``<source>/`` keys of a finished crawl's stats, without the prefix."""
    prefix = f"{source}/"
    return {key.removeprefix(prefix): value for key, value in stats.items() if key.startswith(prefix)}
