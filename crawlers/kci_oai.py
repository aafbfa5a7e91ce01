"""OAI-PMH responses as data: pages, records, errors; KCI's `oai_kci` and the standard `oai_dc`.

Pure parsing, no network: the spider (``spiders/kci.py``) hands response bodies here, the tests hand
files. Elements are matched by namespace URI, never by prefix, so any endpoint's choice of
prefixes works.

KCI marks languages with ``lang="original"`` (the paper's own language) and ``lang="english"``
(the translation) in both formats; other endpoints' ``oai_dc`` use ``xml:lang`` or nothing. A
Korean paper may still have only an English "original" abstract, so the Korean abstract is the
one whose text is Korean, and the record's ``language`` decides whether the paper is Korean.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
KCI = "http://www.kci.go.kr/kciportal/OAI/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# OAI-PMH error codes (protocol section 3.6)
BAD_RESUMPTION_TOKEN = "badResumptionToken"
NO_RECORDS_MATCH = "noRecordsMatch"
CANNOT_DISSEMINATE_FORMAT = "cannotDisseminateFormat"
BAD_ARGUMENT = "badArgument"

# Subjects that make an article medical when the user gives no journal list (KCI's
# article-categories / dc:subject are Korean field names such as 의학일반, 내과학, 간호학).
MEDICAL_SUBJECT_WORDS = ("의학", "의약", "약학", "간호", "치의학", "한의학", "보건", "내과", "외과", "임상", "의료")

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_ISSN = re.compile(r"\b(\d{4}-?\d{3}[\dXx])\b")
_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)")
_ARTICLE_ID = re.compile(r"\b(ART\d{6,})\b")


class NotOaiPmh(ValueError):
    """The response is not an OAI-PMH document."""


@dataclass
class OaiError:
    code: str
    message: str


@dataclass
class OaiRecord:
    identifier: str
    datestamp: str | None
    deleted: bool = False
    sets: list[str] = field(default_factory=list)
    metadata_format: str | None = None
    article_id: str | None = None
    title: str | None = None  # the Korean title where there is one
    title_en: str | None = None
    abstract_ko: str | None = None
    abstract_en: str | None = None
    journal: str | None = None
    issn: str | None = None
    eissn: str | None = None
    year: int | None = None
    doi: str | None = None
    language: str | None = None  # ISO 639-1 ("ko", "en") where known
    open_access: bool | None = None
    url: str | None = None
    subjects: list[str] = field(default_factory=list)


@dataclass
class OaiPage:
    records: list[OaiRecord]
    resumption_token: str | None = None  # None or "" means the list is complete
    complete_list_size: int | None = None
    errors: list[OaiError] = field(default_factory=list)
    response_date: str | None = None


def parse_response(body: bytes) -> OaiPage:
    """Parse one OAI-PMH response (any verb; records are read from ListRecords/GetRecord)."""
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as exc:
        raise NotOaiPmh(f"not XML: {exc}") from None
    if root.tag != f"{{{OAI}}}OAI-PMH":
        raise NotOaiPmh(
            f"not an OAI-PMH response: the root element is <{etree.QName(root).localname}> in namespace {etree.QName(root).namespace or '(none)'}"
        )
    page = OaiPage(records=[], response_date=_text(root.find(f"{{{OAI}}}responseDate")))
    for error in root.findall(f"{{{OAI}}}error"):
        page.errors.append(OaiError(error.get("code", ""), _text(error) or ""))
    for record in root.iter(f"{{{OAI}}}record"):
        page.records.append(parse_record(record))
    token = root.find(f".//{{{OAI}}}resumptionToken")
    if token is not None:
        page.resumption_token = (token.text or "").strip() or None
        size = token.get("completeListSize")
        page.complete_list_size = int(size) if size and size.isdigit() else None
    return page


def parse_record(record: etree._Element) -> OaiRecord:
    header = record.find(f"{{{OAI}}}header")
    if header is None:
        raise NotOaiPmh("an OAI-PMH record without <header>")
    out = OaiRecord(
        identifier=_text(header.find(f"{{{OAI}}}identifier")) or "",
        datestamp=_text(header.find(f"{{{OAI}}}datestamp")),
        deleted=header.get("status") == "deleted",
        sets=[_text(s) for s in header.findall(f"{{{OAI}}}setSpec") if _text(s)],
    )
    metadata = record.find(f"{{{OAI}}}metadata")
    if out.deleted or metadata is None or len(metadata) == 0:
        return out
    payload = metadata[0]
    if payload.tag == f"{{{KCI}}}oai_kci":
        _parse_oai_kci(payload, out)
    elif payload.tag == f"{{{OAI_DC}}}dc":
        _parse_oai_dc(payload, out)
    else:
        out.metadata_format = etree.QName(payload).localname
    return out


# --- oai_kci -------------------------------------------------------------------------------------
def _parse_oai_kci(payload: etree._Element, out: OaiRecord) -> None:
    out.metadata_format = "oai_kci"

    def k(path: str) -> str:
        return "/".join(f"{{{KCI}}}{part}" for part in path.split("/"))

    journal = payload.find(k("journalInfo"))
    article = payload.find(k("articleInfo"))
    if journal is not None:
        out.journal = _text(journal.find(k("journal-name")))
        out.issn = _issn(_text(journal.find(k("pissn"))))
        out.eissn = _issn(_text(journal.find(k("eissn"))))
        out.year = _year(_text(journal.find(k("pub-year"))))
    if article is None:
        return
    out.article_id = article.get("article-id")
    out.language = _language(_text(article.find(k("language"))))
    titles = [
        (el.get("lang") or el.get(XML_LANG), _text(el)) for el in article.iterfind(k("title-group/article-title"))
    ]
    abstracts = [
        (el.get("lang") or el.get(XML_LANG), _text(el)) for el in article.iterfind(k("abstract-group/abstract"))
    ]
    _choose_languages(out, titles, abstracts)
    out.open_access = _yes_no(_text(article.find(k("orte-open-yn"))))
    out.doi = _text(article.find(k("doi")))
    out.url = _text(article.find(k("url")))
    categories = _text(article.find(k("article-categories")))
    out.subjects = [s.strip() for s in re.split(r"[>,;/]", categories or "") if s.strip()]


# --- oai_dc ----------------------------------------------------------------------------------------
def _parse_oai_dc(payload: etree._Element, out: OaiRecord) -> None:
    out.metadata_format = "oai_dc"

    def values(name: str) -> list[tuple[str | None, str]]:
        return [
            (el.get("lang") or el.get(XML_LANG), _text(el)) for el in payload.iterfind(f"{{{DC}}}{name}") if _text(el)
        ]

    languages = [v for _, v in values("language")]
    out.language = _language(languages[0]) if languages else None
    _choose_languages(out, values("title"), values("description"))
    for _, value in values("identifier") + values("relation"):
        if out.url is None and value.startswith("http"):
            out.url = value
        if out.doi is None and _DOI.search(value):
            out.doi = _DOI.search(value).group(1)
        if out.issn is None and "issn" in value.lower() and _ISSN.search(value):
            out.issn = _issn(_ISSN.search(value).group(1))
        if out.article_id is None and _ARTICLE_ID.search(value):
            out.article_id = _ARTICLE_ID.search(value).group(1)
    sources = [v for _, v in values("source")]
    for value in sources:
        if out.issn is None and _ISSN.search(value):
            out.issn = _issn(_ISSN.search(value).group(1))
    journal_names = [v for v in sources if not _ISSN.fullmatch(v.replace("ISSN", "").strip(" :"))]
    out.journal = journal_names[0] if journal_names else None
    dates = [v for _, v in values("date")]
    out.year = _year(dates[0]) if dates else None
    out.subjects = [v for _, v in values("subject")]
    rights = " ".join(v for _, v in values("rights")).lower()
    out.open_access = True if ("open" in rights or "공개" in rights) else None


# --- shared helpers ----------------------------------------------------------------------------------
def _choose_languages(out: OaiRecord, titles, abstracts) -> None:
    """Pick the Korean and English title/abstract from (lang, text) pairs by their text."""
    out.title = _pick(titles, korean=True)
    out.title_en = _pick(titles, korean=False)
    out.abstract_ko = _pick(abstracts, korean=True)
    out.abstract_en = _pick(abstracts, korean=False)
    if out.language is None:  # no language element: the original abstract's script decides
        pairs = abstracts + titles
        original = next((t for lang, t in pairs if lang in (None, "original")), None)
        original = original or next((t for lang, t in pairs if _lang_label_is(lang, True)), None)
        if original:
            out.language = "ko" if _is_korean(original) else None


def _pick(pairs, korean: bool) -> str | None:
    # Prefer the label that says so, but trust the text: KCI labels by role (original/english).
    labelled = [t for lang, t in pairs if t and _lang_label_is(lang, korean) and _is_korean(t) == korean]
    if labelled:
        return labelled[0]
    matching = [t for lang, t in pairs if t and _is_korean(t) == korean]
    return matching[0] if matching else None


def _lang_label_is(lang: str | None, korean: bool) -> bool:
    if lang is None:
        return False
    lang = lang.lower()
    if korean:
        return lang in ("original", "ko", "kor", "korean")
    return lang in ("english", "en", "eng")


def _is_korean(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if _HANGUL.match(c)) / len(letters) >= 0.3


def _language(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().lower()
    if v.startswith(("ko", "한국")) or v == "kor":
        return "ko"
    if v.startswith(("en", "영어")):
        return "en"
    if v.startswith(("ja", "jp", "일본")):
        return "ja"
    if v.startswith(("zh", "chi", "중국")):
        return "zh"
    return v[:8]


def _text(el) -> str | None:
    if el is None:
        return None
    text = " ".join("".join(el.itertext()).split())
    return unicodedata.normalize("NFC", text) or None


def _issn(value: str | None) -> str | None:
    if not value:
        return None
    digits = value.replace("-", "").strip().upper()
    if len(digits) != 8:
        return None
    return f"{digits[:4]}-{digits[4:]}"


def _year(value: str | None) -> int | None:
    match = re.search(r"\b(1[89]\d\d|20\d\d)", value or "")
    return int(match.group(1)) if match else None


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().upper() in ("Y", "YES", "TRUE", "1")


# --- selection and the stored document ---------------------------------------------------------------
@dataclass
class JournalSelection:
    """Which journals to keep: ISSNs and/or names from the user's file, else medical subjects."""

    issns: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    @property
    def by_subject(self) -> bool:
        return not (self.issns or self.names)

    def selects(self, record: OaiRecord) -> bool:
        if self.by_subject:
            text = " ".join(record.subjects + [record.journal or ""])
            return any(word in text for word in MEDICAL_SUBJECT_WORDS)
        if {record.issn, record.eissn} & self.issns:
            return True
        return bool(record.journal) and _name_key(record.journal) in self.names


def _name_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", name)).lower()


def read_journal_file(path) -> JournalSelection:
    """The user's --journals file: ISSNs or journal names, one per line."""
    from pathlib import Path

    from kmb.errors import KmbError

    path = Path(path)
    if not path.is_file():
        raise KmbError("no such file", path=path)
    selection = read_journal_selection(path.read_text(encoding="utf-8-sig").splitlines())
    if selection.by_subject:
        raise KmbError("no ISSN or journal name in the file", path=path)
    return selection


def read_journal_selection(lines: list[str]) -> JournalSelection:
    """One ISSN or journal name per line; '#' starts a comment."""
    selection = JournalSelection()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        issn = _issn(line) if _ISSN.fullmatch(line) else None
        if issn:
            selection.issns.add(issn)
        else:
            selection.names.add(_name_key(line))
    return selection


def skip_reason(record: OaiRecord, selection: JournalSelection, years: tuple[int, int] | None) -> str | None:
    """Why a record is not kept (a stats key), or None to keep it."""
    if record.deleted:
        return "deleted"
    if record.metadata_format not in ("oai_kci", "oai_dc"):
        return "unknown metadata format"
    if years and (record.year is None or not years[0] <= record.year <= years[1]):
        return "outside years"
    if not selection.selects(record):
        return "journal not selected"
    if record.language not in ("ko", None):
        return "not Korean"
    if not record.abstract_ko:
        return "no Korean abstract"
    return None


def record_document(record: OaiRecord, crawled_at: datetime | None = None) -> dict:
    """The ``raw/kci`` row (KCI_DOCUMENTS) for a kept record."""
    local_id = record.article_id or record.identifier.rsplit(":", 1)[-1]
    published = datetime(record.year, 1, 1, tzinfo=timezone.utc) if record.year else None
    return {
        "doc_id": f"kci:{local_id}",
        "source": "kci",
        "url": record.url,
        "title": record.title,
        "text": record.abstract_ko,
        "language": "ko",
        "published_at": published,
        "crawled_at": crawled_at or datetime.now(timezone.utc),
        "oai_identifier": record.identifier,
        "metadata_format": record.metadata_format,
        "journal": record.journal,
        "issn": record.issn or record.eissn,
        "year": record.year,
        "doi": record.doi,
        "open_access": record.open_access,
        "title_en": record.title_en,
        "abstract_en": record.abstract_en,
        "fulltext_chars": 0,
    }
