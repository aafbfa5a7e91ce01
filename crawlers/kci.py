"""`kmb crawl kci`: harvest Korean journal articles from KCI (or any endpoint) over OAI-PMH.

The spider only requests and parses: ``ListRecords`` pages in ``oai_kci`` (or ``oai_dc``),
followed by ``resumptionToken`` until the list is complete. It yields one
:class:`KciDocumentItem` per kept record and, after every page, a :class:`PageDoneItem` carrying
the next token; the pipeline (``kci_pipeline.py``) stores the documents and, once they are on
disk, records that token so ``--resume`` continues from there even after a SIGKILL.

OAI-PMH errors are handled as the protocol says:

- ``noRecordsMatch``: the harvest is complete and empty;
- ``cannotDisseminateFormat`` for ``oai_kci``: the endpoint is not KCI's, harvest ``oai_dc``;
- ``badResumptionToken`` (tokens expire): restart the list with the same arguments; records
  already stored are skipped by doc_id, so nothing is duplicated;
- anything else (``badArgument``, ``badVerb``, ...), or a response that is not OAI-PMH: stop and
  report it as the harvest's error.

``from``/``until`` select by the repository's update date, not publication, so the publication
years (``--years``) are filtered here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import scrapy

from kmb.storage import write_json_atomic

from kmb.crawlers.kci_oai import (
    BAD_RESUMPTION_TOKEN,
    CANNOT_DISSEMINATE_FORMAT,
    NO_RECORDS_MATCH,
    JournalSelection,
    NotOaiPmh,
    parse_response,
    record_document,
    skip_reason,
)

KCI_ENDPOINT = "https://open.kci.go.kr/oai/request"
MAX_RESTARTS = 3  # badResumptionToken restarts per harvest before giving up


@dataclass
class KciDocumentItem:
    row: dict  # a KCI_DOCUMENTS row


@dataclass
class PageDoneItem:
    next_token: str | None  # None: the list is complete (or the harvest stops here)
    metadata_prefix: str
    records_seen: int


@dataclass
class RejectItem:
    url: str
    status: int | None
    reason: str  # stored in raw/kci/rejects/


@dataclass
class HarvestOptions:
    endpoint: str = KCI_ENDPOINT
    metadata_prefix: str = "oai_kci"
    set_spec: str | None = "ARTI"
    from_date: str | None = None  # YYYY-MM-DD, repository update date
    until: str | None = None
    years: tuple[int, int] | None = (2010, 2020)  # the paper's publication years
    selection: JournalSelection = field(default_factory=JournalSelection)
    max_records: int | None = None
    delay: float = 1.0  # seconds between requests
    resume: bool = False
    flush_rows: int = 500  # documents per Parquet part (a resume point after each part)
    fulltext: bool = False  # fetch the record's URL when it is open access; keep its PDF text


class KciOaiSpider(scrapy.Spider):
    name = "kci"

    def __init__(self, options: HarvestOptions, resume_token: str | None = None, resume_prefix: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.options = options
        self.metadata_prefix = resume_prefix or options.metadata_prefix
        self.resume_token = resume_token
        self.kept = 0
        self.restarts = 0
        self.fatal: str | None = None  # the error that stopped the harvest, for the CLI

    async def start(self):
        if self.resume_token:
            yield self._token_request(self.resume_token)
        else:
            yield self._list_request()

    def _list_request(self) -> scrapy.Request:
        params = {"verb": "ListRecords", "metadataPrefix": self.metadata_prefix}
        if self.options.set_spec:
            params["set"] = self.options.set_spec
        if self.options.from_date:
            params["from"] = self.options.from_date
        if self.options.until:
            params["until"] = self.options.until
        return scrapy.Request(f"{self.options.endpoint}?{urlencode(params)}", callback=self.parse_page, dont_filter=True)

    def _token_request(self, token: str) -> scrapy.Request:
        params = {"verb": "ListRecords", "resumptionToken": token}
        return scrapy.Request(f"{self.options.endpoint}?{urlencode(params)}", callback=self.parse_page, dont_filter=True)

    def parse_page(self, response):
        stats = self.crawler.stats
        try:
            page = parse_response(response.body)
        except NotOaiPmh as exc:
            self.fatal = f"{response.url}: {exc}"
            yield RejectItem(response.url, response.status, str(exc))
            return
        stats.inc_value("kci/pages")
        for error in page.errors:
            if error.code == NO_RECORDS_MATCH:
                stats.inc_value("kci/no_records_match")
                yield PageDoneItem(None, self.metadata_prefix, 0)
                return
            if error.code == CANNOT_DISSEMINATE_FORMAT and self.metadata_prefix != "oai_dc":
                self.logger.warning("%s cannot give %s; harvesting oai_dc instead", self.options.endpoint, self.metadata_prefix)
                self.metadata_prefix = "oai_dc"
                stats.set_value("kci/fell_back_to", "oai_dc")
                yield self._list_request()
                return
            if error.code == BAD_RESUMPTION_TOKEN and self.restarts < MAX_RESTARTS:
                self.restarts += 1
                stats.inc_value("kci/token_restarts")
                self.logger.warning("resumption token refused (%s); restarting the list", error.message)
                yield self._list_request()
                return
            self.fatal = f"{response.url}: OAI-PMH error {error.code}: {error.message}"
            yield RejectItem(response.url, response.status, f"OAI-PMH error {error.code}: {error.message}")
            return
        kept_rows = []
        for record in page.records:
            stats.inc_value("kci/records_seen")
            reason = skip_reason(record, self.options.selection, self.options.years)
            if reason:
                stats.inc_value(f"kci/skipped/{reason}")
                continue
            if self.options.max_records is not None and self.kept >= self.options.max_records:
                break
            self.kept += 1
            kept_rows.append(record_document(record))
        done = self.options.max_records is not None and self.kept >= self.options.max_records
        page_state = _PageState(next_token=None if done else page.resumption_token, records=len(page.records))
        fulltext_rows = [r for r in kept_rows if self.options.fulltext and r["open_access"] and r["url"]]
        for row in kept_rows:
            if row not in fulltext_rows:
                yield KciDocumentItem(row)
        if not fulltext_rows:
            yield from self._page_done(page_state)
            return
        # The page counts as done (resume point, next page) only once its full texts are in.
        page_state.waiting = len(fulltext_rows)
        for row in fulltext_rows:
            yield scrapy.Request(row["url"], callback=self.parse_fulltext, errback=self.fulltext_failed,
                                 cb_kwargs={"row": row, "page_state": page_state}, dont_filter=True)

    def _page_done(self, page_state: "_PageState"):
        yield PageDoneItem(page_state.next_token, self.metadata_prefix, page_state.records)
        if page_state.next_token:
            yield self._token_request(page_state.next_token)

    def parse_fulltext(self, response, row: dict, page_state: "_PageState"):
        from kmb.corpus.pdf_text import PdfError, pdf_text

        stats = self.crawler.stats
        if response.body[:5] == b"%PDF-" or b"pdf" in (response.headers.get("Content-Type") or b"").lower():
            try:
                fulltext = pdf_text(response.body)
                row["text"] = f"{row['text']}\n{fulltext}"
                row["fulltext_chars"] = len(fulltext)
                stats.inc_value("kci/fulltext/pdf")
            except PdfError as exc:
                stats.inc_value("kci/fulltext/unreadable pdf")
                yield RejectItem(response.url, response.status, f"full text of {row['doc_id']}: {exc}")
        else:
            stats.inc_value("kci/fulltext/not a pdf")  # e.g. KCI's HTML landing page
        yield from self._fulltext_finished(row, page_state)

    def fulltext_failed(self, failure):
        request = failure.request
        self.crawler.stats.inc_value("kci/fulltext/download failed")
        yield RejectItem(request.url, getattr(getattr(failure.value, "response", None), "status", None),
                         f"full text of {request.cb_kwargs['row']['doc_id']}: {failure.getErrorMessage()}")
        yield from self._fulltext_finished(request.cb_kwargs["row"], request.cb_kwargs["page_state"])

    def _fulltext_finished(self, row: dict, page_state: "_PageState"):
        yield KciDocumentItem(row)  # with the abstract alone when no full text could be had
        page_state.waiting -= 1
        if page_state.waiting == 0:
            yield from self._page_done(page_state)


@dataclass
class _PageState:
    next_token: str | None
    records: int
    waiting: int = 0


# --- running a harvest (the CLI calls this) ---------------------------------------------------------
@dataclass
class HarvestSummary:
    stored: int
    duplicates: int
    parts: list[str]
    stats: dict
    metadata_prefix: str
    resumed_from: str | None
    complete: bool


def state_path(ws) -> Path:
    return ws.crawl_state("kci") / "state.json"


def read_state(ws) -> dict:
    path = state_path(ws)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def write_state(ws, state: dict) -> None:
    """Atomically: a temp file in the same folder, fsynced, then renamed."""
    write_json_atomic(state_path(ws), state, indent=1)


def harvest(ws, options: HarvestOptions) -> HarvestSummary:
    """Run the spider in this process (Scrapy's reactor runs once per process)."""
    from scrapy.crawler import CrawlerProcess

    from kmb.errors import KmbError

    resume_token = resume_prefix = None
    if options.resume:
        state = read_state(ws)
        if state.get("endpoint") not in (None, options.endpoint):
            raise KmbError(f"--resume: the saved harvest was from {state['endpoint']}, not {options.endpoint}", path=state_path(ws))
        if state.get("next_token"):
            resume_token, resume_prefix = state["next_token"], state.get("metadata_prefix")
    # kmb's shared crawler settings (user agent, robots.txt, retry with backoff), then ours.
    from kmb.crawlers import settings as shared

    settings = {name: getattr(shared, name) for name in dir(shared) if name.isupper()}
    settings.update({
        "DOWNLOAD_DELAY": options.delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,  # OAI-PMH paging is sequential anyway
        "AUTOTHROTTLE_ENABLED": options.delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(options.delay, 0.01),
        "DOWNLOAD_TIMEOUT": 120,  # a page of 100 full records can be large and slow
        # Scrapy's own log stays silent: what went wrong ends in one line (KmbError) and the
        # summary counts fallbacks, token restarts and skips. KMB_LOG_LEVEL=INFO to debug.
        "LOG_LEVEL": os.environ.get("KMB_LOG_LEVEL", "CRITICAL"),
        "ITEM_PIPELINES": {"kmb.crawlers.kci_pipeline.KciParquetPipeline": 300},
        "KMB_WORKSPACE": str(ws.root),
        "KMB_KCI_ENDPOINT": options.endpoint,
        "KMB_FLUSH_ROWS": options.flush_rows,
    })
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(KciOaiSpider)
    process.crawl(crawler, options=options, resume_token=resume_token, resume_prefix=resume_prefix)
    process.start()
    spider = crawler.spider
    stats = crawler.stats.get_stats() if crawler.stats else {}
    pipeline_result = getattr(crawler, "kmb_kci_result", {})
    if spider is not None and spider.fatal:
        raise KmbError(spider.fatal + f" ({pipeline_result.get('stored', 0)} documents stored before it)")
    if stats.get("finish_reason") not in ("finished", None):
        raise KmbError(f"the harvest stopped early: {stats.get('finish_reason')}")
    if not stats.get("kci/pages"):
        why = {"HTTP error responses": stats.get("httperror/response_ignored_count", 0),
               "download errors": stats.get("downloader/exception_count", 0),
               "forbidden by robots.txt": stats.get("robotstxt/forbidden", 0)}
        raise KmbError(f"{options.endpoint}: no OAI-PMH response could be fetched ("
                       + ", ".join(f"{k}: {v}" for k, v in why.items()) + ")")
    return HarvestSummary(
        stored=pipeline_result.get("stored", 0),
        duplicates=pipeline_result.get("duplicates", 0),
        parts=pipeline_result.get("parts", []),
        stats={k: v for k, v in stats.items() if k.startswith("kci/")},
        metadata_prefix=spider.metadata_prefix if spider else options.metadata_prefix,
        resumed_from=resume_token,
        complete=pipeline_result.get("complete", False),
    )
