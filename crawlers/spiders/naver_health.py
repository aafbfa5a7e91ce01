"""The Scrapy spider for NAVER News > 생활/문화 > 건강정보 (sid1=103, sid2=241).

It only walks pages and yields: requests, :class:`NaverArticleItem`, :class:`RejectItem`, and one
:class:`DayListedItem` per day (every article id its list pages named) that the pipeline uses to
know when a day is completely stored. Parsing is in :mod:`kmb.crawlers.naver_pages`; storing in
:class:`kmb.crawlers.pipelines.NaverParquetPipeline`.

List pages, per day (``list_pages``):
  old   ``main/list.naver?...&date=&page=N``: page on while ``div.paging strong`` equals the page
        asked for and the page brings new ids (NAVER answers a page past the end with the last one).
  new   ``breakingnews/section/103/241?date=`` then the JSON "more" fragments, following
        ``data-cursor`` while ``data-has-next="true"``, the cursor changes and new ids come.
  auto  old first; when a day's first page lists nothing, the new generation (and the reverse).

Run it with ``kmb crawl naver-health`` or, from the repository root, ``scrapy crawl naver_health
-a start=2020-12-28 -a end=2021-01-01 -a workspace=DIR`` (every ``-a`` name is a kmb option's).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.spidermiddlewares.httperror import HttpError

from kmb.crawlers import naver_lists as lists
from kmb.crawlers import naver_pages as pages
from kmb.crawlers.items import DayListedItem, NaverArticleItem, RejectItem
from kmb.crawlers.middlewares import forbidden_by_robots
from kmb.crawlers.options import NaverCrawlOptions, naver_options_from_args, parse_day
from kmb.crawlers.session import crawl_store
from kmb.crawlers.spiders.base import KmbSpider

ROBOTS_CLOSE_REASON = "robots_forbidden"
UNREACHABLE_CLOSE_REASON = "site_unreachable"
# Stop when this many list pages in a row failed (after retries) before any article was parsed:
# the site is down or unreachable, and thousands of days would each wait out their retries.
UNREACHABLE_AFTER = 3


def crawl_settings(options: NaverCrawlOptions) -> dict:
    """The Scrapy settings the options decide (applied at spider priority)."""
    settings = {
        "KMB_FLUSH_EVERY": options.flush_every,
        "KMB_PROGRESS_INTERVAL": options.progress_interval,
        "KMB_RESUME": options.resume,
        "DOWNLOAD_DELAY": options.delay,
    }
    if options.workspace is not None:
        settings["KMB_WORKSPACE"] = options.workspace  # a path, or the Workspace kmb crawl opened
    if options.delay < 1.0:
        # Mirrors and tests only: no throttling, no waiting between retries.
        settings.update(AUTOTHROTTLE_ENABLED=False, DOWNLOAD_DELAY_JITTER=0.0, KMB_RETRY_BACKOFF_BASE=0.0)
    else:
        settings["AUTOTHROTTLE_START_DELAY"] = options.delay
    if options.ignore_robots:
        settings["ROBOTSTXT_OBEY"] = False
    return settings


class NaverHealthSpider(KmbSpider):
    name = "naver_health"
    source = lists.SOURCE
    custom_settings = {"ITEM_PIPELINES": {"kmb.crawlers.pipelines.NaverParquetPipeline": 300}}

    def __init__(self, options: NaverCrawlOptions | None = None, sid1: str = "103", sid2: str = "241", **args):
        super().__init__()
        # kmb passes checked options; `scrapy crawl -a name=value` passes the names one by one.
        self.options = options or naver_options_from_args(args)
        self.start_day, self.end_day = parse_day(self.options.start), parse_day(self.options.end)
        self.base_url = self.options.base_url
        self.mirror = urlsplit(self.base_url) if self.base_url != lists.NAVER_NEWS else None
        self.list_pages = self.options.list_pages
        self.max_articles = self.options.max_articles
        self.keep_html = self.options.keep_html
        self.resume = self.options.resume
        self.sid1, self.sid2 = str(sid1), str(sid2)
        self.requested: set[str] = set()  # doc_ids requested in this run
        self.day_ids: dict[str, set[str]] = {}  # doc_ids listed per day (YYYYMMDD)
        self.store = None  # the pipeline: what is stored, which days are left (session.crawl_store)
        self.list_failures_in_a_row = 0

    def crawl_settings(self) -> dict:
        return crawl_settings(self.options)

    # --- start ----------------------------------------------------------------------------------
    async def start(self):
        # The pipeline owns what is stored and the resume state; this spider only asks it.
        self.store = crawl_store(self.crawler)
        days = [self.start_day + timedelta(n) for n in range((self.end_day - self.start_day).days + 1)]
        todo = self.store.days_to_list([d.strftime("%Y%m%d") for d in days])
        self.stats.set("days_total", len(days))
        self.stats.set("days_done", len(days) - len(todo))
        self.stats.set("days_skipped_done", len(days) - len(todo))
        for day in todo:
            # False after a clean stop: Scrapy's JOBDIR queue still holds this day's requests.
            if self.store.start_listing(day):
                first = "new" if self.list_pages == "new" else "old"
                yield self._list_request(day, first, page=1, fallback=self.list_pages == "auto")

    def _list_request(self, day: str, generation: str, page: int, fallback: bool, cursor: str = "") -> scrapy.Request:
        d = parse_day(day)
        if generation == "old":
            url = lists.old_list_url(self.base_url, d, page, self.sid1, self.sid2)
        elif page == 1:
            url = lists.new_list_url(self.base_url, d, self.sid1, self.sid2)
        else:
            url = lists.new_more_url(self.base_url, d, page, cursor, self.sid1, self.sid2)
        self.day_ids.setdefault(day, set())
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.list_failed,
            cb_kwargs={"day": day, "generation": generation, "page": page, "fallback": fallback, "cursor": cursor},
            dont_filter=True,  # kmb's own state decides what to fetch again (see pipelines.py)
            priority=0,
        )

    # --- list pages -----------------------------------------------------------------------------
    def parse_list(self, response, day: str, generation: str, page: int, fallback: bool, cursor: str):
        self.list_failures_in_a_row = 0
        if generation == "old":
            listing = lists.parse_old_list(response.text)
        elif page == 1:
            listing = lists.parse_new_list(response.text)
        else:
            listing = lists.parse_new_more(response.text)

        seen = self.day_ids.setdefault(day, set())
        new_ids = []
        for link in listing.links:
            ids = lists.article_id(link)
            if ids is None:
                continue
            doc_id = lists.doc_id(*ids)
            if doc_id not in seen:
                seen.add(doc_id)
                new_ids.append((doc_id, ids, link))

        if page == 1 and not new_ids and fallback:
            # Nothing in this generation's list for the day: ask the other one.
            other = "new" if generation == "old" else "old"
            yield self._list_request(day, other, page=1, fallback=False)
            return

        for doc_id, ids, link in new_ids:
            request = self._article_request(doc_id, ids, link, response, day)
            if request is not None:
                yield request

        limit_reached = self.max_articles and len(self.requested) >= self.max_articles
        if generation == "old":
            more = bool(new_ids) and listing.current_page == page and not limit_reached
            if more:
                yield self._list_request(day, "old", page + 1, fallback=False)
                return
        else:
            more = (
                listing.has_next and listing.cursor and listing.cursor != cursor and bool(new_ids) and not limit_reached
            )
            if more:
                yield self._list_request(day, "new", page + 1, fallback=False, cursor=listing.cursor)
                return
        if not limit_reached:
            yield DayListedItem(day, sorted(seen))

    def _article_request(self, doc_id: str, ids: tuple[str, str], link: str, response, day: str):
        if doc_id in self.requested:
            self.stats.inc("duplicates_skipped")
            return None
        if self.store.is_stored(doc_id):  # by an earlier run (whatever this run stored, it requested)
            self.stats.inc("duplicates_skipped")
            self.stats.inc("already_stored_skipped")
            return None
        if self.max_articles and len(self.requested) >= self.max_articles:
            return None
        self.requested.add(doc_id)
        url = response.urljoin(link)
        if self.mirror is not None:
            # Same path and query, served by the mirror (n.news.naver.com links included).
            parts = urlsplit(url)
            url = urlunsplit((self.mirror.scheme, self.mirror.netloc, parts.path, parts.query, ""))
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"day": day, "oid": ids[0], "aid": ids[1]},
            dont_filter=True,
            priority=1,  # finish a day's articles before listing further days
        )

    # --- article pages --------------------------------------------------------------------------
    def parse_article(self, response, day: str, oid: str, aid: str):
        doc_id = lists.doc_id(oid, aid)
        try:
            article = pages.parse_article(
                response.text,
                sid1=self.sid1,
                sid2=self.sid2,
                html_sha256=hashlib.sha256(response.body).hexdigest(),
            )
        except (lists.ArticleParseError, AttributeError, UnicodeDecodeError) as exc:
            yield RejectItem(response.url, response.status, str(exc), doc_id)
            return
        # The id we asked for is the id we store (a page's og:url may name a redirect).
        article.oid, article.aid = oid, aid
        if self.mirror is not None and article.url.startswith(self.base_url):
            article.url = lists.canonical_article_url(oid, aid, self.sid1)
        row = article.row(crawled_at=datetime.now(timezone.utc), html=response.text if self.keep_html else None)
        yield NaverArticleItem(row)

    # --- failures -------------------------------------------------------------------------------
    def list_failed(self, failure):
        if self._robots_blocked(failure):
            return
        # The day stays open (no DayListedItem): a resumed run lists it again.
        yield _reject(failure, "list page failed")
        self.list_failures_in_a_row += 1
        if self.list_failures_in_a_row >= UNREACHABLE_AFTER and not self.stats.get("parsed"):
            self.stats.set("unreachable_reason", _reason(failure))
            raise CloseSpider(UNREACHABLE_CLOSE_REASON)

    def article_failed(self, failure):
        if self._robots_blocked(failure):
            return
        kw = failure.request.cb_kwargs
        yield _reject(failure, "article page failed", lists.doc_id(kw["oid"], kw["aid"]))

    def _robots_blocked(self, failure) -> bool:
        if not forbidden_by_robots(failure):
            return False
        # Skipped and counted; the crawl goes on (a site that forbids the list pages is refused
        # before the crawl starts, by naver_crawl.check_robots).
        self.stats.inc("robots_blocked")
        return True


def _reject(failure, what: str, doc_id: str | None = None) -> RejectItem:
    status = failure.value.response.status if failure.check(HttpError) else None
    return RejectItem(failure.request.url, status, f"{what}: {_reason(failure)}", doc_id)


def _reason(failure) -> str:
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status}"
    return f"{type(value).__name__}: {value}"
