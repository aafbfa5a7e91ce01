"""The Scrapy spider for Korean journal articles from KCI (or any endpoint) over OAI-PMH.

It only requests and parses: ``ListRecords`` pages in ``oai_kci`` (or ``oai_dc``), followed by
``resumptionToken`` until the list is complete. It yields one :class:`KciDocumentItem` per kept
record and, after every page, a :class:`PageDoneItem` carrying the next token; the pipeline
(:class:`kmb.crawlers.pipelines.KciParquetPipeline`) stores the documents and, once they are on
disk, records that token so ``--resume`` continues from there even after a SIGKILL.

OAI-PMH errors are handled as the protocol says:

- ``noRecordsMatch``: the harvest is complete and empty;
- ``cannotDisseminateFormat`` for ``oai_kci``: the endpoint is not KCI's, harvest ``oai_dc``;
- ``badResumptionToken`` (tokens expire): restart the list with the same arguments; records
  already stored are skipped by doc_id, so nothing is duplicated;
- anything else (``badArgument``, ``badVerb``, ...), or a response that is not OAI-PMH: stop and
  report it as the harvest's error (the stat ``kci/error``).

``from``/``until`` select by the repository's update date, not publication, so the publication
years (``--years``) are filtered here.

Run it with ``kmb crawl kci`` or, from the repository root, ``scrapy crawl kci -a endpoint=URL
-a years=2010-2020 -a workspace=DIR`` (``-a`` names are the kmb options': ``from``, ``until``,
``format``, ``set``, ``journals``, ``max_records``, ``delay``, ``resume``, ``fulltext``,
``checkpoint_every``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import scrapy

from kmb.crawlers.items import KciDocumentItem, PageDoneItem, RejectItem
from kmb.crawlers.kci_oai import (
    BAD_RESUMPTION_TOKEN,
    CANNOT_DISSEMINATE_FORMAT,
    NO_RECORDS_MATCH,
    NotOaiPmh,
    parse_response,
    record_document,
    skip_reason,
)
from kmb.crawlers.options import HarvestOptions, fulltext_url_allowed, kci_options_from_args
from kmb.crawlers.pdf_text import PdfError, pdf_text
from kmb.crawlers.session import crawl_store
from kmb.crawlers.spiders.base import KmbSpider

SOURCE = "kci"
MAX_RESTARTS = 3  # badResumptionToken restarts per harvest before giving up


def crawl_settings(options: HarvestOptions) -> dict:
    """The Scrapy settings the options decide (applied at spider priority)."""
    settings = {
        "DOWNLOAD_DELAY": options.delay,
        "AUTOTHROTTLE_ENABLED": options.delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(options.delay, 0.01),
        "KMB_KCI_ENDPOINT": options.endpoint,
        "KMB_FLUSH_ROWS": options.flush_rows,
    }
    if options.workspace is not None:
        settings["KMB_WORKSPACE"] = options.workspace  # a path, or the Workspace kmb crawl opened
    return settings


class KciOaiSpider(KmbSpider):
    name = "kci"
    source = SOURCE
    custom_settings = {
        "ITEM_PIPELINES": {"kmb.crawlers.pipelines.KciParquetPipeline": 300},
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,  # OAI-PMH paging is sequential anyway
        "DOWNLOAD_TIMEOUT": 120,  # a page of 100 full records can be large and slow
    }

    def __init__(self, options: HarvestOptions | None = None, **args):
        super().__init__()
        # kmb passes checked options; `scrapy crawl -a name=value` passes the names one by one.
        self.options = options or kci_options_from_args(args)
        self.metadata_prefix = self.options.metadata_prefix
        self.resume_token: str | None = None
        self.kept = 0
        self.restarts = 0

    def crawl_settings(self) -> dict:
        return crawl_settings(self.options)

    async def start(self):
        if self.options.resume:
            # The pipeline owns the resume point (crawl/kci/state.json); this spider only asks it.
            token, prefix = crawl_store(self.crawler).resume_point(self.options.endpoint)
            if token:
                self.resume_token, self.metadata_prefix = token, prefix or self.metadata_prefix
                self.stats.set("resumed_from", token)
        self.stats.set("metadata_prefix", self.metadata_prefix)
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
        return scrapy.Request(
            f"{self.options.endpoint}?{urlencode(params)}", callback=self.parse_page, dont_filter=True
        )

    def _token_request(self, token: str) -> scrapy.Request:
        params = {"verb": "ListRecords", "resumptionToken": token}
        return scrapy.Request(
            f"{self.options.endpoint}?{urlencode(params)}", callback=self.parse_page, dont_filter=True
        )

    def parse_page(self, response):
        stats = self.stats
        try:
            page = parse_response(response.body)
        except NotOaiPmh as exc:
            stats.set("error", f"{response.url}: {exc}")
            yield RejectItem(response.url, response.status, str(exc))
            return
        stats.inc("pages")
        for error in page.errors:
            if error.code == NO_RECORDS_MATCH:
                stats.inc("no_records_match")
                yield PageDoneItem(None, self.metadata_prefix, 0)
                return
            if error.code == CANNOT_DISSEMINATE_FORMAT and self.metadata_prefix != "oai_dc":
                self.logger.warning(
                    "%s cannot give %s; harvesting oai_dc instead", self.options.endpoint, self.metadata_prefix
                )
                self.metadata_prefix = "oai_dc"
                stats.set("fell_back_to", "oai_dc")
                stats.set("metadata_prefix", "oai_dc")
                yield self._list_request()
                return
            if error.code == BAD_RESUMPTION_TOKEN and self.restarts < MAX_RESTARTS:
                self.restarts += 1
                stats.inc("token_restarts")
                self.logger.warning("resumption token refused (%s); restarting the list", error.message)
                yield self._list_request()
                return
            stats.set("error", f"{response.url}: OAI-PMH error {error.code}: {error.message}")
            yield RejectItem(response.url, response.status, f"OAI-PMH error {error.code}: {error.message}")
            return
        kept_rows = []
        for record in page.records:
            stats.inc("records_seen")
            reason = skip_reason(record, self.options.selection, self.options.years)
            if reason:
                stats.inc(f"skipped/{reason}")
                continue
            if self.options.max_records is not None and self.kept >= self.options.max_records:
                break
            self.kept += 1
            kept_rows.append(record_document(record))
        done = self.options.max_records is not None and self.kept >= self.options.max_records
        page_state = _PageState(next_token=None if done else page.resumption_token, records=len(page.records))
        fulltext_rows = [r for r in kept_rows if self.options.fulltext and r["open_access"] and r["url"]]
        for row in [
            r
            for r in fulltext_rows
            if not fulltext_url_allowed(r["url"], self.options.endpoint, self.options.fulltext_hosts)
        ]:
            stats.inc("fulltext/refused url")  # not http(s) on the endpoint's domain or a --fulltext-host
            yield RejectItem(
                row["url"],
                None,
                f"full text of {row['doc_id']}: URL refused (only http(s) on "
                f"the endpoint's domain or a --fulltext-host)",
            )
            fulltext_rows.remove(row)
        for row in kept_rows:
            if row not in fulltext_rows:
                yield KciDocumentItem(row)
        if not fulltext_rows:
            yield from self._page_done(page_state)
            return
        # The page counts as done (resume point, next page) only once its full texts are in.
        page_state.waiting = len(fulltext_rows)
        for row in fulltext_rows:
            yield scrapy.Request(
                row["url"],
                callback=self.parse_fulltext,
                errback=self.fulltext_failed,
                cb_kwargs={"row": row, "page_state": page_state},
                dont_filter=True,
            )

    def _page_done(self, page_state: _PageState):
        yield PageDoneItem(page_state.next_token, self.metadata_prefix, page_state.records)
        if page_state.next_token:
            yield self._token_request(page_state.next_token)

    def parse_fulltext(self, response, row: dict, page_state: _PageState):
        stats = self.stats
        if response.body[:5] == b"%PDF-" or b"pdf" in (response.headers.get("Content-Type") or b"").lower():
            try:
                fulltext = pdf_text(response.body)
                row["text"] = f"{row['text']}\n{fulltext}"
                row["fulltext_chars"] = len(fulltext)
                stats.inc("fulltext/pdf")
            except PdfError as exc:
                stats.inc("fulltext/unreadable pdf")
                yield RejectItem(response.url, response.status, f"full text of {row['doc_id']}: {exc}")
        else:
            stats.inc("fulltext/not a pdf")  # e.g. KCI's HTML landing page
        yield from self._fulltext_finished(row, page_state)

    def fulltext_failed(self, failure):
        request = failure.request
        self.stats.inc("fulltext/download failed")
        yield RejectItem(
            request.url,
            getattr(getattr(failure.value, "response", None), "status", None),
            f"full text of {request.cb_kwargs['row']['doc_id']}: {failure.getErrorMessage()}",
        )
        yield from self._fulltext_finished(request.cb_kwargs["row"], request.cb_kwargs["page_state"])

    def _fulltext_finished(self, row: dict, page_state: _PageState):
        yield KciDocumentItem(row)  # with the abstract alone when no full text could be had
        page_state.waiting -= 1
        if page_state.waiting == 0:
            yield from self._page_done(page_state)


@dataclass
class _PageState:
    next_token: str | None
    records: int
    waiting: int = 0
