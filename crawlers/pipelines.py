"""Where crawled NAVER articles go: Parquet parts in raw/naver_health, rejects beside them.

Exactly once, even after SIGKILL. The pipeline
  * loads the doc_ids already stored (every earlier or interrupted run's parts) when it opens,
    and never writes one of them again (the spider also skips requesting them);
  * buffers rows and writes a new part every ``KMB_FLUSH_EVERY`` items through the atomic
    ParquetSink (a kill loses at most the buffer, never leaves a half file);
  * marks a day done in ``crawl/naver_health/done_days.txt`` only when every article listed
    for it is in a written part (stored or rejected). ``--resume`` skips done days and lists the
    others again, so whatever a kill lost is fetched again and nothing is stored twice.

Also here: the progress line the crawl prints while it runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kmb.storage import NAVER_DOCUMENTS, REJECTS, doc_ids, part_name, write_json_atomic, write_rows
from kmb.workspace import Workspace
from kmb.crawlers.naver_pages import SOURCE

DONE_DAYS_FILE = "done_days.txt"
# Written only when a crawl stops cleanly, for the next --resume that finds Scrapy's queue intact:
DAYS_STARTED_FILE = "days_started.json"  # days whose list requests are in the queue (spider)
OPEN_DAYS_FILE = "open_days.json"  # listed days still waiting for some articles (pipeline)


# --- state shared with the spider -------------------------------------------------------------
def read_done_days(state_dir: Path) -> set[str]:
    path = Path(state_dir) / DONE_DAYS_FILE
    if not path.is_file():
        return set()
    # A kill can leave a partial last line; a day counts only on a complete line.
    lines = path.read_text(encoding="utf-8").split("\n")
    return {line.strip() for line in lines[:-1] if len(line.strip()) == 8 and line.strip().isdigit()}


def read_json(path: Path, default):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return default


def write_json(path: Path, value) -> None:
    """Atomically: a temporary file, then os.replace."""
    write_json_atomic(path, value, indent=None)


def append_done_day(state_dir: Path, day: str) -> None:
    path = Path(state_dir) / DONE_DAYS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(day + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# --- the item pipeline ---------------------------------------------------------------------------
class NaverParquetPipeline:
    """Items are dicts with ``kind``: "article" (a ``row``), "reject" (a ``row`` + ``doc_id``),
    or "day_listed" (``day`` and every ``doc_ids`` its list pages named)."""

    def __init__(self, workspace: str | None, flush_every: int, progress_interval: float, stats, resume: bool = False):
        self.ws = Workspace.open(workspace)
        self.out = self.ws.raw(SOURCE)
        self.rejects_dir = self.ws.rejects(SOURCE)
        self.state_dir = self.ws.crawl_state(SOURCE)
        self.flush_every = max(1, flush_every)
        self.progress_interval = progress_interval
        self.stats = stats
        self.stored: set[str] = set()
        self.handled: set[str] = set()  # rejected ids whose reject rows are written
        self.rows: list[dict] = []
        self.row_ids: set[str] = set()
        self.rejects: list[dict] = []
        self.reject_ids: set[str] = set()
        self.open_days: dict[str, set[str]] = {}
        self.done_days: set[str] = set()
        self.resume = resume
        self.started = time.monotonic()
        self.last_progress = self.started

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(
            s.get("KMB_WORKSPACE"),
            s.getint("KMB_FLUSH_EVERY", 100),
            s.getfloat("KMB_PROGRESS_INTERVAL", 10.0),
            crawler.stats,
            resume=s.getbool("KMB_RESUME", False),
        )

    def open_spider(self, spider=None) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.stored = doc_ids(self.out)
        self.stats.set_value("kmb/already_stored", len(self.stored))
        if self.resume:
            self.done_days = read_done_days(self.state_dir)
            # Days listed before a clean stop whose articles are still in Scrapy's queue.
            for day, ids in read_json(self.state_dir / OPEN_DAYS_FILE, {}).items():
                if day not in self.done_days:
                    self.open_days[day] = set(ids) - self.stored

    def process_item(self, item, spider=None):
        kind = item.get("kind")
        if kind == "article":
            doc_id = item["row"]["doc_id"]
            if doc_id in self.stored or doc_id in self.row_ids:
                self.stats.inc_value("kmb/duplicates_skipped")
            else:
                self.rows.append(item["row"])
                self.row_ids.add(doc_id)
                self.stats.inc_value("kmb/parsed")
        elif kind == "reject":
            self.rejects.append(item["row"])
            if item.get("doc_id"):
                self.reject_ids.add(item["doc_id"])
            self.stats.inc_value("kmb/rejected")
        elif kind == "day_listed" and item["day"] in self.done_days:
            pass  # listed again after a resume: already complete
        elif kind == "day_listed":
            outstanding = set(item["doc_ids"]) - self.stored - self.handled
            self.open_days[item["day"]] = outstanding
            if not item["doc_ids"]:
                self.stats.inc_value("kmb/days_empty")
            self._close_finished_days()
        if len(self.rows) + len(self.rejects) >= self.flush_every:
            self.flush()
        self._progress()
        return item

    def close_spider(self, spider=None) -> None:
        self.flush()
        write_json(self.state_dir / OPEN_DAYS_FILE, {day: sorted(ids) for day, ids in self.open_days.items()})
        self._progress(final=True)

    def flush(self) -> None:
        """Write buffered rows as new parts (atomically), then mark days whose articles are all written."""
        if self.rows:
            write_rows(self.out / part_name("part"), self.rows, NAVER_DOCUMENTS)
            self.stored |= self.row_ids
            self.stats.inc_value("kmb/parts_written")
        if self.rejects:
            write_rows(self.rejects_dir / part_name("rejects"), self.rejects, REJECTS)
            self.handled |= self.reject_ids
        self.rows, self.row_ids, self.rejects, self.reject_ids = [], set(), [], set()
        for outstanding in self.open_days.values():
            outstanding -= self.stored
            outstanding -= self.handled
        self._close_finished_days()

    def _close_finished_days(self) -> None:
        for day in [d for d, outstanding in self.open_days.items() if not outstanding]:
            append_done_day(self.state_dir, day)
            del self.open_days[day]
            self.done_days.add(day)
            self.stats.inc_value("kmb/days_done")

    def _progress(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and (self.progress_interval <= 0 or now - self.last_progress < self.progress_interval):
            return
        self.last_progress = now
        parsed = self.stats.get_value("kmb/parsed", 0)
        rate = parsed / max(now - self.started, 1e-9)
        days = self.stats.get_value("kmb/days_done", 0)
        total = self.stats.get_value("kmb/days_total", "?")
        sys.stderr.write(
            f"naver-health: days {days}/{total} done, {parsed} articles ({rate:.1f}/s), "
            f"{self.stats.get_value('kmb/rejected', 0)} rejected, "
            f"{self.stats.get_value('kmb/duplicates_skipped', 0)} duplicates skipped\n"
        )
        sys.stderr.flush()


def reject_row(url: str | None, reason: str, status: int | None = None) -> dict:
    return {"source": SOURCE, "url": url, "status": status, "reason": reason, "seen_at": datetime.now(timezone.utc)}
