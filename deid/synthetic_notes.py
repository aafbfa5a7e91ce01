"""Labelled Korean clinical-style notes, made up, to measure de-identification without real data.

Every identifier here is generated (names from syllable lists, numbers at random, addresses from
made-up roads on real city names), so the notes can live in tests and benchmarks. Each note says
where its identifiers are (``phi``: start, end, type) and where its look-alikes are (``keep``:
medical words, values and codes that must survive, e.g. "고혈압 환자", "BP 130/80", "I10").
:func:`make_notes` writes the same notes for the same seed; ``kmb deid eval`` scores against them
exactly as it scores a hospital's own annotated notes.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from kmb.errors import KmbError

SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹"
DOUBLE_SURNAMES = ("남궁", "선우", "제갈", "황보", "독고", "사공", "서문")
GIVEN = (
    "민준",
    "서연",
    "지호",
    "하윤",
    "예린",
    "승현",
    "태희",
    "은지",
    "동현",
    "수빈",
    "혜진",
    "영수",
    "순자",
    "말순",
    "옥자",
    "정숙",
    "미경",
    "재훈",
    "성민",
    "현정",
    "지원",
    "유진",
    "상철",
    "경희",
    "병철",
    "숙희",
    "준",
    "진",
    "혁",
    "솔",
    "윤",
    "훈",
    "영",
    "민",
    "다은",
    "시우",
    "건우",
    "가람",
    "나래",
    "보람",
    "종민",
    "기현",
    "광수",
    "명자",
)
ROLES = ("님", "씨", " 환자", " 환자분", " 보호자", " 교수님", " 선생님", " 간호사", "님께서", " 님")
CITIES = (
    ("서울특별시", "강남구"),
    ("서울시", "마포구"),
    ("부산광역시", "해운대구"),
    ("대구광역시", "수성구"),
    ("인천광역시", "남동구"),
    ("광주광역시", "북구"),
    ("대전광역시", "유성구"),
    ("경기도", "수원시 영통구"),
    ("경기도", "성남시 분당구"),
    ("경기", "고양시 일산동구"),
    ("강원도", "춘천시"),
    ("충청북도", "청주시 상당구"),
    ("전라남도", "여수시"),
    ("경상북도", "포항시 남구"),
    ("경남", "창원시 의창구"),
    ("제주특별자치도", "제주시"),
)
ROADS = ("중앙로", "희망대로", "한빛길", "새솔로", "가온로", "누리길", "다온대로", "하늘로", "솔빛로", "은하길")
DONGS = ("행복동", "신월동", "소망동", "은행동", "평화동", "한솔동")
APARTMENTS = ("푸른마을아파트", "한빛빌라", "솔숲오피스텔", "누리맨션", "")
EMAIL_HOSTS = ("example.com", "mail.example.kr", "hospital.example.ac.kr", "test.co.kr")

# Sentences with no identifier, each holding look-alikes (marked with ⟦ ⟧) that must stay.
TRAPS = (
    "⟦고혈압 환자⟧로 ⟦신부전⟧ 소견 있음.",
    "⟦유방암 환자⟧에서 ⟦조영제⟧ 투여 후 이상 반응 없음.",
    "⟦정상⟧ 범위의 ⟦Cr 1.2 mg/dL⟧, ⟦BUN 18⟧.",
    "⟦BP 130/80 mmHg⟧, ⟦HR 88회/분⟧, ⟦BT 36.8℃⟧.",
    "⟦고지혈증 환자⟧로 ⟦아토르바스타틴 20mg⟧ 복용 중.",
    "진단: ⟦I10⟧ 본태성 고혈압, ⟦E11.9⟧ 제2형 당뇨병.",
    "⟦2023-05-01⟧ 외래 내원.",
    "⟦신장암 환자⟧ 추적 관찰.",
    "⟦정신과⟧ 협진 의뢰함.",
    "⟦이송⟧ 중 ⟦호흡곤란⟧ 호소.",
    "⟦환자 진술⟧상 통증 ⟦NRS 5점⟧.",
    "⟦당시 치료로 2주⟧간 입원함.",
    "⟦전신마취⟧ 하 수술 시행.",
    "⟦조기⟧ 진단된 ⟦위암 환자⟧.",
    "⟦심부전 환자⟧로 ⟦이뇨제⟧ 증량.",
    "⟦WBC 12,300/μL⟧, ⟦Hb 10.2 g/dL⟧.",
    "⟦임신 32주⟧ 산모.",
    "⟦성인 환자⟧ 기준 ⟦1일 2회⟧ 투여.",
    "⟦안과⟧ 외래 ⟦2024년 3월 15일⟧ 예약.",
    "⟦오심⟧ 및 ⟦구토⟧ 있어 ⟦메토클로프라미드 10mg⟧ IV.",
    "⟦수술 후 3일째⟧ 배액관 제거.",
    "⟦고령 환자⟧로 낙상 주의.",
    "⟦방광염⟧ 의심되어 소변 배양 시행.",
    "⟦SpO2 95%⟧, ⟦RR 20회/분⟧.",
    "⟦KCD N18.3⟧ 만성 신장병.",
    "⟦유지 용량⟧으로 감량함.",
    "⟦한쪽⟧ 하지 부종 관찰.",
    "⟦입원 7일째⟧ ⟦CRP 3.2 mg/dL⟧로 호전.",
)


def make_notes(n: int, seed: int = 0) -> Iterator[dict]:
    """`n` labelled notes: {"id", "text", "phi": [{"start", "end", "type"}], "keep": [...]}."""
    rng = random.Random(seed)
    for i in range(n):
        yield _note(rng, f"note-{i:05d}")


def write_notes(out: str | Path, n: int, seed: int = 0) -> dict:
    """`kmb deid sample`: :func:`make_notes` as JSON lines, written atomically; counts per type."""
    from kmb.storage import atomic_text

    if n < 1:
        raise KmbError(f"--notes must be 1 or more, not {n}")
    counts: Counter = Counter()
    with atomic_text(out) as handle:
        for note in make_notes(n, seed):
            counts.update(span["type"] for span in note["phi"])
            handle.write(json.dumps(note, ensure_ascii=False) + "\n")
    return {"notes": n, **{kind: counts[kind] for kind in sorted(counts)}, "written": str(out)}


def _note(rng: random.Random, note_id: str) -> dict:
    parts: list[tuple[str, str | None]] = []  # (text, type or "KEEP" or None)
    patient = _name(rng)
    lines = [rng.choice((_line_header, _line_role))] + rng.sample(_OTHER_LINES, k=rng.randint(3, 6))
    if rng.random() < 0.5:  # the patient again, without a role word: found because the note named them
        lines.append(_line_mention)
    for line in lines:
        parts.extend(line(rng, patient))
        parts.append((" " if rng.random() < 0.5 else "\n", None))
    for trap in rng.sample(TRAPS, k=rng.randint(2, 4)):
        parts.extend(_trap_parts(trap))
        parts.append((" ", None))
    text, phi, keep, pos = [], [], [], 0
    for piece, kind in parts:
        if kind == "KEEP":
            keep.append({"start": pos, "end": pos + len(piece)})
        elif kind:
            phi.append({"start": pos, "end": pos + len(piece), "type": kind})
        text.append(piece)
        pos += len(piece)
    return {"id": note_id, "text": "".join(text), "phi": phi, "keep": keep}


def _trap_parts(trap: str) -> list[tuple[str, str | None]]:
    return [(piece, "KEEP" if i % 2 else None) for i, piece in enumerate(re.split(r"⟦|⟧", trap)) if piece]


def _name(rng: random.Random) -> str:
    surname = rng.choice(DOUBLE_SURNAMES) if rng.random() < 0.08 else rng.choice(SURNAMES)
    return surname + rng.choice(GIVEN)


def _digits(rng: random.Random, k: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(k))


def _phone(rng: random.Random) -> str:
    mobile = ("010", _digits(rng, 4), _digits(rng, 4))
    area = rng.choice(["02", "031", "051", "062", "064", "070"])
    landline = (area, _digits(rng, rng.choice([3, 4])), _digits(rng, 4))
    a, b, c = mobile if rng.random() < 0.6 else landline
    form = rng.randrange(7)
    if form == 0:
        return f"{a}-{b}-{c}"
    if form == 1:
        return f"{a}.{b}.{c}"
    if form == 2:
        return f"{a} {b} {c}"
    if form == 3:
        return f"({a}) {b}-{c}"
    if form == 4:
        return f"{a}{b}{c}"
    if form == 5:
        return f"+82-{a[1:]}-{b}-{c}"
    return f"{a}){b}-{c}"


def _date_parts(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1930, 2015), rng.randint(1, 12), rng.randint(1, 28)


def _rrn(rng: random.Random) -> str:
    y, m, d = _date_parts(rng)
    digit = rng.choice("12345678")  # 5-8: foreigner registration numbers
    front, back = f"{y % 100:02d}{m:02d}{d:02d}", digit + _digits(rng, 6)
    return rng.choice([f"{front}-{back}", f"{front} - {back}", f"{front} {back}", f"{front}{back}"])


def _birth_date(rng: random.Random) -> str:
    y, m, d = _date_parts(rng)
    return rng.choice(
        [
            f"{y}-{m:02d}-{d:02d}",
            f"{y}.{m:02d}.{d:02d}",
            f"{y}/{m}/{d}",
            f"{y}년 {m}월 {d}일",
            f"{y % 100:02d}.{m:02d}.{d:02d}",
            f"{y}{m:02d}{d:02d}",
            f"{m:02d}/{d:02d}/{y}",
            f"{y}. {m}. {d}.",
        ]
    ).rstrip(".")


def _address(rng: random.Random) -> str:
    province, units = rng.choice(CITIES)
    head = f"{province} {units}" if rng.random() < 0.85 else units
    if rng.random() < 0.65:
        place = f"{rng.choice(ROADS)} {rng.randint(1, 400)}" + (f"-{rng.randint(1, 30)}" if rng.random() < 0.2 else "")
    else:
        place = f"{rng.choice(DONGS)} {rng.randint(1, 999)}-{rng.randint(1, 40)}"
    building = ""
    if rng.random() < 0.5:
        apartment = rng.choice(APARTMENTS)
        building = f", {apartment} {rng.randint(101, 120)}동 {rng.randint(101, 2405)}호".replace("  ", " ")
    note = f" ({rng.choice(DONGS)})" if rng.random() < 0.3 else ""
    return head + " " + place + building + note


def _patient_id(rng: random.Random) -> str:
    return rng.choice(
        [
            _digits(rng, 8),
            _digits(rng, 10),
            "H" + _digits(rng, 7),
            f"AB-{_digits(rng, 6)}",
            f"{_digits(rng, 4)}-{_digits(rng, 4)}",
        ]
    )


def _email(rng: random.Random) -> str:
    user = rng.choice(["kim", "lee.s", "park_01", "pt.contact", "hong-gd"]) + _digits(rng, 2)
    return f"{user}@{rng.choice(EMAIL_HOSTS)}"


# Lines of a note: each a function of (rng, patient name) giving (text, type) parts.
def _line_header(rng, patient):
    label = rng.choice(["환자명: ", "성명: ", "이름 : ", "환자성명 ", "환자: "])
    return [(label, None), (patient, "NAME"), (f" ({rng.choice('MF')}/{rng.randint(20, 90)})", None)]


def _line_id(rng, patient):
    label = rng.choice(["등록번호: ", "환자번호 ", "차트번호: ", "병록번호 ", "MRN: ", "등록번호 #"])
    return [(label, None), (_patient_id(rng), "PATIENT_ID")]


def _line_birth(rng, patient):
    label = rng.choice(["생년월일: ", "DOB: ", "생년월일 ", "D.O.B ", "출생일: "])
    return [(label, None), (_birth_date(rng), "BIRTH_DATE")]


def _line_rrn(rng, patient):
    label = rng.choice(["주민등록번호: ", "주민번호 ", "외국인등록번호: ", "RRN "])
    tail = rng.choice(["", "이며 본인 확인함.", "로 조회함.", " 확인."])
    return [(label, None), (_rrn(rng), "RRN"), (tail, None)]


def _line_phone(rng, patient):
    lead = rng.choice(["연락처: ", "보호자 연락처 ", "휴대폰 ", "Tel. ", "자택 "])
    tail = rng.choice(["", "로 연락 바람.", "으로 통화함.", " (본인)"])
    return [(lead, None), (_phone(rng), "PHONE"), (tail, None)]


def _line_address(rng, patient):
    lead = rng.choice(["주소: ", "주소 ", "거주지: "])
    tail = rng.choice(["", " 거주.", "에 거주함."])
    return [(lead, None), (_address(rng), "ADDRESS"), (tail, None)]


def _line_email(rng, patient):
    tail = rng.choice(["", "로 결과 송부.", "으로 회신 요청."])
    return [("이메일: ", None), (_email(rng), "EMAIL"), (tail, None)]


def _line_role(rng, patient):
    role = rng.choice(ROLES)
    tail = rng.choice(["은 어제 입원함.", "께 설명함.", " 상태 양호.", "의 통증 호전.", "이 외래 방문."])
    if role.endswith("께서"):
        tail = " 동의서에 서명함."
    return [(patient, "NAME"), (role + tail, None)]


def _line_staff(rng, patient):
    staff = _name(rng)
    form = rng.randrange(4)
    if form == 0:
        return [("담당의 ", None), (staff, "NAME"), (" 교수", None)]
    if form == 1:
        return [("주치의: ", None), (staff, "NAME")]
    if form == 2:
        return [("판독의: ", None), (staff, "NAME"), (", 작성자 ", None), (_name(rng), "NAME")]
    return [("간호사 ", None), (staff, "NAME"), ("가 투약함.", None)]


def _line_guardian(rng, patient):
    guardian = _name(rng)
    relation = rng.choice(["딸", "아들", "배우자", "모"])
    return [
        ("보호자 ", None),
        (guardian, "NAME"),
        (f"({relation}) ", None),
        (_phone(rng), "PHONE"),
        ("에게 설명함.", None),
    ]


def _line_mention(rng, patient):
    # The patient's name again with no role word: found only because the document named them.
    return [("경과: ", None), (patient, "NAME"), (rng.choice(["는 ", "은 ", "가 "]), None), ("식사 잘 함.", None)]


_OTHER_LINES = (
    _line_id,
    _line_birth,
    _line_rrn,
    _line_phone,
    _line_address,
    _line_email,
    _line_role,
    _line_staff,
    _line_guardian,
)
