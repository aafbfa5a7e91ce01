"""Normalise: NFC, entities, invisible characters, spaces; on text we wrote ourselves."""

from __future__ import annotations

import unicodedata

from kmb.corpus.normalise import normalise


# --- normalise -----------------------------------------------------------------------------------
def test_normalise_makes_nfc_and_never_decomposes_hangul():
    decomposed = unicodedata.normalize("NFD", "고혈압 환자")
    assert len(decomposed) > len("고혈압 환자")
    out = normalise(decomposed)
    assert out == "고혈압 환자"
    assert unicodedata.is_normalized("NFC", out)


def test_normalise_keeps_compatibility_characters():
    # NFKC would turn ㎎ into "mg" and ℃ into "°C"; kmb keeps them.
    assert normalise("하루 5㎎, 체온 38℃") == "하루 5㎎, 체온 38℃"


def test_normalise_decodes_entities_and_removes_invisible_characters():
    text = "혈당&nbsp;관리&amp;운동\u200b은 중요\u00ad하다&#46;\x07 \ufeff"
    assert normalise(text) == "혈당 관리&운동은 중요하다."


def test_normalise_tidies_spaces_and_lines():
    text = "  첫 문단\t\t입니다.  \r\n\r\n\u3000둘째   문단입니다.\r"
    assert normalise(text) == "첫 문단 입니다.\n둘째 문단입니다."
    assert normalise(None) == ""
    assert normalise("   \n \n") == ""


def test_every_unicode_line_break_is_white_space():
    # U+2029 ends a paragraph (becomes the "\n" between paragraphs); the others are a space.
    text = "첫 문장이다.\u2028둘째 문장이다.\u2029셋째\x85문단\x0b이다.\x0c넷째\x1c다섯째\x1d여섯째\x1e끝이다."
    assert normalise(text) == "첫 문장이다. 둘째 문장이다.\n셋째 문단 이다. 넷째 다섯째 여섯째 끝이다."
    assert normalise("가나다&#8233;라마바&#8232;사아자") == "가나다\n라마바 사아자"
    out = normalise("a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\x1dh\x1ei\r\nj")
    assert out.splitlines() == out.split("\n")  # no line break left but the paragraph "\n"
