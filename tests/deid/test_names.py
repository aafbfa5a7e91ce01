"""Names by their context: roles after, labels before, attached or spaced; medical words stay."""

from __future__ import annotations

import pytest

from kmb.deid.names import ROLE, STRONG, looks_like_name, name_spans


def names(text: str, not_names=frozenset()) -> list[str]:
    return [text[s:e] for s, e, _ in name_spans(text, not_names)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("김민수님은 어제 입원함", ["김민수"]),
        ("김민수 님께 설명함", ["김민수"]),
        ("이영희씨가 방문", ["이영희"]),
        ("박지훈교수님 회진", ["박지훈"]),
        ("최수진 간호사가 투약함", ["최수진"]),
        ("정하윤 환자 입원", ["정하윤"]),
        ("김진 환자분께 설명", ["김진"]),
        ("윤솔님 퇴원", ["윤솔"]),
        ("강동현 선생님께 의뢰", ["강동현"]),
        ("한혜진 보호자에게 연락", ["한혜진"]),
        ("오말순 할머니 낙상", ["오말순"]),
    ],
)
def test_names_before_a_role_word_with_or_without_space(text, expected):
    assert names(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("성명: 김민수", ["김민수"]),
        ("환자명 이서연 (F/45)", ["이서연"]),
        ("이름 : 박준", ["박준"]),
        ("주치의: 정재훈", ["정재훈"]),
        ("담당의 한지원 교수", ["한지원"]),
        ("판독의: 문성민, 작성자 배유진", ["문성민", "배유진"]),
        ("보호자 최경희(딸) 연락함", ["최경희"]),
        ("환자: 조은지", ["조은지"]),
        ("| 성명 | 신동현 |", ["신동현"]),
        ("성명: TRAN VAN MINH (M/50)", ["TRAN VAN MINH"]),
        ("김주진 (35/M)", ["김주진"]),
        ("순환기내과 / 왕채도", ["왕채도"]),
    ],
)
def test_names_after_a_label(text, expected):
    assert names(text) == expected


@pytest.mark.parametrize("name", ["남궁민수", "선우진", "제갈성민", "황보혜진", "독고영"])
def test_two_syllable_surnames(name):
    assert names(f"{name}님 외래 방문") == [name]


@pytest.mark.parametrize(
    "text",
    [
        "고혈압 환자로 신부전 소견",
        "유방암 환자에서 조영제 투여",
        "정상 범위",
        "고지혈증 환자",
        "심부전 환자로 이뇨제 증량",
        "담당 선생님께 설명함",
        "환자 이송 중 호흡곤란",
        "환자 진술상 통증",
        "환자 상태 양호",
        "신장암 환자 추적",
        "고령 환자로 낙상 주의",
        "성인 환자 기준",
        "위암 환자",
        "정신과 협진",
        "전신마취 하 수술",
        "교수님 회진",
    ],
)
def test_medical_words_and_role_words_are_not_names(text):
    assert names(text) == []


def test_a_name_found_once_is_found_in_the_rest_of_the_note():
    text = "환자명: 김민수\n경과: 김민수는 식사 잘 함. 김민수가 산책함. 김민수연구소 아님"
    assert names(text) == ["김민수", "김민수", "김민수"]


def test_a_weak_label_needs_the_name_set_off_or_alone_on_its_line():
    assert names("성인 환자 기준") == [] and names("환자 기준에 따라") == []
    assert names("환자 김민수\n주호소: 두통") == ["김민수"] and names("환자 김민수(M/45)") == ["김민수"]


def test_extra_words_from_a_term_list_are_never_names_in_weak_contexts():
    assert names("조혜란 환자") == ["조혜란"]
    assert names("조혜란 환자", not_names={"조혜란"}) == []


def test_looks_like_name_asks_more_of_weaker_contexts():
    assert looks_like_name("김민수") and looks_like_name("남궁민수") and looks_like_name("이준")
    assert not looks_like_name("고혈압") and not looks_like_name("선생", context=STRONG) and not looks_like_name("김")
    assert not looks_like_name("정상") and looks_like_name("정상", context=STRONG)  # "성명: 정상": a name after all
    assert not looks_like_name("천결") and looks_like_name("천결", context=ROLE)  # 결: a rare given syllable
