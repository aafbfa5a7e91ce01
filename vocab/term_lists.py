"""Medical term lists into one `terms` table: `kmb terms import` and `kmb terms list`.

KM-BERT's extended vocabulary starts from term lists (KAMJE terminology, MFDS drug names; the
KCD disease classification is a real public stand-in). Users get them as CSV, TSV, XLSX or plain
one-per-line text, so :func:`import_terms` reads all four, picks the term column by name (with a
default per source), normalises each entry and merges it into ``terms/terms.parquet``:

- NFC, trimmed, inner whitespace collapsed;
- a cell holding several synonyms is split (``;`` ``|`` ``,`` by default; KCD names contain
  commas inside one name, so KCD splits on nothing);
- a trailing gloss in parentheses that has no Hangul (Hanja, English, a code) is kept apart:
  ``풍열범폐증(風熱犯肺證)`` -> term ``풍열범폐증``, gloss ``風熱犯肺證``;
- empty entries and entries with no Hangul are dropped, each rule with its count.

One row per distinct term; ``sources`` lists every list that has it (the paper's overlap
removal), ``first_file`` the first file it came from. Re-importing a file changes nothing.
Term lists are small (the paper's has 70,415 entries), so the merge is done in a dict and the
whole table is rewritten atomically.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from kmb.corpus.text_encoding import UndecodableText, decode_korean_text
from kmb.errors import KmbError
from kmb.storage import TERMS, write_rows
from kmb.workspace import Workspace

SOURCES = ("kamje", "mfds", "kcd", "custom")
TERMS_FILE = "terms.parquet"


@dataclass(frozen=True)
class SourceDefaults:
    """Which columns hold what in a source's usual export (first match wins, case-insensitive)."""

    term: tuple[str, ...]
    english: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    separators: str = ";|,"


SOURCE_DEFAULTS = {
    # KCD (Statistics Korea): header `kcd ko en`; names are full phrases with commas inside.
    "kcd": SourceDefaults(
        term=("ko", "한글명", "한글"), english=("en", "영문명"), category=("kcd", "코드"), separators=""
    ),
    # KAMJE medical terminology exports.
    "kamje": SourceDefaults(
        term=("term", "용어", "한글", "한글용어", "ko"),
        english=("english", "영문", "영어", "en"),
        category=("category", "분류", "분야"),
    ),
    # MFDS drug/ingredient lists.
    "mfds": SourceDefaults(
        term=("성분명", "한글성분명", "주성분명", "ingredient", "term", "ko"),
        english=("영문성분명", "english", "en"),
        category=("분류", "category"),
    ),
    "custom": SourceDefaults(term=("term", "용어", "ko"), english=("english", "en"), category=("category",)),
}

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_TRAILING_GLOSS = re.compile(r"^(?P<term>.+?)\s*[(（](?P<gloss>[^()（）]+)[)）]$")
_SPACES = re.compile(r"\s+")


@dataclass
class TermImportSummary:
    file: str
    source: str
    column: str
    rows: int = 0  # rows (or lines) read
    entries: int = 0  # after synonym splitting
    kept: int = 0  # distinct terms this file gave
    new_terms: int = 0  # terms not in the table before
    also_in_other_sources: int = 0  # kept terms another source already had
    dropped: Counter = field(default_factory=Counter)  # rule -> count
    table_terms: int = 0
    per_source: dict = field(default_factory=dict)  # source -> terms in the table
    overlapping: int = 0  # terms with more than one source


@dataclass(frozen=True)
class Entry:
    term: str
    gloss: str | None


def normalise_entry(cell: str, separators: str = ";|,") -> tuple[list[Entry], Counter]:
    """Split one cell into terms; returns the entries and a count of dropped ones per rule."""
    dropped: Counter = Counter()
    text = unicodedata.normalize("NFC", cell or "")
    parts = re.split("[" + re.escape(separators) + "]", text) if separators else [text]
    entries = []
    for part in parts:
        part = _SPACES.sub(" ", part).strip()
        if not part:
            dropped["empty"] += 1
            continue
        gloss = None
        match = _TRAILING_GLOSS.match(part)
        if match and not _HANGUL.search(match["gloss"]):
            part, gloss = match["term"].strip(), match["gloss"].strip()
        if not _HANGUL.search(part):
            dropped["no Korean"] += 1
            continue
        entries.append(Entry(part, gloss))
    return entries, dropped


# --- reading the four formats ------------------------------------------------------------------
def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".tsv":
        return "tsv"
    if suffix == ".csv":
        return "csv"
    return "text"  # .txt and anything else: one term per line


def _read_text(path: Path) -> str:
    try:
        text, _ = decode_korean_text(path.read_bytes())
    except UndecodableText as exc:
        raise KmbError(str(exc), path=path) from None
    return text


def read_rows(path: Path) -> tuple[list[str] | None, Iterator[list[str]]]:
    """Header (None for one-per-line text) and an iterator of rows (lists of cell strings)."""
    fmt = _file_format(path)
    if fmt == "text":
        lines = _read_text(path).splitlines()
        return None, ([line] for line in lines)
    if fmt == "xlsx":
        return _read_xlsx(path)
    text = _read_text(path)
    dialect = "excel-tab" if fmt == "tsv" else "excel"
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise KmbError("the file is empty", path=path) from None
    except csv.Error as exc:
        raise KmbError(f"not a readable {fmt.upper()} file: {exc}", path=path, line=1) from None
    return [h.strip().lstrip("\ufeff") for h in header], _csv_rows(reader, path)


def _csv_rows(reader, path: Path) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise KmbError(f"malformed row: {exc}", path=path, line=reader.line_num) from None


def _read_xlsx(path: Path):
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a broken file
        raise KmbError(f"not a readable XLSX workbook: {exc}", path=path) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        header = [str(h).strip() if h is not None else "" for h in next(rows)]
    except StopIteration:
        book.close()
        raise KmbError("the first worksheet is empty", path=path) from None

    def cells():
        try:
            for row in rows:
                yield ["" if v is None else str(v) for v in row]
        finally:
            book.close()

    return header, cells()


def _pick_column(
    header: list[str], wanted: str | None, candidates: tuple[str, ...], path: Path, what: str, required: bool
) -> int | None:
    lowered = [h.lower() for h in header]
    if wanted:
        if wanted.lower() in lowered:
            return lowered.index(wanted.lower())
        if required:
            raise KmbError(f"no {what} column named {wanted!r}; the header has: {', '.join(header)}", path=path, line=1)
        return None
    for name in candidates:
        if name.lower() in lowered:
            return lowered.index(name.lower())
    if required:
        raise KmbError(
            f"no {what} column found (looked for {', '.join(candidates)}); name it with --column. The header has: {', '.join(header)}",
            path=path,
            line=1,
        )
    return None


# --- the merge -----------------------------------------------------------------------------------
def load_terms(ws: Workspace) -> dict[str, dict]:
    path = ws.terms / TERMS_FILE
    if not path.exists():
        return {}
    table = pq.read_table(path)
    return {row["term"]: row for row in table.to_pylist()}


def import_terms(
    ws: Workspace,
    path: str | Path,
    source: str,
    column: str | None = None,
    english_column: str | None = None,
    category_column: str | None = None,
    separators: str | None = None,
) -> TermImportSummary:
    """Read one term list and merge it into ``terms/terms.parquet``; see the module docstring."""
    path = Path(path)
    if source not in SOURCES:
        raise KmbError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    if not path.is_file():
        raise KmbError("no such file", path=path)
    defaults = SOURCE_DEFAULTS[source]
    seps = defaults.separators if separators is None else separators

    header, rows = read_rows(path)
    if header is None:
        term_idx, en_idx, cat_idx, column_name = 0, None, None, "(one term per line)"
    else:
        term_idx = _pick_column(header, column, defaults.term, path, "term", required=True)
        en_idx = _pick_column(
            header, english_column, defaults.english, path, "English", required=english_column is not None
        )
        cat_idx = _pick_column(
            header, category_column, defaults.category, path, "category", required=category_column is not None
        )
        column_name = header[term_idx]

    summary = TermImportSummary(file=str(path), source=source, column=column_name)
    file_terms: dict[str, dict] = {}
    for row in rows:
        summary.rows += 1
        cell = row[term_idx] if term_idx < len(row) else ""
        entries, dropped = normalise_entry(cell, seps)
        summary.dropped.update(dropped)
        summary.entries += len(entries) + sum(dropped.values())
        english = _cell(row, en_idx)
        category = _cell(row, cat_idx)
        for entry in entries:
            if entry.term in file_terms:
                summary.dropped["duplicate in file"] += 1
                continue
            file_terms[entry.term] = {"english": english, "gloss": entry.gloss, "category": category}
    if not file_terms:
        raise KmbError(f"no Korean terms in column {column_name!r} ({summary.rows} rows read)", path=path)

    with ws.lock("terms"):  # read, merge and write as one: a second import meanwhile is refused, not lost
        table = load_terms(ws)
        first_file = path.name
        for term, info in file_terms.items():
            row = table.get(term)
            if row is None:
                table[term] = {"term": term, "sources": [source], "first_file": first_file, **info}
                summary.new_terms += 1
                continue
            if any(s != source for s in row["sources"]):
                summary.also_in_other_sources += 1
            if source not in row["sources"]:
                row["sources"] = sorted(row["sources"] + [source])
            for key in ("english", "gloss", "category"):
                if not row.get(key) and info[key]:
                    row[key] = info[key]
        summary.kept = len(file_terms)

        ws.terms.mkdir(parents=True, exist_ok=True)
        write_rows(ws.terms / TERMS_FILE, (table[t] for t in sorted(table)), TERMS)
    ws.refresh_views_after_save()

    summary.table_terms = len(table)
    per_source: Counter = Counter()
    for row in table.values():
        per_source.update(row["sources"])
        summary.overlapping += len(row["sources"]) > 1
    summary.per_source = dict(sorted(per_source.items()))
    return summary


def _cell(row: list[str], idx: int | None) -> str | None:
    if idx is None or idx >= len(row):
        return None
    value = unicodedata.normalize("NFC", row[idx]).strip()
    return value or None


# --- listing ---------------------------------------------------------------------------------------
def list_terms(
    ws: Workspace, source: str | None = None, contains: str | None = None, limit: int = 20
) -> tuple[list[dict], dict]:
    """Some terms (filtered) and the per-source counts, read with DuckDB from the table file."""
    import duckdb

    if limit < 0:
        raise KmbError(f"--limit must be 0 or more, not {limit}")
    path = ws.terms / TERMS_FILE
    if not path.exists():
        raise KmbError("no terms yet: run `kmb terms import FILE --source ...` first", path=path)
    con = duckdb.connect()
    try:
        src = "read_parquet(?)"  # the path is bound (the first parameter), never pasted into SQL
        where, params = [], [path.as_posix()]
        if source:
            where.append("list_contains(sources, ?)")
            params.append(source)
        if contains:
            where.append("contains(term, ?)")
            params.append(unicodedata.normalize("NFC", contains))
        clause = ("where " + " and ".join(where)) if where else ""
        cur = con.execute(
            f"select term, sources, english, gloss, category, first_file from {src} {clause} order by term limit {int(limit)}",
            params,
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        counts = dict(
            con.execute(
                f"select s, count(*) from (select unnest(sources) as s from {src}) group by s order by s", params[:1]
            ).fetchall()
        )
        total, overlap = con.execute(
            f"select count(*), count(*) filter (where len(sources) > 1) from {src}", params[:1]
        ).fetchone()
    finally:
        con.close()
    return rows, {"terms": total, **{f"from {k}": v for k, v in counts.items()}, "in several sources": overlap}
