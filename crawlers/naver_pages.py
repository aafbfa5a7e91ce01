"""Pure parsing of NAVER News article pages (both layouts); list pages and ids are in
:mod:`kmb.crawlers.naver_lists`.

No Scrapy here: the spider, `kmb crawl parse naver` (:func:`saved_pages_json`) and the parse benchmark all call these
functions on HTML text. The markup facts (selectors, date formats, URL shapes) are documented in
``docs/crawl-naver.md``; each was checked on saved real pages.

Parsing fails loudly: an article page without a title or a body raises
:class:`ArticleParseError` with the reason, which the crawler records in the rejects table.
That is how a NAVER markup change shows up instead of an empty corpus.

lxml with compiled XPath is used in the hot path: it parses a 200 KB NAVER page several times
faster than BeautifulSoup (see ``benchmarks/bench_crawl_parse.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from kmb.crawlers.naver_lists import SOURCE, ArticleParseError, article_id, canonical_article_url, doc_id, xpath_class

# Bump when the parsing or cleaning rules change, so stored rows say which rules made them.
PARSER_VERSION = "naver-pages/1"
KST = timezone(timedelta(hours=9))  # NAVER prints Korea time; we store UTC


# --- article pages ---------------------------------------------------------------------------------
@dataclass
class Article:
    """One parsed article; :meth:`row` gives the ``NAVER_DOCUMENTS`` row."""

    oid: str
    aid: str
    url: str
    title: str
    text: str
    press: str | None
    reporter: str | None
    published_at: datetime | None
    modified_at: datetime | None
    sid1: str | None
    sid2: str | None
    html_sha256: str
    layout: str  # "current" or "legacy"
    parser_version: str = PARSER_VERSION
    extra: dict = field(default_factory=dict)

    def row(self, crawled_at: datetime | None = None, html: str | None = None) -> dict:
        return {
            "doc_id": doc_id(self.oid, self.aid),
            "source": SOURCE,
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "language": "ko",
            "published_at": self.published_at,
            "crawled_at": crawled_at,
            "press": self.press,
            "reporter": self.reporter,
            "modified_at": self.modified_at,
            "sid1": self.sid1,
            "sid2": self.sid2,
            "oid": self.oid,
            "aid": self.aid,
            "html_sha256": self.html_sha256,
            "parser_version": self.parser_version,
            "html": html,
        }


_X = etree.XPath
# A plain lxml HTML parser: no lxml.html element classes, which cost a lookup per element touched.
_HTML_PARSER = etree.HTMLParser(remove_comments=True)
# current layout (2020s; `#dic_area` is a div before 2023 and an article after: select by id)
_TITLE_CURRENT = _X(f"//h2[@id='title_area'] | //h2[{xpath_class('media_end_head_headline')}]")
_BODY_CURRENT = _X("//*[@id='dic_area']")
_PUBLISHED = _X(f"//span[{xpath_class('_ARTICLE_DATE_TIME')}]/@data-date-time")
_MODIFIED = _X(f"//span[{xpath_class('_ARTICLE_MODIFY_DATE_TIME')}]/@data-modify-date-time")
_LOGO_ALT = _X(f"//img[{xpath_class('media_end_head_top_logo_img')}]/@alt")
_JOURNALIST = _X(f"//em[{xpath_class('media_end_head_journalist_name')}]")
# legacy layout (until ~2020)
_TITLE_LEGACY = _X("//h3[@id='articleTitle']")
_BODY_LEGACY = _X("//div[@id='articleBodyContents']")
_DATES_LEGACY = _X(f"//span[{xpath_class('t11')}]/text()")
_BYLINE_LEGACY = _X(f"//div[{xpath_class('byline')}]")
# both
_META = _X("//meta[@property=$name]/@content")

# Inside the body: what is never article text (tags, and classes NAVER uses for captions,
# summary boxes, video players and related-article links).
_DROP_TAGS = {"script", "style", "noscript", "figcaption", "iframe", "button"}
_DROP_CLASSES = {
    "img_desc",
    "end_photo_org",
    "nbd_im_w",
    "media_end_summary",
    "vod_player_wrap",
    "_VOD_PLAYER_WRAP",
    "artical-btm",
    "link_news",
    "end_photo_sub",
}
_BLOCK_TAGS = {"p", "div", "li", "tr", "h3", "h4", "blockquote", "table", "ul", "section"}

_LINK_MARK = "\ufffc"  # stands where a link's text was: a line made mostly of links is promo

# Text rules. Each one is about the start or the end of the body, never the middle.
_DATELINE = re.compile(r"^\s*[\(\[【<]\s*[^\)\]】>\n]{0,40}?(?:=|기자|특파원|뉴스)[^\)\]】>\n]{0,40}[\)\]】>]\s*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TRAILING_BYLINE = re.compile(
    r"\s*[/\[(]?\s*(?:[가-힣]{2,4}\s?(?:인턴\s?)?(?:기자|특파원|객원기자|선임기자)(?:\s*=\s*[가-힣]+)?)?\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*[\])]?\s*$"
)
_REPORTER_ONLY = re.compile(
    r"^[/\[(\s]*(?:[가-힣]{2,4}\s?)(?:인턴\s?)?(?:기자|특파원|객원기자|선임기자)[\])\s]*$|^[/\[(\s]*(?:기자|특파원)\s[가-힣]{2,4}[\])\s]*$"
)
_COPYRIGHT = re.compile(r"무단\s?전재|재배포\s?금지|ⓒ|©|copyright|all rights reserved|저작권자", re.IGNORECASE)
_PROMO = re.compile(r"^\s*[▶☞■※◆▷]\s*|^\s*\[?(?:관련기사|바로가기|구독하기|네이버에서)")


def read_html(data: bytes) -> str:
    """Decode saved page bytes: UTF-8 when valid, else the declared charset (EUC-KR is read as CP949).

    Saved pages are sometimes re-encoded as UTF-8 but still declare ``euc-kr``, so valid UTF-8 wins.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = re.search(rb"""charset\s*=\s*["']?([\w-]+)""", data[:4096], re.IGNORECASE)
    declared = match.group(1).decode("ascii").lower() if match else "cp949"
    if declared in ("euc-kr", "euckr", "ks_c_5601-1987", "x-windows-949", "ms949"):
        declared = "cp949"  # a superset of EUC-KR; NAVER's "EUC-KR" pages use its extra syllables
    try:
        return data.decode(declared, errors="replace")
    except LookupError:
        return data.decode("cp949", errors="replace")


def _article_tree(page: str, fast: bool):
    """The page's element tree: only the article's own region with ``fast`` (see _article_region)."""
    region = _article_region(page) if fast else None
    try:
        tree = etree.fromstring(region or page, _HTML_PARSER)
        if tree is None:
            raise ValueError("empty document")
    except (etree.ParserError, ValueError) as exc:
        raise ArticleParseError(f"not an HTML page ({exc})") from None
    return tree


def parse_article(
    page: str,
    url: str | None = None,
    sid1: str | None = None,
    sid2: str | None = None,
    fast: bool = True,
    html_sha256: str | None = None,
) -> Article:
    """Parse an article page of either layout. ``url`` defaults to the page's ``og:url``.

    With ``fast`` (the default) only the ``<meta>`` tags and the article's own region are parsed
    (see :func:`_article_region`); without it, the whole page. Both give the same result (tested).
    Raises :class:`ArticleParseError` when the page has no id, title or body.
    """
    # The crawler passes the hash of the bytes it downloaded; offline, hash the text as UTF-8.
    html_sha256 = html_sha256 or hashlib.sha256(page.encode("utf-8")).hexdigest()
    tree = _article_tree(page, fast)
    og_url = _first(_META(tree, name="og:url"))
    url = url or og_url
    ids = article_id(url or "") or article_id(og_url or "")
    if ids is None:
        raise ArticleParseError("no article id (oid, aid) in the URL or og:url")
    query = parse_qs(urlsplit(url or "").query)
    sid1 = sid1 or _first(query.get("sid1")) or _first(query.get("sid"))
    sid2 = sid2 or _first(query.get("sid2"))

    title_el = _first(_TITLE_CURRENT(tree))
    body_el = _first(_BODY_CURRENT(tree))
    if title_el is not None or body_el is not None:
        layout = "current"
        published = _parse_kst(_first(_PUBLISHED(tree)))
        modified = _parse_kst(_first(_MODIFIED(tree)))
        press = _press(_first(_META(tree, name="og:article:author"))) or _nfc(_first(_LOGO_ALT(tree)))
        reporter = _reporters(_text(el) for el in _JOURNALIST(tree))
    else:
        title_el = _first(_TITLE_LEGACY(tree))
        body_el = _first(_BODY_LEGACY(tree))
        layout = "legacy"
        dates = [_parse_kst(d) for d in _DATES_LEGACY(tree)]
        dates = [d for d in dates if d is not None]
        published = dates[0] if dates else None
        modified = dates[1] if len(dates) > 1 else None
        press = _press(_first(_META(tree, name="og:article:author")))
        reporter = _reporters(_text(el) for el in _BYLINE_LEGACY(tree))

    if title_el is None:
        raise ArticleParseError(
            "no title (h2#title_area, h2.media_end_head_headline or h3#articleTitle): markup changed?"
        )
    if body_el is None:
        raise ArticleParseError("no body (#dic_area or div#articleBodyContents): markup changed?")
    title = _squash(_text(title_el))
    if not title:
        raise ArticleParseError("empty title")
    text = clean_body(body_el)
    if not text:
        raise ArticleParseError("empty body after cleaning")
    if reporter is None:
        reporter = _reporter_from_text(body_el)

    return Article(
        oid=ids[0],
        aid=ids[1],
        url=_nfc(url) if url else canonical_article_url(*ids, sid1),
        title=title,
        text=text,
        press=press,
        reporter=reporter,
        published_at=published,
        modified_at=modified,
        sid1=sid1,
        sid2=sid2,
        html_sha256=html_sha256,
        layout=layout,
    )


# The article region: from the header (title, dates, press, reporter) to just after the byline.
# A NAVER page is ~200 KB, mostly navigation and scripts; the region is ~10 KB, and parsing only it
# is ~10x faster. When a marker is missing, the caller parses the whole page instead.
# Literal markers, found with str.find (about 100x faster than one regex alternation over 200 KB).
_REGION_STARTS = ('class="media_end_head', 'id="title_area"', 'class="article_info"', 'id="articleTitle"')
_BODY_IDS = ('id="dic_area"', 'id="articleBodyContents"')
_REGION_ENDS = (
    'class="article_journalist"',  # legacy: after div.byline
    'class="guide_categorization"',  # legacy 2020: right after the body
    "<!-- 관련기사 -->",
    "<!-- 소셜플러그인 -->",
    'class="copyright"',  # current: after div.byline
    'class="media_end_copyright',
    'class="media_end_linked',
    'class="reporter_area',
    'class="media_end_categorize',
)
_META_TAG = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)


def _first_of(page: str, markers: tuple[str, ...], start: int, window: int) -> int:
    """Earliest position of any marker after ``start``; looks in a window first, since a marker
    that is absent costs a scan of the whole page."""
    for end in (min(start + window, len(page)), len(page)):
        best = -1
        for marker in markers:
            # Only look before the best position so far: an absent marker then costs little.
            i = page.find(marker, start, best + len(marker) if best >= 0 else end)
            if i >= 0:
                best = i
        if best >= 0 or end >= len(page):
            return best
    return -1


def _article_region(page: str) -> str | None:
    """The header-to-byline slice of an article page plus its <meta> tags; None when unsure."""
    region_start = _first_of(page, _REGION_STARTS, 0, 60_000)
    body = _first_of(page, _BODY_IDS, region_start, 20_000) if region_start >= 0 else -1
    region_end = _first_of(page, _REGION_ENDS, body, 40_000) if body >= 0 else -1
    if region_end < 0:
        return None
    start = page.rfind("<", 0, region_start)
    end = page.rfind("<", 0, region_end)
    if start < 0 or end <= body:
        return None
    head_end = page.find("</head", 0, start)
    metas = "".join(_META_TAG.findall(page, 0, head_end if head_end > 0 else start))
    return f"<html><head>{metas}</head><body>{page[start:end]}</body></html>"


def clean_body(body: etree._Element) -> str:
    """The article text: paragraphs joined by "\\n", without captions, promo, datelines, bylines, copyright.

    Works on the element in place (callers parse a fresh tree per page). One pass over the body
    decides what each element is; that is several times faster than one XPath per rule.
    """
    drop, links, breaks, blocks = [], [], [], []
    for el in body.iterdescendants():
        tag = el.tag
        if not isinstance(tag, str):  # comments, processing instructions
            drop.append(el)
            continue
        classes = el.get("class")
        if tag in _DROP_TAGS or (classes and not _DROP_CLASSES.isdisjoint(classes.split())):
            drop.append(el)
        elif tag == "a":
            links.append(el)
        elif tag == "br":
            breaks.append(el)
        elif tag in _BLOCK_TAGS:
            blocks.append(el)
    for el in drop:
        _drop(el)
    for link in links:
        # Keep the tail (text after the link), replace the link's own text by a mark.
        for child in list(link):
            link.remove(child)
        link.text = _LINK_MARK
    for br in breaks:
        br.tail = "\n" + (br.tail or "")
    for block in blocks:
        block.text = "\n" + (block.text or "")
        block.tail = "\n" + (block.tail or "")

    lines = []
    for raw in "".join(body.itertext()).split("\n"):
        had_link = _LINK_MARK in raw
        line = _squash(raw.replace(_LINK_MARK, " "))
        if not line:
            continue
        # A line that was mostly links ("채널 구독 / 홈페이지 바로가기") is promotion.
        if had_link and len(re.sub(r"[\W_]", "", line)) < 20:
            continue
        lines.append(line)

    if lines:
        lines[0] = _DATELINE.sub("", lines[0], count=1).strip()
    # From the end: copyright lines, reporter lines, e-mails, promo arrows.
    while lines:
        last = lines[-1]
        if (
            not last
            or (_COPYRIGHT.search(last) and len(last) < 120)
            or _REPORTER_ONLY.match(last)
            or _PROMO.match(last)
        ):
            lines.pop()
            continue
        stripped = _TRAILING_BYLINE.sub("", last).strip()
        if stripped != last:
            if stripped:
                lines[-1] = stripped
            else:
                lines.pop()
            continue
        break
    return "\n".join(line for line in lines if line)


def _text(el: etree._Element) -> str:
    return "".join(el.itertext())


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text (the text that follows it)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    parent.remove(el)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _reporter_from_text(body: etree._Element) -> str | None:
    # Legacy pages often put "김미경기자 name@press.co.kr" at the end of the body instead of a byline.
    match = re.search(r"([가-힣]{2,4})\s?(?:인턴\s?)?기자\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "".join(body.itertext()))
    return match.group(1) if match else None


def _reporters(texts) -> str | None:
    names = []
    for text in texts:
        name = _squash(text)
        name = re.sub(r"\s*(?:인턴\s?)?(?:기자|특파원|객원기자|선임기자)\s*$", "", name)
        name = _EMAIL.sub("", name).strip(" /")
        if name and name not in names:
            names.append(name)
    return ", ".join(names) or None


def _press(og_author: str | None) -> str | None:
    # "부산일보 | 네이버": the press is the part before "|".
    if not og_author:
        return None
    return _nfc(og_author.split("|")[0].strip()) or None


_KST_DATE = re.compile(
    r"(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})\.?\s*(오전|오후|AM|PM)?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
)


def _parse_kst(value: str | None) -> datetime | None:
    """ "2023-05-01 10:20:30" or "2017.04.20. 오후 3:53" (Korea time) -> an aware UTC datetime."""
    if not value:
        return None
    match = _KST_DATE.search(value)
    if not match:
        return None
    year, month, day, half, hour, minute, second = match.groups()
    hour = int(hour)
    if half in ("오후", "PM") and hour < 12:
        hour += 12
    elif half in ("오전", "AM") and hour == 12:
        hour = 0
    local = datetime(int(year), int(month), int(day), hour, int(minute), int(second or 0), tzinfo=KST)
    return local.astimezone(timezone.utc)


def _first(items):
    if not items:
        return None
    item = items[0]
    return str(item) if isinstance(item, (str, bytes)) or hasattr(item, "is_attribute") else item


_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b\u3000]+")


def _squash(text: str | None) -> str:
    return _nfc(_SPACES.sub(" ", text or "").strip())


def _nfc(text: str | None) -> str | None:
    return unicodedata.normalize("NFC", text) if text else text


def article_json(article: Article, html: str | None = None, crawled_at: datetime | None = None) -> str:
    """One JSON line with the fields of a Parquet row (timestamps in ISO 8601 UTC)."""
    row = article.row(crawled_at=crawled_at, html=html)
    for key, value in row.items():
        if isinstance(value, datetime):
            row[key] = value.isoformat()
    return json.dumps(row, ensure_ascii=False)


def saved_pages_json(paths, url: str | None = None, keep_html: bool = False):
    """`kmb crawl parse naver`: one JSON line per saved article page, in order.

    Raises KmbError naming the file for a page that cannot be read or is not an article page.
    """
    from kmb.errors import KmbError

    paths = list(paths)
    if url and len(paths) > 1:
        raise KmbError("--url names one page; give one FILE with it")
    for path in paths:
        try:
            text = read_html(path.read_bytes())
        except OSError as exc:
            raise KmbError(f"cannot read: {exc.strerror}", path=path) from None
        try:
            article = parse_article(text, url=url)
        except ArticleParseError as exc:
            raise KmbError(f"not a NAVER article page: {exc}", path=path) from None
        yield article_json(article, html=text if keep_html else None)


__all__ = [
    "PARSER_VERSION",
    "Article",
    "article_json",
    "clean_body",
    "parse_article",
    "read_html",
    "saved_pages_json",
]
