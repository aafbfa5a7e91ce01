"""What the spiders yield: dataclass items (Scrapy reads them through itemadapter).

Spiders only parse and yield these; the item pipelines (``pipelines.py``) store them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NaverArticleItem:
    row: dict  # a NAVER_DOCUMENTS row


@dataclass
class DayListedItem:
    """Every article id a day's list pages named: the day is done once all of them are stored."""

    day: str  # YYYYMMDD
    doc_ids: list[str] = field(default_factory=list)


@dataclass
class KciDocumentItem:
    row: dict  # a KCI_DOCUMENTS row


@dataclass
class PageDoneItem:
    """One ListRecords page is handled: its documents are yielded, ``next_token`` goes on."""

    next_token: str | None  # None: the list is complete (or the harvest stops here)
    metadata_prefix: str
    records_seen: int


@dataclass
class RejectItem:
    """A page that could not be used (either source), stored in raw/<source>/rejects/."""

    url: str | None
    status: int | None
    reason: str
    doc_id: str | None = None  # NAVER: the article it was for (a day waits for its rejects too)
