"""`kmb crawl kci`: check the options, run the KCI spider in this process, report what it stored.

The spider (``spiders/kci.py``) parses, the pipeline (``pipelines.py``) stores; this module only
checks options before anything runs and turns the crawl's stats into the end summary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from kmb.crawlers.options import HarvestOptions, KciCrawlOptions, checked_kci_options
from kmb.crawlers.pipelines import FAULT_STAT
from kmb.crawlers.run import run_spider
from kmb.crawlers.spiders.kci import KciOaiSpider
from kmb.crawlers.state import kci_resume_point
from kmb.crawlers.stats import source_stats
from kmb.errors import KmbError
from kmb.workspace import Workspace

# kci/ stats that the report shows in its own rows, not among the counts.
RESULT_STATS = ("stored", "already_stored", "complete", "error", "metadata_prefix", "resumed_from")


@dataclass
class KciCrawlReport:
    endpoint: str
    stored: int
    duplicates: int
    metadata_prefix: str
    resumed_from: str | None
    complete: bool
    counts: dict  # the spider's kci/ counts: pages, records_seen, skipped/..., fulltext/...

    def rows(self) -> dict:
        """The end-of-command summary, in the order it is printed."""
        rows = {
            "stored": self.stored,
            "already stored (skipped)": self.duplicates,
            "format": self.metadata_prefix,
            "complete": "yes" if self.complete else "no (use --resume to continue)",
            "resumed": "yes" if self.resumed_from else "no",
        }
        rows.update(sorted(self.counts.items()))
        return rows


def crawl_kci(options: KciCrawlOptions) -> KciCrawlReport:
    """Check the options (one-line KmbError, nothing written), then harvest into raw/kci/."""
    harvest_options = checked_kci_options(options)
    ws = Workspace.open(options.workspace)
    with ws.lock("crawl/kci"), ws.lock("raw/kci"):  # one harvest per workspace, nothing else writing raw/kci
        return harvest(ws, harvest_options)


def harvest(ws: Workspace, options: HarvestOptions) -> KciCrawlReport:
    """Run the spider in this process (Scrapy's reactor runs once per process)."""
    if options.resume:
        kci_resume_point(ws, options.endpoint)  # a harvest of another endpoint is an error before any request
    # Scrapy's own log stays silent: what went wrong ends in one line (KmbError) and the summary
    # counts fallbacks, token restarts and skips. KMB_LOG_LEVEL=INFO to debug.
    overrides = {"LOG_LEVEL": os.environ.get("KMB_LOG_LEVEL", "CRITICAL")}
    # The pipeline takes this workspace, opened once for the whole crawl (crawlers/session.py).
    stats = run_spider(KciOaiSpider, overrides, options=replace(options, workspace=ws))
    if stats.get(FAULT_STAT):  # the disk or the workspace failed while storing: nothing after it was kept
        raise KmbError(stats[FAULT_STAT])
    kci = source_stats(stats, "kci")
    if kci.get("error"):
        raise KmbError(f"{kci['error']} ({kci.get('stored', 0)} documents stored before it)")
    if stats.get("finish_reason") not in ("finished", None):
        raise KmbError(f"the harvest stopped early: {stats.get('finish_reason')}")
    if not kci.get("pages"):
        why = {
            "HTTP error responses": stats.get("httperror/response_ignored_count", 0),
            "download errors": stats.get("downloader/exception_count", 0),
            "forbidden by robots.txt": stats.get("robotstxt/forbidden", 0),
        }
        raise KmbError(
            f"{options.endpoint}: no OAI-PMH response could be fetched ("
            + ", ".join(f"{k}: {v}" for k, v in why.items())
            + ")"
        )
    return KciCrawlReport(
        endpoint=options.endpoint,
        stored=kci.get("stored", 0),
        duplicates=kci.get("already_stored", 0),
        metadata_prefix=kci.get("metadata_prefix", options.metadata_prefix),
        resumed_from=kci.get("resumed_from"),
        complete=kci.get("complete", False),
        counts={name: value for name, value in kci.items() if name not in RESULT_STATS},
    )
