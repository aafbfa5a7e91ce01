"""Item pipeline for the KCI spider: documents into ``raw/kci/`` parts, and the resume point.

Documents go through the atomic :class:`ParquetSink`, a new part every ``KMB_FLUSH_ROWS``
documents. Only after a part is renamed into place is the next resumption token written to
``crawl/kci/state.json`` (also atomically), so after a kill ``--resume`` re-requests at most the
pages whose documents had not reached disk, and doc_ids already stored are skipped: nothing is
lost and nothing is stored twice.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from kmb.storage import KCI_DOCUMENTS, REJECTS, ParquetSink, doc_ids, part_name, write_rows
from kmb.workspace import Workspace
from kmb.crawlers.kci import KciDocumentItem, PageDoneItem, RejectItem, write_state


class KciParquetPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.ws = Workspace.open(crawler.settings.get("KMB_WORKSPACE"))
        self.endpoint = crawler.settings.get("KMB_KCI_ENDPOINT")
        self.flush_rows = crawler.settings.getint("KMB_FLUSH_ROWS", 500)
        self.sink: ParquetSink | None = None
        self.pending = 0
        self.stored = 0
        self.duplicates = 0
        self.parts: list[str] = []
        self.complete = False
        self.rejects: list[dict] = []  # few (a bad page ends the harvest): written at close
        self.progress_interval = crawler.settings.getfloat("KMB_PROGRESS_INTERVAL", 10.0)
        self._last_progress = time.monotonic()
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        self.known = doc_ids(self.ws.raw("kci"))

    def process_item(self, item):
        if isinstance(item, KciDocumentItem):
            doc_id = item.row["doc_id"]
            if doc_id in self.known:
                self.duplicates += 1
                return item
            self.known.add(doc_id)
            if self.sink is None:
                self.sink = ParquetSink(self.ws.raw("kci") / part_name("kci"), KCI_DOCUMENTS)
            self.sink.write_row(item.row)
            self.pending += 1
        elif isinstance(item, RejectItem):
            self.rejects.append({"source": "kci", "url": item.url, "status": item.status, "reason": item.reason,
                                 "seen_at": datetime.now(timezone.utc)})
        elif isinstance(item, PageDoneItem):
            last_page = item.next_token is None
            # Save the resume point only when nothing before it is still in memory.
            if self.pending >= self.flush_rows or last_page:
                self._flush()
            if self.pending == 0:
                write_state(self.ws, {
                    "endpoint": self.endpoint,
                    "metadata_prefix": item.metadata_prefix,
                    "next_token": item.next_token,
                    "stored_total": len(self.known),
                    "saved_at": datetime.now(timezone.utc).isoformat(),
                })
            self.complete = last_page
            self.pages += 1
            if time.monotonic() - self._last_progress >= self.progress_interval:
                self._last_progress = time.monotonic()
                print(f"kci: {self.pages} pages, {self.stored + self.pending} documents stored", file=sys.stderr, flush=True)
        return item

    def _flush(self) -> None:
        if self.sink is not None:
            self.parts.append(str(self.sink.close()))
            self.stored += self.pending
            self.sink = None
        self.pending = 0

    def close_spider(self) -> None:
        # A clean close (also on an error page) keeps what was harvested; the state file keeps
        # the last resume point written after a flushed part.
        self._flush()
        if self.rejects:
            write_rows(self.ws.rejects("kci") / part_name("kci-rejects"), self.rejects, REJECTS)
        self.ws.refresh_views()
        self.crawler.kmb_kci_result = {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "parts": self.parts,
            "complete": self.complete,
        }
