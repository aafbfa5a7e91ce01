"""Run the NAVER health crawl in this process (Scrapy's CrawlerProcess) and summarise it.

`kmb crawl naver-health` calls :func:`crawl_naver_health`. Scrapy's reactor starts once per
process, so call it once per process (tests run it in a subprocess).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError

LIVE_ROBOTS_HELP = (
    "NAVER's robots.txt says 'User-agent: * / Disallow: /' and its terms forbid automated "
    "collection without permission; kmb obeys robots.txt by default. Use --ignore-robots only "
    "with NAVER's written permission, or crawl a mirror with --base-url"
)


@dataclass
class NaverCrawlOptions:
    start: str = "2010-01-01"  # the paper's range
    end: str = "2020-12-31"
    workspace: str | Path | None = None
    base_url: str = "https://news.naver.com"
    list_pages: str = "auto"  # auto, old, new
    resume: bool = False
    keep_html: bool = False
    max_articles: int = 0  # 0: no limit
    ignore_robots: bool = False
    delay: float = 1.0  # seconds between requests to one site; below 1 only for mirrors and tests
    flush_every: int = 100
    progress_interval: float = 10.0
    log_level: str = "WARNING"


def crawl_naver_health(options: NaverCrawlOptions) -> dict:
    """Crawl, write raw/naver_health, refresh the views; return the end summary.

    Raises KmbError when robots.txt forbids the crawl, or when no article was parsed.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from kmb.workspace import Workspace
    from kmb.crawlers.naver_health import ROBOTS_CLOSE_REASON, UNREACHABLE_CLOSE_REASON, NaverHealthSpider, parse_day
    from kmb.crawlers.naver_pages import SOURCE
    from kmb.crawlers.pipelines import DAYS_STARTED_FILE, DONE_DAYS_FILE, OPEN_DAYS_FILE

    try:
        start, end = parse_day(options.start), parse_day(options.end)
    except ValueError as exc:
        raise KmbError(str(exc)) from None
    if end < start:
        raise KmbError(f"--end {end} is before --start {start}")
    if options.list_pages not in ("auto", "old", "new"):
        raise KmbError(f"--list-pages must be auto, old or new, not {options.list_pages!r}")
    if options.delay < 0:
        raise KmbError("--delay must be >= 0")

    robots_txt = _fetch_robots(options.base_url)
    if robots_txt is not None and not options.ignore_robots:
        # Decide before starting Scrapy: a site that forbids its list pages gets no request at all.
        from protego import Protego

        from kmb.crawlers.naver_pages import old_list_url, new_list_url
        from kmb.crawlers.settings import USER_AGENT

        rules = Protego.parse(robots_txt)
        probes = [old_list_url(options.base_url, start, 1, "103", "241"), new_list_url(options.base_url, start, "103", "241")]
        if not any(rules.can_fetch(url, USER_AGENT) for url in probes):
            raise KmbError(f"robots.txt of {options.base_url} forbids crawling it, so nothing was fetched. {LIVE_ROBOTS_HELP}")
    ws = Workspace.open(options.workspace)
    state = ws.crawl_state(SOURCE)
    jobdir = state / "jobdir"
    if not options.resume:
        # A fresh crawl forgets the old run's progress; stored articles stay and are not refetched.
        shutil.rmtree(jobdir, ignore_errors=True)
        for name in (DONE_DAYS_FILE, DAYS_STARTED_FILE, OPEN_DAYS_FILE):
            (state / name).unlink(missing_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    clean_exit = state / "clean_exit"
    if options.resume and (jobdir / "requests.queue").exists() and not clean_exit.exists():
        # The last crawl was killed (SIGKILL, power loss): Scrapy's disk queue may be truncated and
        # would crash the resumed crawl. kmb's own state is enough: stored articles are skipped and
        # unfinished days are listed again.
        shutil.rmtree(jobdir / "requests.queue", ignore_errors=True)
        for name in (DAYS_STARTED_FILE, OPEN_DAYS_FILE):
            (state / name).unlink(missing_ok=True)
        print("kmb: note: the last crawl did not stop cleanly; unfinished days are listed again.", file=sys.stderr)
    clean_exit.unlink(missing_ok=True)

    settings = Settings()
    settings.setmodule("kmb.crawlers.settings", priority="project")
    overrides = {
        "KMB_WORKSPACE": str(ws.root),
        "KMB_FLUSH_EVERY": options.flush_every,
        "KMB_PROGRESS_INTERVAL": options.progress_interval,
        "JOBDIR": str(jobdir),
        "KMB_RESUME": options.resume,
        "LOG_LEVEL": options.log_level,
        "DOWNLOAD_DELAY": options.delay,
    }
    if options.delay < 1.0:
        # Mirrors and tests only: no throttling, no waiting between retries.
        overrides.update(AUTOTHROTTLE_ENABLED=False, DOWNLOAD_DELAY_JITTER=0.0, KMB_RETRY_BACKOFF_BASE=0.0)
    else:
        overrides["AUTOTHROTTLE_START_DELAY"] = options.delay
    if options.ignore_robots:
        overrides["ROBOTSTXT_OBEY"] = False
        print(
            "kmb: warning: --ignore-robots: robots.txt is NOT obeyed. NAVER forbids automated collection "
            "without permission; go on only if you hold it in writing.",
            file=sys.stderr,
        )
    settings.setdict(overrides, priority="cmdline")

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NaverHealthSpider)
    process.crawl(
        crawler,
        start=start.isoformat(),
        end=end.isoformat(),
        base_url=options.base_url,
        list_pages=options.list_pages,
        max_articles=options.max_articles,
        keep_html=options.keep_html,
        resume=options.resume,
    )
    process.start()
    clean_exit.touch()  # Scrapy closed the JOBDIR queue properly (finished, or stopped with Ctrl-C)

    stats = crawler.stats.get_stats() if crawler.stats else {}
    views = ws.refresh_views()
    summary = {
        "parsed": stats.get("kmb/parsed", 0),
        "rejected": stats.get("kmb/rejected", 0),
        "duplicates skipped": stats.get("kmb/duplicates_skipped", 0),
        "robots-blocked": stats.get("kmb/robots_blocked", stats.get("robotstxt/forbidden", 0)),
        "days done": f"{stats.get('kmb/days_done', 0)}/{stats.get('kmb/days_total', 0)}",
        "empty days": stats.get("kmb/days_empty", 0),
        "parts written": stats.get("kmb/parts_written", 0),
        "requests": stats.get("downloader/request_count", 0),
        "finish reason": stats.get("finish_reason"),
        "output": str(ws.raw(SOURCE)),
        "views": ", ".join(views) or "-",
    }
    if stats.get("finish_reason") == ROBOTS_CLOSE_REASON:
        raise KmbError(f"robots.txt of {options.base_url} forbids crawling it, so nothing was fetched. {LIVE_ROBOTS_HELP}")
    if stats.get("finish_reason") == UNREACHABLE_CLOSE_REASON:
        raise KmbError(
            f"cannot crawl {options.base_url}: the first list pages all failed "
            f"({stats.get('kmb/unreachable_reason')}); is the site reachable from here?"
        )
    if summary["parsed"] == 0:
        # Not a failure when the articles found were already stored by an earlier run (pages that
        # failed again are in the rejects table, as the first time).
        all_done_before = stats.get("kmb/days_skipped_done", 0) == stats.get("kmb/days_total", -1)
        nothing_left = all_done_before or stats.get("kmb/already_stored_skipped", 0) > 0
        if not nothing_left:
            raise KmbError(
                f"no article was parsed from {options.base_url} for {start}..{end} "
                f"({summary['rejected']} rejected, {summary['requests']} requests; see {ws.rejects(SOURCE)})"
            )
    return summary


def _fetch_robots(base_url: str, timeout: float = 20.0) -> str | None:
    """robots.txt of the site (None when it has none). Fails in seconds, not hours, when the site
    cannot be reached at all (offline, wrong URL): any HTTP answer counts as reachable."""
    import urllib.error
    import urllib.request

    from kmb.crawlers.settings import USER_AGENT

    request = urllib.request.Request(base_url.rstrip("/") + "/robots.txt", headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(500_000).decode("utf-8", errors="replace")
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise KmbError(f"cannot reach {base_url}: {reason}; is the site reachable from here?") from None
