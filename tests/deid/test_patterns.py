"""Shaped identifiers: each form Korean notes use, written against Hangul too, and what must stay."""

from __future__ import annotations

import pytest

from kmb.deid.detect import DEFAULT_TYPES, TYPES
from kmb.deid.patterns import shaped_spans


def found(text: str, types=DEFAULT_TYPES, all_dates: bool = False) -> list[tuple[str, str]]:
    return [(text[s:e], kind) for s, e, kind in sorted(shaped_spans(text, set(types), all_dates))]


@pytest.mark.parametrize(
    "value",
    [
        "900101-1234567",
        "900101 1234567",
        "9001011234567",
        "900101 - 2345678",
        "051231-3123456",
        "850615-5123456",
        "991231-8123456",
        "900101-1******",
    ],
)
def test_resident_and_foreigner_numbers_with_and_without_check_digit(value):
    assert found(f"주민등록번호 {value}로 확인함") == [(value, "RRN")]


@pytest.mark.parametrize(
    "value",
    [
        "010-1234-5678",
        "010.1234.5678",
        "010 1234 5678",
        "01012345678",
        "011-123-4567",
        "02-123-4567",
        "02)1234-5678",
        "(02) 1234-5678",
        "(031)123-4567",
        "031-1234-5678",
        "064 123 4567",
        "070-1234-5678",
        "+82-10-1234-5678",
        "+82 10 1234 5678",
        "+82-2-123-4567",
        "1588-1234",
    ],
)
def test_phone_forms(value):
    assert found(f"연락처 {value}로 연락") == [(value, "PHONE")]


def test_numbers_against_hangul_are_found_without_word_boundaries():
    text = "010-1234-5678로 연락, 900101-1234567이며 kim.a1@example.co.kr로 회신"
    assert found(text) == [("010-1234-5678", "PHONE"), ("900101-1234567", "RRN"), ("kim.a1@example.co.kr", "EMAIL")]


@pytest.mark.parametrize(
    "text,value",
    [
        ("등록번호: 12345678", "12345678"),
        ("환자번호 H0012345", "H0012345"),
        ("차트번호 AB-1234567", "AB-1234567"),
        ("병록번호는 2023-004512", "2023-004512"),
        ("MRN: 00123456", "00123456"),
        ("등록번호 #98765432", "98765432"),
        ("의무기록번호:5551234", "5551234"),
        ("| 환자번호 | 92-585376 |", "92-585376"),
        ("Hosp. No.: A5758294", "A5758294"),
        ("원유채 환자(HN535115) 관련", "HN535115"),
        ("김주진 (35/M) #57086605", "57086605"),
        ("정찬님 (53081589)", "53081589"),
    ],
)
def test_patient_ids_after_their_label(text, value):
    assert found(text) == [(value, "PATIENT_ID")]


@pytest.mark.parametrize(
    "text,value",
    [
        ("생년월일: 1985.03.02", "1985.03.02"),
        ("DOB 1990-12-31", "1990-12-31"),
        ("생년월일 1985년 3월 2일", "1985년 3월 2일"),
        ("D.O.B 03/02/1985", "03/02/1985"),
        ("생년월일: 850302", "850302"),
        ("생년월일 19850302", "19850302"),
        ("생일은 85.03.02", "85.03.02"),
        ("1985년 3월 2일생 남자", "1985년 3월 2일생"),
        ("1985년생", "1985년생"),
        ("'85년생", "'85년생"),
        ("생년월일 확인함 (1973/10/01)", "1973/10/01"),
        ("| DOB | Sep 7, 1953 |", "Sep 7, 1953"),
        ("(78.06.28, 46세)", "78.06.28"),
        ("Date of Birth: 2 Mar 1985", "2 Mar 1985"),
    ],
)
def test_birth_dates_in_common_forms(text, value):
    assert found(text) == [(value, "BIRTH_DATE")]


@pytest.mark.parametrize(
    "value",
    [
        "서울특별시 강남구 테헤란로 123",
        "서울 강남구 테헤란로 123, 래미안아파트 101동 1203호 (역삼동)",
        "경기도 수원시 영통구 매탄동 123-45",
        "부산광역시 해운대구 해운대로570번길 12",
        "강남구 언주로 30길 5",
        "제주특별자치도 제주시 중앙로 12 (이도일동)",
        "경남 창원시 의창구 팔용동 33-1번지",
        "대전 유성구 대학로 99, 301호",
    ],
)
def test_road_and_lot_addresses(value):
    assert found(f"주소: {value}에 거주") == [(value, "ADDRESS")]


def test_urls_ips_cards_and_accounts():
    text = "https://example.com/p?id=3 접속, IP 192.168.0.12, 카드 1234-5678-9012-3456, 계좌번호: 110-123-456789"
    assert found(text) == [
        ("https://example.com/p?id=3", "URL"),
        ("192.168.0.12", "IP_ADDRESS"),
        ("1234-5678-9012-3456", "CARD"),
        ("110-123-456789", "ACCOUNT"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "BP 130/80 mmHg, HR 88회/분, BT 36.8℃",
        "Cr 1.2 mg/dL, Hb 10.2 g/dL, WBC 12,300/μL",
        "아스피린 100mg 1일 1회",
        "진단 I10, E11.9, KCD N18.3",
        "당시 치료로 2주간 입원",
        "2023-05-01 외래 내원",
        "검사 2024.03.15 시행",
        "연구 결과 3건",
        "혈압 142/91, SpO2 95%",
        "입원 7일째 CRP 3.2",
        "ID 없음",
    ],
)
def test_values_codes_and_visit_dates_stay(text):
    assert found(text) == []


def test_all_dates_removes_visit_dates_too():
    assert found("2023-05-01 외래 내원, 2024년 3월 15일 예약", TYPES, all_dates=True) == [
        ("2023-05-01", "DATE"),
        ("2024년 3월 15일", "DATE"),
    ]
