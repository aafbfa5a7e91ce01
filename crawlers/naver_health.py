"""The Scrapy spider for NAVER News > 생활/문화 > 건강정보 (sid1=103, sid2=241).

It only walks pages and yields: requests, article items, reject items, and one "day_listed"
item per day (every article id its list pages named) that the pipeline uses to know when a day is
completely stored. Parsing is in :mod:`kmb.crawlers.naver_pages`; writing in
:mod:`kmb.crawlers.pipelines`.

List pages, per day (``list_pages``):
  old   ``main/list.naver?...&date=&page=N``: page on while ``div.paging strong`` equals the page
        asked for and the page brings new ids (NAVER answers a page past the end with the last one).
  new   ``breakingnews/section/103/241?date=`` then the JSON "more" fragments, following
        ``data-cursor`` while ``data-has-next="true"``, the cursor changes and new ids come.
  auto  old first; when a day's first page lists nothing, the new generation (and the reverse).

Run it with ``kmb crawl naver-health`` or ``scrapy crawl naver_health -a start=... -a end=...``.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError

from kmb.crawlers import naver_pages as pages
from kmb.crawlers.pipelines import DAYS_STARTED_FILE, read_done_days, read_json, reject_row, write_json
from kmb.storage import doc_ids

ROBOTS_CLOSE_REASON = "robots_forbidden"
UNREACHABLE_CLOSE_REASON = "site_unreachable"
# Stop when this many list pages in a row failed (after retries) before any article was parsed:
# the site is down or unreachable, and thousands of days would each wait out their retries.
UNREACHABLE_AFTER = 3


def parse_day(value: str | date) -> date:
    """'2020-12-31' or '20201231' -> date."""
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("-", "").replace(".", "")
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


class NaverHealthSpider(scrapy.Spider):
    name = "naver_health"

    def __init__(
        self,
        start: str = "2010-01-01",
        end: str = "2020-12-31",
        base_url: str = pages.NAVER_NEWS,
        list_pages: str = "auto",
        max_articles: int | str = 0,
        keep_html: bool | str = False,
        resume: bool | str = False,
        sid1: str = "103",
        sid2: str = "241",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.start_day, self.end_day = parse_day(start), parse_day(end)
        if self.end_day < self.start_day:
            raise ValueError(f"--end {self.end_day} is before --start {self.start_day}")
        if list_pages not in ("auto", "old", "new"):
            raise ValueError(f"list_pages must be auto, old or new, not {list_pages!r}")
        self.base_url = base_url.rstrip("/")
        self.mirror = urlsplit(self.base_url) if self.base_url != pages.NAVER_NEWS else None
        self.list_pages = list_pages
        self.max_articles = int(max_articles or 0)
        self.keep_html = _truthy(keep_html)
        self.resume = _truthy(resume)
        self.sid1, self.sid2 = str(sid1), str(sid2)
        self.requested: set[str] = set()  # doc_ids requested in this run
        self.day_ids: dict[str, set[str]] = {}  # doc_ids listed per day (YYYYMMDD)
        self.known: set[str] = set()  # doc_ids already stored by earlier runs
        self.days_started: set[str] = set()
        self.list_failures_in_a_row = 0

    # --- start ----------------------------------------------------------------------------------
    async def start(self):
        from kmb.workspace import Workspace

        ws = Workspace.open(self.settings.get("KMB_WORKSPACE"))
        self.state_dir = ws.crawl_state(pages.SOURCE)
        self.known = doc_ids(ws.raw(pages.SOURCE))
        done = read_done_days(self.state_dir) if self.resume else set()
        # After a clean stop, Scrapy's JOBDIR queue still holds these days' requests: not again.
        self.days_started = set(read_json(self.state_dir / DAYS_STARTED_FILE, [])) if self.resume else set()
        days = [self.start_day + timedelta(n) for n in range((self.end_day - self.start_day).days + 1)]
        todo = [d for d in days if d.strftime("%Y%m%d") not in done]
        self.crawler.stats.set_value("kmb/days_total", len(days))
        self.crawler.stats.set_value("kmb/days_done", len(days) - len(todo))
        self.crawler.stats.set_value("kmb/days_skipped_done", len(days) - len(todo))
        for day in todo:
            if day.strftime("%Y%m%d") in self.days_started:
                continue
            self.days_started.add(day.strftime("%Y%m%d"))
            first = "new" if self.list_pages == "new" else "old"
            yield self._list_request(day.strftime("%Y%m%d"), first, page=1, fallback=self.list_pages == "auto")

    def closed(self, reason: str) -> None:
        if hasattr(self, "state_dir"):
            write_json(self.state_dir / DAYS_STARTED_FILE, sorted(self.days_started))

    def _list_request(self, day: str, generation: str, page: int, fallback: bool, cursor: str = "") -> scrapy.Request:
        d = parse_day(day)
        if generation == "old":
            url = pages.old_list_url(self.base_url, d, page, self.sid1, self.sid2)
        elif page == 1:
            url = pages.new_list_url(self.base_url, d, self.sid1, self.sid2)
        else:
            url = pages.new_more_url(self.base_url, d, page, cursor, self.sid1, self.sid2)
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
            listing = pages.parse_old_list(response.text)
        elif page == 1:
            listing = pages.parse_new_list(response.text)
        else:
            listing = pages.parse_new_more(response.text)

        seen = self.day_ids.setdefault(day, set())
        new_ids = []
        for link in listing.links:
            ids = pages.article_id(link)
            if ids is None:
                continue
            doc_id = pages.doc_id(*ids)
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
            more = listing.has_next and listing.cursor and listing.cursor != cursor and bool(new_ids) and not limit_reached
            if more:
                yield self._list_request(day, "new", page + 1, fallback=False, cursor=listing.cursor)
                return
        if not limit_reached:
            yield {"kind": "day_listed", "day": day, "doc_ids": sorted(seen)}

    def _article_request(self, doc_id: str, ids: tuple[str, str], link: str, response, day: str):
        stats = self.crawler.stats
        if doc_id in self.known or doc_id in self.requested:
            stats.inc_value("kmb/duplicates_skipped")
            if doc_id in self.known:
                stats.inc_value("kmb/already_stored_skipped")
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
        doc_id = pages.doc_id(oid, aid)
        try:
            article = pages.parse_article(
                response.text,
                sid1=self.sid1,
                sid2=self.sid2,
                html_sha256=hashlib.sha256(response.body).hexdigest(),
            )
        except (pages.ArticleParseError, AttributeError, UnicodeDecodeError) as exc:
            yield {"kind": "reject", "doc_id": doc_id, "row": reject_row(response.url, str(exc), response.status)}
            return
        # The id we asked for is the id we store (a page's og:url may name a redirect).
        article.oid, article.aid = oid, aid
        if self.mirror is not None and article.url.startswith(self.base_url):
            article.url = pages.canonical_article_url(oid, aid, self.sid1)
        row = article.row(crawled_at=datetime.now(timezone.utc), html=response.text if self.keep_html else None)
        yield {"kind": "article", "row": row}

    # --- failures -------------------------------------------------------------------------------
    def list_failed(self, failure):
        request = failure.request
        if self._robots_blocked(failure):
            return
        status = failure.value.response.status if failure.check(HttpError) else None
        # The day stays open (no day_listed): a resumed run lists it again.
        yield {"kind": "reject", "doc_id": None, "row": reject_row(request.url, f"list page failed: {_reason(failure)}", status)}
        self.list_failures_in_a_row += 1
        if self.list_failures_in_a_row >= UNREACHABLE_AFTER and not self.crawler.stats.get_value("kmb/parsed"):
            self.crawler.stats.set_value("kmb/unreachable_reason", _reason(failure))
            raise CloseSpider(UNREACHABLE_CLOSE_REASON)

    def article_failed(self, failure):
        request = failure.request
        if self._robots_blocked(failure):
            return
        status = failure.value.response.status if failure.check(HttpError) else None
        kw = request.cb_kwargs
        doc_id = pages.doc_id(kw["oid"], kw["aid"])
        yield {"kind": "reject", "doc_id": doc_id, "row": reject_row(request.url, f"article page failed: {_reason(failure)}", status)}

    def _robots_blocked(self, failure) -> bool:
        if not (failure.check(IgnoreRequest) and "robots" in str(failure.value).lower()):
            return False
        stats = self.crawler.stats
        stats.inc_value("kmb/robots_blocked")
        if not stats.get_value("kmb/parsed"):
            # Obeying robots.txt and nothing allowed so far: stop at once with one reason.
            raise CloseSpider(ROBOTS_CLOSE_REASON)
        return True


def _reason(failure) -> str:
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status}"
    return f"{type(value).__name__}: {value}"


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
