"""Sentence filters: each rule and its threshold option."""

from __future__ import annotations

import pytest

from kmb.corpus.filters import FilterConfig, is_names_only, reject_reason


# --- filters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sentence, reason",
    [
        ("열이 났다.", "too_short"),
        ("가" * 1001, "too_long"),
        ("2023. 10. 15. 12:30 ~ 14:00", "no_letters"),
        ("HbA1c was reduced by 0.5% in the exercise group (p<0.05).", "low_hangul"),
        ("김민준 이서연 박지훈 최하은", "names_only"),
        ("김민준, 이서연, 박지훈", "names_only"),
        ("운동군의 당화혈색소가 유의하게 감소하였다.", None),
        ("COVID-19 mRNA 백신 접종 후 항체가 생겼다.", None),
        ("이번 조사 결과", None),
    ],
)
def test_filter_rules(sentence, reason):
    assert reject_reason(sentence) == reason


def test_filter_thresholds_are_options():
    assert reject_reason("열이 났다.", FilterConfig(min_chars=4)) is None
    assert reject_reason("김민준 이서연 박지훈 최하은", FilterConfig(drop_names_only=False)) is None
    assert not is_names_only("김민준")  # a single word is left to the length rule
