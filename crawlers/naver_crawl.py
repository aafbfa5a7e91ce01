"""`kmb crawl naver-health`: check the options and robots.txt, run the NAVER spider in this
process, report what it stored.

The spider (``spiders/naver_health.py``) parses, the pipeline (``pipelines.py``) stores; this
module does what must happen around one run: the checks before any request, Scrapy's JOBDIR for
``--resume``, and the end summary.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from kmb.crawlers.middlewares import robots_allow
from kmb.crawlers.naver_lists import SOURCE, new_list_url, old_list_url
from kmb.crawlers.options import NaverCrawlOptions, checked_naver_options, parse_day
from kmb.crawlers.pipelines import FAULT_STAT
from kmb.crawlers.run import run_spider
from kmb.crawlers.settings import USER_AGENT
from kmb.crawlers.spiders.naver_health import ROBOTS_CLOSE_REASON, UNREACHABLE_CLOSE_REASON, NaverHealthSpider
from kmb.crawlers.state import forget_queued_days
from kmb.crawlers.stats import source_stats
from kmb.errors import KmbError
from kmb.workspace import Workspace

LIVE_ROBOTS_HELP = (
    "NAVER's robots.txt says 'User-agent: * / Disallow: /' and its terms forbid automated "
    "collection without permission; kmb obeys robots.txt by default. Use --ignore-robots only "
    "with NAVER's written permission, or crawl a mirror with --base-url"
)
CLEAN_EXIT_FILE = "clean_exit"  # written when Scrapy closed the JOBDIR queue properly


@dataclass
class NaverCrawlReport:
    parsed: int
    rejected: int
    duplicates_skipped: int
    robots_blocked: int
    days_done: int
    days_total: int
    days_empty: int
    parts_written: int
    requests: int
    finish_reason: str | None
    output: str
    views: list[str]

    def rows(self) -> dict:
        """The end-of-command summary, in the order it is printed."""
        return {
            "parsed": self.parsed,
            "rejected": self.rejected,
            "duplicates skipped": self.duplicates_skipped,
            "robots-blocked": self.robots_blocked,
            "days done": f"{self.days_done}/{self.days_total}",
            "empty days": self.days_empty,
            "parts written": self.parts_written,
            "requests": self.requests,
            "finish reason": self.finish_reason,
            "output": self.output,
            "views": ", ".join(self.views) or "-",
        }


def crawl_naver_health(options: NaverCrawlOptions) -> NaverCrawlReport:
    """Crawl, write raw/naver_health, refresh the views; return the end summary.

    Raises KmbError for a bad option (before anything runs), when robots.txt forbids the crawl,
    when the site cannot be reached, or when no article was parsed.
    """
    options = checked_naver_options(options)
    check_robots(options)
    ws = Workspace.open(options.workspace)
    # One crawl of a source per workspace, and nothing else writing its raw folder meanwhile.
    with ws.lock(f"crawl/{SOURCE}"), ws.lock(f"raw/{SOURCE}"):
        state = ws.crawl_state(SOURCE)
        jobdir = prepare_jobdir(state, options.resume)
        overrides = {"JOBDIR": str(jobdir), "LOG_LEVEL": options.log_level}
        # The pipeline takes this workspace, opened once for the whole crawl (crawlers/session.py).
        stats = run_spider(NaverHealthSpider, overrides, options=replace(options, workspace=ws))
        if stats.get(FAULT_STAT):  # the disk or the workspace failed: as after a kill, --resume lists again
            raise KmbError(stats[FAULT_STAT])
        (state / CLEAN_EXIT_FILE).touch()  # finished, or stopped with Ctrl-C: the queue is whole
    report = naver_report(stats, ws)
    check_outcome(stats, options, report, ws)
    return report


def check_robots(options: NaverCrawlOptions) -> None:
    """Decide before starting Scrapy: a site whose robots.txt forbids the list pages gets no other request."""
    start = parse_day(options.start)
    probes = [
        old_list_url(options.base_url, start, 1, "103", "241"),
        new_list_url(options.base_url, start, "103", "241"),
    ]
    allowed = robots_allow(options.base_url, probes, USER_AGENT)  # unreachable site: one line, at once
    if options.ignore_robots:
        return
    if not allowed:
        raise KmbError(
            f"robots.txt of {options.base_url} forbids crawling it, so nothing was fetched. {LIVE_ROBOTS_HELP}"
        )


def prepare_jobdir(state: Path, resume: bool) -> Path:
    """Scrapy's JOBDIR for this run: gone for a fresh crawl, kept for --resume unless a kill broke it."""
    jobdir = state / "jobdir"
    if not resume:
        shutil.rmtree(jobdir, ignore_errors=True)  # the spider forgets the old run's days too
    state.mkdir(parents=True, exist_ok=True)
    clean_exit = state / CLEAN_EXIT_FILE
    if resume and (jobdir / "requests.queue").exists() and not clean_exit.exists():
        # The last crawl was killed (SIGKILL, power loss): Scrapy's disk queue may be truncated and
        # would crash the resumed crawl. kmb's own state is enough: stored articles are skipped and
        # unfinished days are listed again.
        shutil.rmtree(jobdir / "requests.queue", ignore_errors=True)
        forget_queued_days(state)
        print("kmb: note: the last crawl did not stop cleanly; unfinished days are listed again.", file=sys.stderr)
    clean_exit.unlink(missing_ok=True)
    return jobdir


def naver_report(stats: dict, ws: Workspace) -> NaverCrawlReport:
    naver = source_stats(stats, SOURCE)
    return NaverCrawlReport(
        parsed=naver.get("parsed", 0),
        rejected=naver.get("rejected", 0),
        duplicates_skipped=naver.get("duplicates_skipped", 0),
        robots_blocked=naver.get("robots_blocked", stats.get("robotstxt/forbidden", 0)),
        days_done=naver.get("days_done", 0),
        days_total=naver.get("days_total", 0),
        days_empty=naver.get("days_empty", 0),
        parts_written=naver.get("parts_written", 0),
        requests=stats.get("downloader/request_count", 0),
        finish_reason=stats.get("finish_reason"),
        output=str(ws.raw(SOURCE)),
        views=ws.refresh_views_after_save(),
    )


def check_outcome(stats: dict, options: NaverCrawlOptions, report: NaverCrawlReport, ws: Workspace) -> None:
    """A crawl that robots.txt stopped, that found the site unreachable, or that parsed nothing new fails."""
    naver = source_stats(stats, SOURCE)
    if report.finish_reason == ROBOTS_CLOSE_REASON or (
        report.parsed == 0 and report.robots_blocked and not naver.get("already_stored_skipped")
    ):
        raise KmbError(
            f"robots.txt of {options.base_url} forbids crawling it, so nothing was fetched. {LIVE_ROBOTS_HELP}"
        )
    if report.finish_reason == UNREACHABLE_CLOSE_REASON:
        raise KmbError(
            f"cannot crawl {options.base_url}: the first list pages all failed "
            f"({naver.get('unreachable_reason')}); is the site reachable from here?"
        )
    if report.parsed == 0:
        # Not a failure when the articles found were already stored by an earlier run (pages that
        # failed again are in the rejects table, as the first time).
        all_done_before = naver.get("days_skipped_done", 0) == naver.get("days_total", -1)
        if not (all_done_before or naver.get("already_stored_skipped", 0) > 0):
            raise KmbError(
                f"no article was parsed from {options.base_url} for {options.start}..{options.end} "
                f"({report.rejected} rejected, {report.requests} requests; see {ws.rejects(SOURCE)})"
            )
