"""NAVER News addresses and list pages: article ids, the list URLs of both site generations, and
the article links a list page holds. Pure parsing, no Scrapy (the article pages themselves are
read by :mod:`kmb.crawlers.naver_pages`). The URL shapes and selectors are documented in
``docs/crawl-naver.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

from lxml import etree
from lxml import html as lxml_html

SOURCE = "naver_health"
NAVER_NEWS = "https://news.naver.com"
NAVER_ARTICLES = "https://n.news.naver.com"


class ArticleParseError(ValueError):
    """A page that does not have the markup we expect (the reason says what is missing)."""


# --- article ids ---------------------------------------------------------------------------------
_MNEWS_PATH = re.compile(r"/(?:mnews/)?article/(?:\w+/)?(\d{3})/(\d{10})")


def article_id(url: str) -> tuple[str, str] | None:
    """Normalise any NAVER article link to ``(oid, aid)``; ``None`` when it is not an article link.

    Handles ``main/read.naver?...&oid=&aid=``, the older ``read.nhn`` and
    ``n.news.naver.com/mnews/article/{oid}/{aid}?sid=...`` (also ``/article/{oid}/{aid}``).
    """
    if not url:
        return None
    parts = urlsplit(url.strip())
    query = parse_qs(parts.query)
    oid, aid = query.get("oid", [None])[0], query.get("aid", [None])[0]
    if oid and aid and oid.isdigit() and aid.isdigit():
        return oid.zfill(3), aid.zfill(10)
    match = _MNEWS_PATH.search(parts.path)
    if match:
        return match.group(1), match.group(2)
    return None


def doc_id(oid: str, aid: str) -> str:
    return f"naver:{oid}:{aid}"


def canonical_article_url(oid: str, aid: str, sid1: str | None = None) -> str:
    """The URL NAVER serves an article under today (both layouts live there)."""
    url = f"{NAVER_ARTICLES}/mnews/article/{oid}/{aid}"
    return f"{url}?sid={sid1}" if sid1 else url


# --- list page URLs --------------------------------------------------------------------------------
def old_list_url(base: str, day: date, page: int, sid1: str, sid2: str) -> str:
    """Old generation (until ~2024-01): 20 items a page, ``page`` past the end returns the last page."""
    query = urlencode(
        {"mode": "LS2D", "mid": "shm", "sid1": sid1, "sid2": sid2, "date": day.strftime("%Y%m%d"), "page": page}
    )
    return f"{base.rstrip('/')}/main/list.naver?{query}"


def new_list_url(base: str, day: date, sid1: str, sid2: str) -> str:
    """New generation (2024+): the first items; more come from :func:`new_more_url`."""
    return f"{base.rstrip('/')}/breakingnews/section/{sid1}/{sid2}?date={day.strftime('%Y%m%d')}"


def new_more_url(base: str, day: date, page_no: int, cursor: str, sid1: str, sid2: str) -> str:
    query = urlencode({"sid": sid1, "sid2": sid2, "pageNo": page_no, "date": day.strftime("%Y%m%d"), "next": cursor})
    return f"{base.rstrip('/')}/section/template/SECTION_ARTICLE_LIST_FOR_LATEST?{query}"


# --- list pages ------------------------------------------------------------------------------------
@dataclass
class ListPage:
    """What one list page says: the article links on it and how to go on."""

    links: list[str]
    current_page: int | None = None  # old generation: the number in div.paging strong
    empty_day: bool = False  # old generation: div.no_content
    has_next: bool = False  # new generation: data-has-next
    cursor: str | None = None  # new generation: data-cursor


def xpath_class(name: str) -> str:
    """XPath test for one class among an element's classes."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_OLD_LINKS = etree.XPath(
    f"//div[{xpath_class('list_body')}]//ul[{xpath_class('type06_headline')} or {xpath_class('type06')}]/li/dl/dt[not({xpath_class('photo')})]/a/@href"
)
_OLD_PAGING = etree.XPath(f"//div[{xpath_class('paging')}]/strong/text()")
_OLD_EMPTY = etree.XPath(f"//div[{xpath_class('no_content')}]")
_NEW_CONTAINER = etree.XPath("//*[@data-cursor or @data-has-next]")
_NEW_LINKS = etree.XPath(f"//li[{xpath_class('sa_item')}]//a[{xpath_class('sa_text_title')}]/@href")


def parse_old_list(text: str) -> ListPage:
    tree = lxml_html.document_fromstring(text)
    strong = [s.strip() for s in _OLD_PAGING(tree) if s.strip().isdigit()]
    return ListPage(
        links=_unique(str(h).strip() for h in _OLD_LINKS(tree)),
        current_page=int(strong[0]) if strong else None,
        empty_day=bool(_OLD_EMPTY(tree)),
    )


def parse_new_list(text: str) -> ListPage:
    """The 2024+ list page, or the HTML fragment from the JSON of :func:`parse_new_more`."""
    tree = lxml_html.document_fromstring(text) if text.strip() else None
    if tree is None:
        return ListPage(links=[])
    containers = _NEW_CONTAINER(tree)
    has_next, cursor = False, None
    if containers:
        has_next = (containers[0].get("data-has-next") or "").strip().lower() == "true"
        cursor = (containers[0].get("data-cursor") or "").strip() or None
    return ListPage(links=_unique(str(h).strip() for h in _NEW_LINKS(tree)), has_next=has_next, cursor=cursor)


def parse_new_more(json_text: str) -> ListPage:
    """The JSON from SECTION_ARTICLE_LIST_FOR_LATEST: an HTML fragment with the next cursor."""
    try:
        data = json.loads(json_text)
        fragment = data["renderedComponent"]["SECTION_ARTICLE_LIST_FOR_LATEST"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArticleParseError(
            f"list JSON without renderedComponent.SECTION_ARTICLE_LIST_FOR_LATEST ({exc})"
        ) from None
    return parse_new_list(f"<html><body>{fragment}</body></html>")


def _unique(items) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
