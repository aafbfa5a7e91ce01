"""PDF text extraction: pypdf vs pdfplumber on PDFs we make, and the clean-up rules."""

import pytest

from kmb.crawlers.pdf_text import (
    PdfError,
    clean_pages,
    extract_pages,
    extract_pages_pdfplumber,
    pdf_text,
    write_text_pdf,
)

PAGES = [
    ["급성 심근경색은 관상동맥이 막혀 생긴다.", "흉통이 20분 이상 지속되면"],
    ["즉시 119에 연락해야 한다.", "아스피린을 씹어서 복용한다."],
    ["재관류 치료가 핵심이다.", "References", "1. Kim. Heart. 2020."],
]


@pytest.fixture(scope="module")
def made_pdf(tmp_path_factory):
    # No Korean font is needed: the glyphs draw as boxes but the text layer is correct.
    return write_text_pdf(tmp_path_factory.mktemp("pdf") / "mi.pdf", PAGES, header="임상심장학 제3판")


def test_both_libraries_read_korean_identically(made_pdf):
    a, b = extract_pages(made_pdf), extract_pages_pdfplumber(made_pdf)
    assert a == b
    assert "급성 심근경색은 관상동맥이 막혀 생긴다." in a[0]


def test_header_footer_page_numbers_references_removed(made_pdf):
    assert pdf_text(made_pdf) == (
        "급성 심근경색은 관상동맥이 막혀 생긴다.\n"
        "흉통이 20분 이상 지속되면 즉시 119에 연락해야 한다.\n"
        "아스피린을 씹어서 복용한다.\n"
        "재관류 치료가 핵심이다."
    )


def test_clean_pages_rules_without_a_pdf():
    pages = [
        "학회지 12(3)\n본문 첫 줄이다.\n3",
        "학회지 12(4)\n둘째 쪽 본문이다.\n- 4 -",
        "학회지 12(5)\n마지막 쪽이다.\n5 / 9",
    ]
    assert clean_pages(pages) == "본문 첫 줄이다.\n둘째 쪽 본문이다.\n마지막 쪽이다."
    assert clean_pages(["서론이다.\n참 고 문 헌\n김철수 2019."]) == "서론이다."


def test_corrupt_and_empty_pdfs(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n%garbage without objects\n")
    with pytest.raises(PdfError):
        pdf_text(broken)
    blank = write_text_pdf(tmp_path / "blank.pdf", [[]])
    with pytest.raises(PdfError, match="no text layer"):
        pdf_text(blank)
