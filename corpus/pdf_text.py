"""PDF text for local files: the reader lives in :mod:`kmb.crawlers.pdf_text`.

The KCI crawler needs it too (full texts of open-access records), and a stage imports only
earlier stages, so the one implementation sits in the crawlers and the corpus imports it from there.
"""

from kmb.crawlers.pdf_text import (  # noqa: F401
    PdfError,
    clean_pages,
    extract_pages,
    extract_pages_pdfplumber,
    pdf_text,
    pdf_text_or_error,
    write_text_pdf,
)
