"""Encoding detection for Korean text files (kmb.corpus.text_encoding)."""

import codecs
import random

import pytest

from kmb.corpus.text_encoding import UndecodableText, decode_korean_text, guess_language

TEXT = "고혈압은 심혈관 질환의 가장 중요한 위험 인자이다.\n당뇨병 환자는 인슐린 치료를 받는다. (HbA1c 6.5%)"


@pytest.mark.parametrize(
    "data, expected",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("cp949"), "euc-kr"),
        (TEXT.encode("utf-16"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_each_korean_encoding_decodes_to_the_same_text(data, expected):
    text, encoding = decode_korean_text(data)
    assert text == TEXT
    assert encoding == expected


def test_cp949_only_syllables_are_reported_as_cp949():
    # 똠 is outside KS X 1001 (EUC-KR) but inside Microsoft's CP949.
    text = "똠얌 수프를 먹은 뒤 복통과 설사가 생겨 병원을 찾았다. " * 3
    decoded, encoding = decode_korean_text(text.encode("cp949"))
    assert decoded == text and encoding == "cp949"


@pytest.mark.parametrize(
    "data",
    [
        "高血圧は心血管疾患の最も重要な危険因子である。".encode("shift_jis"),
        "高血压是心血管疾病最重要的危险因素。".encode("gbk"),
        "Café résumé naïve à la crème".encode("latin-1"),
        bytes(random.Random(7).randrange(256) for _ in range(4000)),
        b"\x00\x01\x02binary\x00\x00\x00data" * 50,
    ],
    ids=["shift_jis", "gbk", "latin-1", "random-bytes", "binary-with-nul"],
)
def test_other_encodings_and_binary_are_refused_not_misread(data):
    with pytest.raises(UndecodableText):
        decode_korean_text(data)


def test_head_of_a_file_may_end_inside_a_character():
    data = (TEXT * 10).encode("utf-8")
    cut = data[: len(data) // 2 + 1]  # very likely inside a 3-byte Hangul syllable
    assert decode_korean_text(cut, complete=False)[1] == "utf-8"
    assert decode_korean_text((TEXT * 10).encode("cp949")[:101], complete=False)[1] == "euc-kr"


def test_guess_language():
    assert guess_language(TEXT) == "ko"
    assert guess_language("Hypertension is common in older adults.") == "en"
    assert guess_language("12345 !!") is None
