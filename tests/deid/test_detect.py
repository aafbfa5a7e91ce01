"""One document de-identified: overlaps resolved, placeholders or surrogates, offsets into the original."""

from __future__ import annotations

import pytest

from kmb.deid.detect import PLACEHOLDERS, TYPES, DeidConfig, deidentify, find_identifiers, make_config
from kmb.errors import KmbError

NOTE = (
    "환자명: 김민수 (M/45)\n주민등록번호 900101-1234567, 연락처 010-1234-5678로 연락.\n"
    "고혈압 환자로 BP 150/95. 김민수님은 2023-05-01 외래 내원."
)


def test_placeholders_replace_each_identifier_and_offsets_point_into_the_original():
    result = deidentify(NOTE)
    assert [(NOTE[s:e], k) for s, e, k in result.spans] == [
        ("김민수", "NAME"),
        ("900101-1234567", "RRN"),
        ("010-1234-5678", "PHONE"),
        ("김민수", "NAME"),
    ]
    assert result.text == (
        "환자명: [NAME] (M/45)\n주민등록번호 [RRN], 연락처 [PHONE]로 연락.\n"
        "고혈압 환자로 BP 150/95. [NAME]님은 2023-05-01 외래 내원."
    )


def test_overlapping_spans_keep_the_longer_one():
    text = "연락처 02-123-4567, 주민등록번호 900101-1234567"
    spans = find_identifiers(text)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert [k for _, _, k in spans] == ["PHONE", "RRN"]


def test_placeholders_are_one_per_type_and_bracketed():
    assert set(PLACEHOLDERS) == set(TYPES)
    assert all(p == f"[{t}]" for t, p in PLACEHOLDERS.items())


def test_surrogates_are_consistent_within_a_document_and_vary_across():
    config = DeidConfig(surrogates=True)
    one = deidentify(NOTE, config, document_key="a")
    again = deidentify(NOTE, config, document_key="a")
    other = deidentify(NOTE, config, document_key="b")
    assert one.text == again.text and one.text != other.text
    fake = [one.text.split("환자명: ")[1].split(" ")[0]]
    assert one.text.count(fake[0]) == 2  # the same made-up name both times
    assert "김민수" not in one.text and "900101-1234567" not in one.text and "010-1234-5678" not in one.text
    assert "[" not in one.text


def test_dates_stay_unless_asked():
    assert "2023-05-01" in deidentify(NOTE).text
    assert "2023-05-01" not in deidentify(NOTE, make_config(all_dates=True)).text


def test_types_can_be_chosen_and_unknown_types_are_refused():
    only_phones = deidentify(NOTE, make_config(("PHONE",)))
    assert [k for _, _, k in only_phones.spans] == ["PHONE"]
    with pytest.raises(KmbError, match="unknown identifier type"):
        make_config(("NAMES",))


def test_a_word_list_keeps_its_words(tmp_path):
    words = tmp_path / "terms.txt"
    words.write_text("# medical terms\n조혜란\n", encoding="utf-8")
    assert deidentify("조혜란 환자", make_config(not_names_file=words)).spans == []
    assert deidentify("조혜란 환자").spans == [(0, 3, "NAME")]
