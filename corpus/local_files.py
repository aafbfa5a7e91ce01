"""`kmb corpus add`: local files and folders into ``raw/<source>/`` documents.

The paper's 518 textbooks arrived as files from publishers; users have articles and news the same
way. :func:`add_paths` walks the given files and folders (sorted, hidden files skipped) and reads:

- ``.txt``: UTF-8 with or without BOM, UTF-16/32 with BOM, CP949/EUC-KR (``text_encoding``);
- ``.pdf``: text layer without headers, footers, page numbers, references (``pdf_text``);
- ``.xml``: JATS ``<article>``: title, abstract and ``<body>`` paragraphs in Korean, chosen by
  ``xml:lang`` (the article's own language when a part does not say);
- ``.jsonl`` / ``.csv``: one document per record, text from a named column (``--text-column``).

One document per file (or record). ``doc_id`` is ``<source>:`` plus a hash of the file's name,
its SHA-256 and the record number, so adding the same folder again (from anywhere) adds nothing,
the same files get the same ids on every machine, and an edited file comes in as a new document. A file that cannot be used (undecodable, corrupt PDF, not
JATS, no such column, a broken record) is skipped whole, never half-read, and written to
``raw/<source>/rejects/`` with the reason. All new documents of one run go into one new Parquet
part through the atomic writer: a crash leaves no partial table.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kmb.corpus.text_encoding import UndecodableText, decode_korean_text, guess_language
from kmb.crawlers.pdf_text import PdfError, pdf_text
from kmb.errors import KmbError
from kmb.storage import LOCAL_DOCUMENTS, REJECTS, ParquetSink, part_name, write_rows
from kmb.stored_parquet import doc_ids
from kmb.workspace import Workspace

SOURCES = ("textbook", "article", "news", "clinical", "other")
FORMATS = {".txt": "txt", ".text": "txt", ".pdf": "pdf", ".xml": "jats", ".jsonl": "jsonl", ".csv": "csv"}
SNIFF_BYTES = 1 << 20  # encoding of a CSV/JSONL file is decided from its first MiB


class Unusable(Exception):
    """This file cannot be used; the message says why. It becomes a reject, not a crash."""


@dataclass
class AddOptions:
    source: str = "other"
    text_column: str = "text"
    title_column: str = "title"
    id_column: str | None = None  # a .jsonl/.csv field whose value is the document id (<source>:<value>)
    deidentify: bool = False  # identifiers out before raw/ holds the text (kmb.deid)


@dataclass
class AddSummary:
    source: str
    files: int = 0
    ignored: int = 0  # files in folders with a type kmb does not read
    added: int = 0  # new documents
    unchanged: int = 0  # documents already in raw/<source>/ (same path, same content)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    by_format: dict = field(default_factory=dict)
    identifiers: Counter | None = None  # type -> count of identifiers removed (None: not asked to)
    part: str | None = None  # the Parquet part written, if any

    def nothing_used(self) -> bool:
        return bool(self.rejected) and not (self.added or self.unchanged)

    def skipped_lines(self) -> list[str]:
        """One "skipped" line per rejected file (none when a lone rejected file is the error itself)."""
        if self.nothing_used() and len(self.rejected) == 1:
            return []
        return [f"kmb: skipped: {file}: {reason}" for file, reason in self.rejected]

    def raise_if_nothing_used(self) -> None:
        """The error to exit with when nothing at all could be used: a lone rejected file's own
        reason, or the count of the several listed by :meth:`skipped_lines`."""
        if not self.nothing_used():
            return
        if len(self.rejected) == 1:
            file, reason = self.rejected[0]
            raise KmbError(reason, path=file)
        raise KmbError(
            f"nothing could be used: all {len(self.rejected)} files were rejected "
            f"(reasons above, and in raw/{self.source}/rejects/)"
        )

    def rows(self) -> dict:
        """The end-of-command summary."""
        return {
            "files": self.files,
            "ignored (other file types)": self.ignored,
            "added": self.added,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            **{f"  {k}": v for k, v in sorted(self.by_format.items())},
            **(
                {
                    "identifiers removed": ", ".join(f"{k} {v:,}" for k, v in sorted(self.identifiers.items()))
                    or "none found"
                }
                if self.identifiers is not None
                else {}
            ),
            "written": self.part or "(nothing new)",
        }


def add_paths(ws: Workspace, paths: list[str | Path], options: AddOptions) -> AddSummary:
    """Add files and folders to ``raw/<options.source>/``; see the module docstring."""
    if options.source not in SOURCES:
        raise KmbError(f"unknown source {options.source!r}; use one of {', '.join(SOURCES)}")
    with ws.lock(f"raw/{options.source}"):  # two adds at once would both miss the other's doc_ids
        return _add_paths(ws, paths, options)


def _add_paths(ws: Workspace, paths: list[str | Path], options: AddOptions) -> AddSummary:
    files, ignored = [], 0
    for path, named in _walk(paths):
        if path.resolve().is_relative_to(ws.root):
            continue  # never our own output
        if not named and path.suffix.lower() not in FORMATS:
            ignored += 1  # a README or image in a folder is not an error; a named file is
            continue
        files.append(path)
    summary = AddSummary(
        source=options.source, files=len(files), ignored=ignored, identifiers=Counter() if options.deidentify else None
    )
    known = doc_ids(ws.raw(options.source))
    deid_config = _deid_config(ws) if options.deidentify else None
    crawled_at = datetime.now(timezone.utc)
    target = ws.raw(options.source) / part_name("local")
    sink = ParquetSink(target, LOCAL_DOCUMENTS)
    try:
        for path in files:
            try:
                fmt = FORMATS.get(path.suffix.lower())
                if fmt is None:
                    raise Unusable(
                        f"unsupported file type {path.suffix or '(none)'}; kmb reads {', '.join(sorted(FORMATS))}"
                    )
                if fmt in ("jsonl", "csv"):  # validate the whole file first, then stream it
                    for _ in _record_rows(path, options, crawled_at):
                        pass
                    rows = _record_rows(path, options, crawled_at)
                else:
                    data = path.read_bytes()
                    sha = hashlib.sha256(data).hexdigest()
                    if _doc_id(options.source, path, sha, 0) in known:  # unchanged: skip the parsing
                        summary.unchanged += 1
                        continue
                    rows = _file_rows(path, data, sha, options, crawled_at)
                for row in rows:
                    if row["doc_id"] in known:
                        summary.unchanged += 1
                        continue
                    known.add(row["doc_id"])
                    if options.deidentify:
                        row = _deidentified(row, summary.identifiers, deid_config)
                    sink.write_row(row)
                    summary.added += 1
                    summary.by_format[row["format"]] = summary.by_format.get(row["format"], 0) + 1
            except Unusable as exc:
                summary.rejected.append((str(path), str(exc)))
    except BaseException:
        sink.abort()
        raise
    if summary.added:
        sink.close()
        summary.part = str(target)
    else:
        sink.abort()
    if summary.rejected:
        now = datetime.now(timezone.utc)
        write_rows(
            ws.rejects(options.source) / part_name("local-rejects"),
            (
                {"source": options.source, "url": f, "status": None, "reason": r, "seen_at": now}
                for f, r in summary.rejected
            ),
            REJECTS,
        )
    ws.refresh_views_after_save()
    return summary


def _deid_config(ws: Workspace):
    """The de-identification settings of an import: the workspace's medical terms are never taken
    for names, as in the corpus build (:func:`kmb.corpus.build_steps.workspace_not_names`)."""
    from kmb.corpus.build_steps import workspace_not_names
    from kmb.deid.detect import DeidConfig

    return DeidConfig(not_names=workspace_not_names(ws.terms))


def _deidentified(row: dict, counts: Counter, config) -> dict:
    """The row with its text and title de-identified (``--deidentify``): raw/ never holds them."""
    from kmb.deid.detect import deidentify

    text = deidentify(row["text"], config)
    counts.update(kind for _, _, kind in text.spans)
    title = deidentify(row["title"], config).text if row["title"] else row["title"]
    return {**row, "text": text.text, "title": title}


def _walk(paths: list[str | Path]) -> Iterator[tuple[Path, bool]]:
    """(file, named on the command line) for every file under the given paths."""
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise KmbError("no such file or folder", path=path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts):
                    yield child, False
        else:
            yield path, True


def _doc_id(source: str, path: Path, file_sha: str, record: int) -> str:
    # The file's name, not its absolute path: the same files give the same ids (and so the same
    # train/valid split) on every machine and from every checkout.
    key = f"{path.name}\0{file_sha}\0{record}".encode()
    return f"{source}:{hashlib.sha256(key).hexdigest()[:20]}"


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _row(
    path: Path,
    options: AddOptions,
    file_sha: str,
    fmt: str,
    title: str | None,
    text: str,
    encoding: str | None,
    record: int,
    crawled_at: datetime,
    own_id: str | None = None,
) -> dict:
    text = unicodedata.normalize("NFC", text)
    return {
        "doc_id": f"{options.source}:{own_id}"
        if own_id is not None
        else _doc_id(options.source, path, file_sha, record),
        "source": options.source,
        "url": path.resolve().as_uri(),
        "title": unicodedata.normalize("NFC", title) if title else None,
        "text": text,
        "language": guess_language(text),
        "published_at": None,
        "crawled_at": crawled_at,
        "path": _display_path(path),
        "file_sha256": file_sha,
        "format": fmt,
        "encoding": encoding,
        "record": record,
    }


def _paragraphs(text: str) -> str:
    """Normalise line ends and drop empty lines and trailing spaces; lines stay paragraphs."""
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


# --- one document per file: txt, pdf, JATS --------------------------------------------------------
def _file_rows(path: Path, data: bytes, sha: str, options: AddOptions, crawled_at: datetime) -> Iterator[dict]:
    fmt = FORMATS[path.suffix.lower()]
    encoding = None
    if fmt == "txt":
        try:
            raw, encoding = decode_korean_text(data)
        except UndecodableText as exc:
            raise Unusable(str(exc)) from None
        title, text = path.stem, _paragraphs(raw)
    elif fmt == "pdf":
        try:
            title, text = path.stem, pdf_text(path)
        except PdfError as exc:
            raise Unusable(str(exc)) from None
    else:
        title, text = jats_text(data)
    if not text.strip():
        raise Unusable("no text in the file")
    yield _row(path, options, sha, fmt, title, text, encoding, 0, crawled_at)


_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def jats_text(data: bytes) -> tuple[str | None, str]:
    """(title, text) of a JATS article: the Korean title, abstract and body paragraphs."""
    from lxml import etree

    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True, recover=False))
    except etree.XMLSyntaxError as exc:
        raise Unusable(f"not well-formed XML: {exc}") from None
    if etree.QName(root).localname != "article":
        raise Unusable(f"not a JATS article: the root element is <{etree.QName(root).localname}>, not <article>")
    article_lang = root.get(_XML_LANG)

    def lang_of(el) -> str | None:
        while el is not None:
            if el.get(_XML_LANG):
                return el.get(_XML_LANG).lower()
            el = el.getparent()
        return None

    def korean(el) -> bool:
        lang = lang_of(el)
        if lang is not None:
            return lang.startswith("ko")
        return article_lang is None  # unlabelled parts of an unlabelled article: take them

    def text_of(el) -> str:
        return " ".join("".join(el.itertext()).split())

    def local(tag: str):
        return root.iter(f"{{*}}{tag}", tag)

    title = None
    for tag in ("article-title", "trans-title"):
        for el in local(tag):
            if korean(el) and text_of(el):
                title = title or text_of(el)
    paragraphs = []
    for tag in ("abstract", "trans-abstract"):
        for abstract in local(tag):
            if korean(abstract):
                paragraphs += [text_of(p) for p in abstract.iter("{*}p", "p")] or [text_of(abstract)]
    for body in local("body"):
        for p in body.iter("{*}p", "p"):
            if korean(p):
                paragraphs.append(text_of(p))
    if next(local("body"), None) is None and not paragraphs:
        raise Unusable("a JATS article without <body> or Korean abstract")
    return title, "\n".join(p for p in paragraphs if p)


# --- one document per record: jsonl, csv ----------------------------------------------------------
def _record_rows(path: Path, options: AddOptions, crawled_at: datetime) -> Iterator[dict]:
    """Rows of a JSONL/CSV file. Raises :class:`Unusable` on the first bad record, so callers
    run it once to validate before writing anything."""
    fmt = FORMATS.get(path.suffix.lower())
    sha = _sha256_file(path)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
        complete = len(head) < SNIFF_BYTES
    try:
        _, encoding = decode_korean_text(head, complete=complete)
    except UndecodableText as exc:
        raise Unusable(str(exc)) from None
    python_encoding = {"euc-kr": "cp949"}.get(encoding, encoding)
    with path.open("r", encoding=python_encoding, newline="") as fh:
        try:
            records = _jsonl_records(fh) if fmt == "jsonl" else _csv_records(fh)
            n, own_ids = 0, set()
            for number, line, record in records:
                n += 1
                own_id = _own_id(record, options.id_column, line, own_ids) if options.id_column else None
                if options.text_column not in record:
                    raise Unusable(
                        f"line {line}: no column {options.text_column!r} (has: {', '.join(map(str, record))}); name it with --text-column"
                    )
                text = record[options.text_column] or ""
                if not isinstance(text, str):
                    raise Unusable(f"line {line}: column {options.text_column!r} is not text")
                text = _paragraphs(text)
                if not text:
                    continue  # an empty record is not a document; nothing to keep
                title = record.get(options.title_column)
                yield _row(
                    path,
                    options,
                    sha,
                    fmt,
                    title if isinstance(title, str) else None,
                    text,
                    encoding,
                    number,
                    crawled_at,
                    own_id,
                )
            if n == 0:
                raise Unusable("no records in the file")
        except UnicodeDecodeError as exc:
            raise Unusable(f"not valid {encoding} after the first MiB ({exc.reason})") from None


def _own_id(record: dict, column: str, line: int, seen: set[str]) -> str:
    """The record's own id (``--id-column``): present, not empty, unique within the file."""
    value = record.get(column)
    if value is None or not str(value).strip():
        raise Unusable(f"line {line}: no id in column {column!r} (--id-column)")
    value = str(value).strip()
    if value in seen:
        raise Unusable(f"line {line}: the id in column {column!r} repeats an earlier record's")
    seen.add(value)
    return value


def _jsonl_records(fh) -> Iterator[tuple[int, int, dict]]:
    number = 0
    for line_no, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Unusable(f"line {line_no}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise Unusable(f"line {line_no}: a JSON line must be an object")
        number += 1
        yield number, line_no, record


def _csv_records(fh) -> Iterator[tuple[int, int, dict]]:
    text = fh.read(1)
    if text != "\ufeff":
        fh.seek(0)
    csv.field_size_limit(1 << 30)  # a whole book may sit in one cell
    reader = csv.DictReader(fh)
    try:
        for number, record in enumerate(reader, start=1):
            yield number, reader.line_num, record
    except csv.Error as exc:
        raise Unusable(f"line {reader.line_num}: {exc}") from None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
