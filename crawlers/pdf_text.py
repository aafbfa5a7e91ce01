"""Text out of a PDF, without running headers, footers, page numbers or the references section.

Used by the KCI spider (full texts of open-access records) and by the corpus stage for local PDFs,
so it lives in the earlier stage: a stage imports only the stages before it.

Extraction uses pypdf. Both installed libraries (pypdf, and pdfplumber on pdfminer.six) read
Korean through the font's ToUnicode map and gave identical text on the PDFs our tests make (see
``benchmarks/bench_sources.py``, which compares them on the same files); pypdf was 1.5-2x faster
there and is pure Python, so it is the one kmb uses. pdfplumber's strength, character positions
for tables and layout, is not needed for running text.

Clean-up, page by page and then over the whole document:

- a line that repeats at the top or bottom of most pages (digits ignored, so "- 3 -" and a
  running title with a page number match) is a header or footer and is dropped;
- a line that is only a page number ("3", "- 3 -", "3 / 12", "p. 3") is dropped;
- everything from a references heading ("참고문헌", "References", ...) on is dropped;
- lines are re-joined into paragraphs: a line that does not end a sentence continues on the next.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import atomic_path

_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:p\.?\s*|page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.I
)
_REFERENCES = re.compile(
    r"^\s*(?:[0-9IVX]+\.?\s*)?(?:참\s*고\s*문\s*헌|인\s*용\s*문\s*헌|references?|bibliography|literature cited)\s*$",
    re.I,
)
_SENTENCE_END = re.compile(r"[.?!。…\"”’)\]]$")
EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be header/footer
REPEAT_SHARE = 0.5  # a line on at least this share of pages (and >= 2 pages) repeats


class PdfError(ValueError):
    """The file is not a readable PDF, or has no text layer."""


def extract_pages(path: str | Path | bytes) -> list[str]:
    """The raw text of each page, as pypdf gives it (from a file, or the PDF's bytes)."""
    import logging

    import pypdf
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it logs recoverable damage as warnings
    try:
        source = io.BytesIO(path) if isinstance(path, bytes) else str(path)
        reader = pypdf.PdfReader(source, strict=False)
        if reader.is_encrypted:
            raise PdfError("the PDF is encrypted")
        return [page.extract_text() or "" for page in reader.pages]
    except PdfError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise PdfError(f"not a readable PDF ({type(exc).__name__}: {exc})") from None


def extract_pages_pdfplumber(path: str | Path) -> list[str]:
    """The same with pdfplumber; kept for the comparison in the benchmark and tests."""
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def pdf_text(path: str | Path | bytes) -> str:
    """Clean body text of a PDF file or PDF bytes (NFC, paragraphs separated by newlines)."""
    pages = extract_pages(path)
    text = clean_pages(pages)
    if not text.strip():
        raise PdfError("the PDF has no text layer (a scan needs OCR, which kmb does not do)")
    return text


def clean_pages(pages: list[str]) -> str:
    page_lines = [[ln.strip() for ln in unicodedata.normalize("NFC", p).splitlines() if ln.strip()] for p in pages]
    repeated = _repeated_edge_lines(page_lines)
    body: list[str] = []
    for lines in page_lines:
        n = len(lines)
        for i, line in enumerate(lines):
            at_edge = i < EDGE_LINES or i >= n - EDGE_LINES
            if at_edge and (_edge_key(line) in repeated or _PAGE_NUMBER.match(line)):
                continue
            body.append(line)
    for i, line in enumerate(body):
        if _REFERENCES.match(line):
            body = body[:i]
            break
    return _join_paragraphs(body)


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line)


def _repeated_edge_lines(page_lines: list[list[str]]) -> set[str]:
    if len(page_lines) < 2:
        return set()
    counts: Counter = Counter()
    for lines in page_lines:
        edges = set(lines[:EDGE_LINES] + lines[-EDGE_LINES:])
        counts.update({_edge_key(line) for line in edges})
    need = max(2, int(len(page_lines) * REPEAT_SHARE + 0.999))
    return {key for key, n in counts.items() if n >= need}


def _join_paragraphs(lines: list[str]) -> str:
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        current = f"{current} {line}" if current else line
        if _SENTENCE_END.search(line):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)


def pdf_text_or_error(path: str | Path) -> str:
    """:func:`pdf_text` for callers that want a :class:`KmbError` naming the file."""
    try:
        return pdf_text(path)
    except PdfError as exc:
        raise KmbError(str(exc), path=path) from None


def write_text_pdf(path: str | Path, pages: list[list[str]], header: str | None = None) -> Path:
    """Write a simple A4 PDF of text lines (one list per page) with a running header and page
    numbers, through matplotlib's PDF backend. Used by tests and the benchmark to make PDFs of
    our own text. Without a Korean font installed the Hangul glyphs draw as boxes, but the text
    layer (what extraction reads) is still correct, because matplotlib writes a ToUnicode map.
    """
    import warnings

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    path = Path(path)
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")  # "Glyph missing from font" for every Hangul syllable
        with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(tmp) as pdf:
            for number, lines in enumerate(pages, start=1):
                fig = Figure(figsize=(8.27, 11.69))
                if header:
                    fig.text(0.1, 0.96, header, fontsize=8)
                for i, line in enumerate(lines):
                    fig.text(0.1, 0.9 - i * 0.025, line, fontsize=10)
                fig.text(0.5, 0.03, f"- {number} -", fontsize=8, ha="center")
                pdf.savefig(fig)
    return path
