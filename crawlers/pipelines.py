"""Item pipelines: where both sources' crawled items are stored (each spider selects its own
through ``custom_settings["ITEM_PIPELINES"]``).

Each pipeline is its crawl's one owner of the workspace (opened once, :mod:`kmb.crawlers.session`),
of the doc_ids already stored and of the crawl state in ``crawl/<source>/``; its spider asks it
(``crawl_store``) instead of reading any of them.

:class:`NaverParquetPipeline`: articles into raw/naver_health, rejects beside them. Exactly
once, even after SIGKILL. It
  * loads the doc_ids already stored (every earlier or interrupted run's parts) when it opens,
    and never writes one of them again (the spider asks it, :meth:`is_stored`, and skips
    requesting them);
  * buffers rows and writes a new part every ``KMB_FLUSH_EVERY`` items through the atomic
    writer (a kill loses at most the buffer, never leaves a half file);
  * marks a day done in ``crawl/naver_health/done_days.txt`` only when every article listed
    for it is in a written part (stored or rejected). ``--resume`` skips done days and lists the
    others again, so whatever a kill lost is fetched again and nothing is stored twice.

:class:`KciParquetPipeline`: documents into raw/kci parts through the atomic
:class:`ParquetSink`, a new part every ``KMB_FLUSH_ROWS`` documents. Only after a part is renamed
into place is the next resumption token written to ``crawl/kci/state.json`` (also atomically),
so after a kill ``--resume`` re-requests at most the pages whose documents had not reached disk,
and doc_ids already stored are skipped: nothing is lost and nothing is stored twice.

Both print a progress line while the crawl runs. A fault of the disk or the workspace while
storing (no space left, read-only, ...) is caught by :class:`StorageFault`: it stops the crawl,
nothing more is stored or marked done, and the command ends with the fault's one line (exit 1)
instead of Scrapy logging a traceback per item and the crawl "finishing" with nothing written.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from kmb.crawlers.items import DayListedItem, KciDocumentItem, NaverArticleItem, PageDoneItem, RejectItem
from kmb.crawlers.naver_lists import SOURCE as NAVER
from kmb.crawlers.session import answer_store_requests, workspace_of
from kmb.crawlers.state import (
    DAYS_STARTED_FILE,
    OPEN_DAYS_FILE,
    append_done_day,
    forget_progress,
    kci_resume_point,
    read_done_days,
    read_json,
    write_json,
    write_kci_state,
)
from kmb.crawlers.stats import SourceStats
from kmb.faults import as_kmb_error
from kmb.storage import (
    KCI_DOCUMENTS,
    NAVER_DOCUMENTS,
    REJECTS,
    ParquetSink,
    part_name,
    write_rows,
)
from kmb.stored_parquet import doc_ids, reject_keys
from kmb.workspace import Workspace

KCI = "kci"
FAULT_STAT = "kmb/storage_fault"  # the fault's one line, for the command to raise after the crawl


class StorageFault:
    """Runs a pipeline's storing steps until the first fault of the disk or the workspace, then no
    more: the fault's line goes into the crawl's stats and the spider is closed, so no item after it
    is stored and no day or page is marked done that is not written. A bug keeps its traceback."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.line: str | None = None

    def __call__(self, step, *args, closing: bool = False) -> None:
        if self.line is not None:
            return
        try:
            step(*args)
        except Exception as exc:
            error = as_kmb_error(exc)
            if error is None:
                raise
            self.line = str(error)
            self.crawler.stats.set_value(FAULT_STAT, self.line)
            if not closing:
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_fault"))


def reject_row(source: str, item: RejectItem) -> dict:
    """A REJECTS row for a page that could not be used."""
    return {
        "source": source,
        "url": item.url,
        "status": item.status,
        "reason": item.reason,
        "seen_at": datetime.now(timezone.utc),
    }


class RejectLog:
    """The rejects of one source: a page that failed the same way in an earlier run is not
    recorded again (a plain re-run fetches it again, and would add a duplicate row)."""

    def __init__(self, folder, source: str):
        self.folder, self.source = folder, source
        self.known = reject_keys(folder)
        self.rows: list[dict] = []

    def add(self, item: RejectItem) -> bool:
        key = (item.url, item.reason)
        if key in self.known:
            return False
        self.known.add(key)
        self.rows.append(reject_row(self.source, item))
        return True

    def flush(self, prefix: str) -> None:
        if self.rows:
            write_rows(self.folder / part_name(prefix), self.rows, REJECTS)
            self.rows = []


class NaverParquetPipeline:
    def __init__(self, ws: Workspace, flush_every: int, progress_interval: float, stats, resume: bool = False):
        self.ws = ws
        self.out = self.ws.raw(NAVER)
        self.rejects_dir = self.ws.rejects(NAVER)
        self.state_dir = self.ws.crawl_state(NAVER)
        self.flush_every = max(1, flush_every)
        self.progress_interval = progress_interval
        self.stats = SourceStats(stats, NAVER)
        self.stored: set[str] = set()
        self.handled: set[str] = set()  # rejected ids whose reject rows are written
        self.rows: list[dict] = []
        self.row_ids: set[str] = set()
        self.rejects = RejectLog(self.rejects_dir, NAVER)
        self.reject_ids: set[str] = set()
        self.open_days: dict[str, set[str]] = {}
        self.done_days: set[str] = set()
        self.days_started: set[str] = set()  # days whose list requests are in Scrapy's queue
        self.resume = resume
        self.started = time.monotonic()
        self.last_progress = self.started

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        pipeline = cls(
            workspace_of(s),
            s.getint("KMB_FLUSH_EVERY", 100),
            s.getfloat("KMB_PROGRESS_INTERVAL", 10.0),
            crawler.stats,
            resume=s.getbool("KMB_RESUME", False),
        )
        answer_store_requests(crawler, pipeline)
        pipeline.fault = StorageFault(crawler)
        return pipeline

    def open_spider(self, spider=None) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        if not self.resume:
            forget_progress(self.state_dir)  # a fresh crawl lists every day again; stored articles stay
        self.stored = doc_ids(self.out)
        self.stats.set("already_stored", len(self.stored))
        if self.resume:
            self.done_days = read_done_days(self.state_dir)
            # After a clean stop, Scrapy's JOBDIR queue still holds these days' requests.
            self.days_started = set(read_json(self.state_dir / DAYS_STARTED_FILE, []))
            # Days listed before a clean stop whose articles are still in Scrapy's queue.
            for day, ids in read_json(self.state_dir / OPEN_DAYS_FILE, {}).items():
                if day not in self.done_days:
                    self.open_days[day] = set(ids) - self.stored

    # --- what the spider asks (session.crawl_store) -------------------------------------------------
    def is_stored(self, doc_id: str) -> bool:
        """Is this article in a written part (an earlier run's, or this one's)?"""
        return doc_id in self.stored

    def days_to_list(self, days: list[str]) -> list[str]:
        """The days (YYYYMMDD) not done yet: with ``--resume`` done days are skipped."""
        return [day for day in days if day not in self.done_days]

    def start_listing(self, day: str) -> bool:
        """Record that the day's list pages are requested now; False when they already are (the
        JOBDIR queue of a cleanly stopped run holds them)."""
        if day in self.days_started:
            return False
        self.days_started.add(day)
        return True

    # --- storing ----------------------------------------------------------------------------------
    def process_item(self, item, spider=None):
        self.fault(self._store, item)
        return item

    def _store(self, item) -> None:
        if isinstance(item, NaverArticleItem):
            self._article(item.row)
        elif isinstance(item, RejectItem):
            if not self.rejects.add(item):
                self.stats.inc("rejects_already_recorded")
            if item.doc_id:
                self.reject_ids.add(item.doc_id)
            self.stats.inc("rejected")
        elif isinstance(item, DayListedItem) and item.day not in self.done_days:  # else listed again after a resume
            self.open_days[item.day] = set(item.doc_ids) - self.stored - self.handled
            if not item.doc_ids:
                self.stats.inc("days_empty")
            self._close_finished_days()
        if len(self.rows) + len(self.rejects.rows) >= self.flush_every:
            self.flush()
        self._progress()

    def _article(self, row: dict) -> None:
        if row["doc_id"] in self.stored or row["doc_id"] in self.row_ids:
            self.stats.inc("duplicates_skipped")
            return
        self.rows.append(row)
        self.row_ids.add(row["doc_id"])
        self.stats.inc("parsed")

    def close_spider(self, spider=None) -> None:
        self.fault(self._close, closing=True)

    def _close(self) -> None:
        self.flush()
        write_json(self.state_dir / OPEN_DAYS_FILE, {day: sorted(ids) for day, ids in self.open_days.items()})
        write_json(self.state_dir / DAYS_STARTED_FILE, sorted(self.days_started))
        self._progress(final=True)

    def flush(self) -> None:
        """Write buffered rows as new parts (atomically), then mark days whose articles are all written."""
        if self.rows:
            write_rows(self.out / part_name("part"), self.rows, NAVER_DOCUMENTS)
            self.stored |= self.row_ids
            self.stats.inc("parts_written")
        self.rejects.flush("rejects")
        self.handled |= self.reject_ids
        self.rows, self.row_ids, self.reject_ids = [], set(), set()
        for outstanding in self.open_days.values():
            outstanding -= self.stored
            outstanding -= self.handled
        self._close_finished_days()

    def _close_finished_days(self) -> None:
        for day in [d for d, outstanding in self.open_days.items() if not outstanding]:
            append_done_day(self.state_dir, day)
            del self.open_days[day]
            self.done_days.add(day)
            self.stats.inc("days_done")

    def _progress(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and (self.progress_interval <= 0 or now - self.last_progress < self.progress_interval):
            return
        self.last_progress = now
        parsed = self.stats.get("parsed")
        rate = parsed / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"naver-health: days {self.stats.get('days_done')}/{self.stats.get('days_total', '?')} done, "
            f"{parsed} articles ({rate:.1f}/s), {self.stats.get('rejected')} rejected, "
            f"{self.stats.get('duplicates_skipped')} duplicates skipped\n"
        )
        sys.stderr.flush()


class KciParquetPipeline:
    """Its results go into the crawl's stats: ``kci/stored``, ``kci/already_stored``, ``kci/complete``."""

    def __init__(self, crawler):
        self.ws = workspace_of(crawler.settings)
        self.endpoint = crawler.settings.get("KMB_KCI_ENDPOINT")
        self.flush_rows = crawler.settings.getint("KMB_FLUSH_ROWS", 500)
        self.stats = SourceStats(crawler.stats, KCI)
        self.sink: ParquetSink | None = None
        self.pending = 0
        self.rejects = RejectLog(self.ws.rejects(KCI), KCI)  # few (a bad page ends the harvest): written at close
        self.progress_interval = crawler.settings.getfloat("KMB_PROGRESS_INTERVAL", 10.0)
        self._last_progress = time.monotonic()
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler)
        answer_store_requests(crawler, pipeline)
        pipeline.fault = StorageFault(crawler)
        return pipeline

    def resume_point(self, endpoint: str) -> tuple[str | None, str | None]:
        """What the spider asks with ``--resume``: (token, metadata prefix) saved after the last part."""
        return kci_resume_point(self.ws, endpoint)

    def open_spider(self, spider=None) -> None:
        self.known = doc_ids(self.ws.raw(KCI))
        for name in ("stored", "already_stored"):
            self.stats.set(name, 0)
        self.stats.set("complete", False)

    def process_item(self, item, spider=None):
        self.fault(self._store, item)
        return item

    def _store(self, item) -> None:
        if isinstance(item, KciDocumentItem):
            self._document(item.row)
        elif isinstance(item, RejectItem):
            if not self.rejects.add(item):
                self.stats.inc("rejects_already_recorded")
        elif isinstance(item, PageDoneItem):
            self._page_done(item)

    def _document(self, row: dict) -> None:
        if row["doc_id"] in self.known:
            self.stats.inc("already_stored")
            return
        self.known.add(row["doc_id"])
        if self.sink is None:
            self.sink = ParquetSink(self.ws.raw(KCI) / part_name("kci"), KCI_DOCUMENTS)
        self.sink.write_row(row)
        self.pending += 1

    def _page_done(self, item: PageDoneItem) -> None:
        last_page = item.next_token is None
        # Save the resume point only when nothing before it is still in memory.
        if self.pending >= self.flush_rows or last_page:
            self._flush()
        if self.pending == 0:
            write_kci_state(
                self.ws,
                {
                    "endpoint": self.endpoint,
                    "metadata_prefix": item.metadata_prefix,
                    "next_token": item.next_token,
                    "stored_total": len(self.known),
                    "saved_at": datetime.now(timezone.utc).isoformat(),
                },
            )
        self.stats.set("complete", last_page)
        self.pages += 1
        if time.monotonic() - self._last_progress >= self.progress_interval:
            self._last_progress = time.monotonic()
            print(
                f"kci: {self.pages} pages, {self.stats.get('stored') + self.pending} documents stored",
                file=sys.stderr,
                flush=True,
            )

    def _flush(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.stats.inc("stored", self.pending)
            self.sink = None
        self.pending = 0

    def close_spider(self, spider=None) -> None:
        # A clean close (also on an error page) keeps what was harvested; the state file keeps
        # the last resume point written after a flushed part. After a storage fault: nothing more.
        if self.fault.line is not None:
            if self.sink is not None:
                self.sink.abort()
            return
        self.fault(self._close, closing=True)

    def _close(self) -> None:
        self._flush()
        self.rejects.flush("kci-rejects")
        self.ws.refresh_views_after_save()
