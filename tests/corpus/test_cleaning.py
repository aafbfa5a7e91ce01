"""Cleaning: each boilerplate rule per source kind, on real-looking text we wrote ourselves."""

from __future__ import annotations

import pytest

from kmb.corpus.cleaning import ALL_RULE_NAMES, clean, source_kind

# --- cleaning --------------------------------------------------------------------------------------
NEWS = """[헬스조선 김민준 기자] 겨울철 독감 환자가 크게 늘었다. 질병관리청은 예방접종을 당부했다.
▲ 독감 예방접종을 받는 어린이 (사진=게티이미지뱅크)
(서울=연합뉴스) 이서연 기자 = 고혈압 환자는 싱겁게 먹어야 한다.
자세한 내용은 https://www.example.org/health?id=3 에서 볼 수 있다.
이서연 기자 seoyeon@news.example.com
▶ 관련기사: 겨울철 건강관리
ⓒ 헬스조선, 무단전재 및 재배포 금지"""


def test_news_rules_each_fire_once_and_keep_the_sentences():
    text, hits = clean(NEWS, "naver_health")
    assert text.split("\n") == [
        "겨울철 독감 환자가 크게 늘었다. 질병관리청은 예방접종을 당부했다.",
        "고혈압 환자는 싱겁게 먹어야 한다.",
        "자세한 내용은 에서 볼 수 있다.",
    ]
    assert hits == {"dateline": 2, "photo_caption": 1, "url": 1, "byline": 1, "promo": 1, "copyright": 1}


@pytest.mark.parametrize(
    "line, rule",
    [
        ("Copyright © 2024 Example Health. All rights reserved.", "copyright"),
        ("<저작권자 © 메디컬뉴스 무단전재-재배포 금지>", "copyright"),
        ("박지훈 기자", "byline"),
        ("[건강일보 최하은 기자]", "byline"),
        ("정도윤 객원기자 (doyoon@example.kr)", "byline"),
        ("사진 제공=서울아산병원", "photo_caption"),
        ("[사진=연합뉴스]", "photo_caption"),
    ],
)
def test_news_line_rules(line, rule):
    text, hits = clean("심장 질환은 조기 발견이 중요하다.\n" + line, "news")
    assert text == "심장 질환은 조기 발견이 중요하다."
    assert hits == {rule: 1}


def test_inline_credit_and_email_keep_the_rest_of_the_line():
    text, hits = clean(
        "연구팀은 걷기가 도움이 된다고 밝혔다(사진=OO병원). 문의는 help@clinic.example 로 하면 된다.", "news"
    )
    assert text == "연구팀은 걷기가 도움이 된다고 밝혔다 . 문의는 로 하면 된다."
    assert hits == {"photo_credit": 1, "email": 1}


PAPER = """본 연구는 제2형 당뇨병 환자의 운동 효과를 분석하였다.
그림 1. 연구 대상자 선정 과정
Table 2. Baseline characteristics of participants
표 3 대상자의 일반적 특성
운동군의 당화혈색소가 유의하게 감소하였다.
참고문헌
1. Kim J, Lee S. Exercise and diabetes. J Korean Med. 2020;1:1-10.
2. 박서윤. 당뇨병 관리. 2019."""


def test_paper_rules_drop_captions_and_everything_from_the_references():
    text, hits = clean(PAPER, "kci")
    assert text.split("\n") == [
        "본 연구는 제2형 당뇨병 환자의 운동 효과를 분석하였다.",
        "운동군의 당화혈색소가 유의하게 감소하였다.",
    ]
    assert hits == {"caption": 3, "references": 1}


def test_rules_apply_per_source_kind():
    assert source_kind("naver_health") == "news" and source_kind("kci") == "paper" and source_kind("other") == "other"
    # A news rule does not run on papers, nor a paper rule on news.
    assert clean("박지훈 기자", "kci")[0] == "박지훈 기자"
    assert clean("참고문헌\n위 내용이 전부다.", "news")[0] == "참고문헌\n위 내용이 전부다."
    assert {"url", "email", "byline", "references", "caption", "copyright"} <= set(ALL_RULE_NAMES)


def test_clean_leaves_korean_as_it_is():
    sentence = "의료진은 ‘환자 중심’ 진료를 강조했다."
    assert clean(sentence, "news") == (sentence, {})
