"""Generated Korean health-news-like documents, for the corpus benchmark and tests.

The sentences are written for kmb from templates (no third-party text). Documents look like the
news the build has to handle: a dateline, 2-4 paragraphs of 6-14 sentences with numbers, doses,
p-values, quotations and the odd sentence without final punctuation, then a byline with an e-mail,
a photo caption and a copyright line. ``planted_duplicates`` makes exact copies (same story, a
different byline: identical once cleaned) and near copies (a changed closing sentence or an edited first sentence), the
syndication pattern of press releases. Same seed, same documents.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

TOPICS = [
    "고혈압",
    "당뇨병",
    "독감",
    "수면 장애",
    "비만",
    "골다공증",
    "치매",
    "우울증",
    "천식",
    "위염",
    "대상포진",
    "갑상선 질환",
    "심근경색",
    "뇌졸중",
    "만성 신장병",
    "역류성 식도염",
]
ADVICE = [
    "규칙적인 운동",
    "싱겁게 먹는 식습관",
    "충분한 수면",
    "금연과 절주",
    "정기적인 검진",
    "체중 관리",
    "예방접종",
    "스트레스 관리",
    "채소와 과일 섭취",
    "하루 30분 걷기",
]
HOSPITALS = [
    "서울대병원",
    "세브란스병원",
    "서울아산병원",
    "삼성서울병원",
    "분당서울대병원",
    "고려대안암병원",
    "경희대병원",
    "부산대병원",
    "전남대병원",
    "충남대병원",
]
DEPARTMENTS = ["내분비내과", "심장내과", "신경과", "정신건강의학과", "소화기내과", "가정의학과", "호흡기내과"]
SURNAMES = "김이박최정강조윤장임한오서신권황안송"
GIVEN = ["민준", "서연", "지훈", "수빈", "도윤", "하은", "현우", "지민", "예준", "서윤", "건우", "유진"]
PRESS = {
    "헬스조선": "healthnews.example",
    "메디컬뉴스": "medinews.example",
    "건강일보": "geongang.example",
    "코리아헬스": "koreahealth.example",
    "의학신문": "uihak.example",
}

TEMPLATES = [
    "{topic} 환자가 최근 5년 사이 {pct}% 늘어난 것으로 나타났다.",
    "{hospital} {dept} 연구팀은 성인 {n}명을 대상으로 {topic}(과) 생활습관의 관계를 분석했다.",
    "연구 결과 {advice}(을) 실천한 그룹은 그렇지 않은 그룹보다 발병 위험이 {pct}% 낮았다(p<0.05).",
    "하루 {dose}mg을 복용한 환자군에서 증상이 뚜렷하게 줄었다.",
    '{name} 교수는 "{topic}(은) 초기에 증상이 거의 없어 방치하기 쉽다. 정기적인 검사가 중요하다"고 말했다.',
    "전문가들은 {advice}(이) 가장 효과적인 예방법이라고 강조한다.",
    "특히 65세 이상 고령층은 {topic} 합병증에 더 취약하다.",
    "질병관리청에 따르면 지난해 {topic}(으로) 진료받은 사람은 약 {n}만 명이었다.",
    "치료군 vs. 대조군의 평균 수치는 각각 {dec}와 {dec2}였다.",
    "이번 연구는 국제 학술지에 게재됐다.",
    "증상이 2주 이상 계속되면 병원을 찾는 것이 좋다.",
    "{topic}(을) 예방하려면 어떻게 해야 할까?",
    "무엇보다 {advice}(이) 필요하다는 게 의료진의 설명이다.",
    "연구팀은 앞으로 {n}명 규모의 추가 연구를 진행할 계획이다.",
    "{name} 교수는 {advice}만으로도 상당한 효과를 볼 수 있다고 설명했다.",
    "체질량지수가 {dec} 이상이면 위험이 커진다.",
    "환자들은 평균 {dec}년 동안 추적 관찰됐다.",
    "의료진은 {topic} 환자에게 약물 치료와 함께 생활습관 개선을 권한다",
    "이 같은 경향은 남성보다 여성에서 더 뚜렷했다.",
    "한편 정부는 내년부터 {topic} 조기 검진 사업을 확대하기로 했다.",
]


@dataclass
class SampleDocument:
    doc_id: str
    text: str
    planted: str | None = None  # "exact" or "near" for planted copies
    copy_of: str | None = None


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


# Korean particles depend on whether the word before ends in a consonant: "(이)" -> 이 or 가.
_PARTICLES = {
    "(이)": ("이", "가"),
    "(을)": ("을", "를"),
    "(은)": ("은", "는"),
    "(과)": ("과", "와"),
    "(으로)": ("으로", "로"),
}


def _attach_particles(text: str) -> str:
    for marker, (after_consonant, after_vowel) in _PARTICLES.items():
        while marker in text:
            at = text.index(marker)
            last = text[at - 1]
            final = (ord(last) - 0xAC00) % 28 if "가" <= last <= "힣" else 0
            particle = after_consonant if final and not (marker == "(으로)" and final == 8) else after_vowel
            text = text[:at] + particle + text[at + len(marker) :]
    return text


def _sentence(rng: random.Random, template: str) -> str:
    return _attach_particles(_format(rng, template))


def _format(rng: random.Random, template: str) -> str:
    return template.format(
        topic=rng.choice(TOPICS),
        advice=rng.choice(ADVICE),
        hospital=rng.choice(HOSPITALS),
        dept=rng.choice(DEPARTMENTS),
        name=_name(rng),
        pct=rng.randint(3, 60),
        n=rng.randint(2, 900) * 10,
        dose=rng.choice([0.5, 2.5, 5, 10, 20, 40]),
        dec=round(rng.uniform(1, 30), 1),
        dec2=round(rng.uniform(1, 30), 1),
    )


def _body(rng: random.Random) -> list[list[str]]:
    """3-4 paragraphs of 3-5 sentences, no template twice: a real story does not repeat a sentence
    (and the build's document filters drop one that repeats too much of itself)."""
    sizes = [rng.randint(3, 5) for _ in range(rng.randint(3, 4))]
    templates = iter(rng.sample(TEMPLATES, sum(sizes)))
    return [[_sentence(rng, next(templates)) for _ in range(size)] for size in sizes]


def _render(paragraphs: list[list[str]], rng: random.Random) -> str:
    press, reporter = rng.choice(sorted(PRESS)), _name(rng)
    lines = [f"[{press} {reporter} 기자] " + " ".join(paragraphs[0])]
    lines += [" ".join(p) for p in paragraphs[1:]]
    lines.insert(1, f"▲ {rng.choice(TOPICS)} 검사를 받는 환자의 모습 (사진=게티이미지뱅크)")
    lines.append(f"{reporter} 기자 reporter{rng.randint(1, 999)}@{PRESS[press]}")
    lines.append(f"ⓒ {press}, 무단전재 및 재배포 금지")
    return "\n".join(lines)


def generate(n_documents: int, seed: int = 0, duplicate_share: float = 0.1) -> Iterator[SampleDocument]:
    """``n_documents`` documents; about ``duplicate_share`` of them are planted exact or near copies."""
    rng = random.Random(seed)
    originals: list[tuple[str, list[list[str]]]] = []
    for i in range(n_documents):
        doc_id = f"sample:{seed}:{i}"
        if originals and rng.random() < duplicate_share:
            source_id, paragraphs = rng.choice(originals[-200:])
            if rng.random() < 0.5:
                yield SampleDocument(doc_id, _render(paragraphs, rng), "exact", source_id)
            else:
                changed = [list(p) for p in paragraphs]
                if sum(map(len, changed)) >= 12:  # long story: a changed closing sentence
                    changed[-1][-1] = "보건당국은 관련 자료를 홈페이지에 공개했다."
                else:  # short story: an updated figure
                    changed[0][0] = changed[0][0].replace("다.", "다고 밝혔다.", 1)
                yield SampleDocument(doc_id, _render(changed, rng), "near", source_id)
            continue
        paragraphs = _body(rng)
        originals.append((doc_id, paragraphs))
        yield SampleDocument(doc_id, _render(paragraphs, rng))


# Sentence-splitting cases with the right answer, written for kmb: p-values, doses, "vs.", numbered
# lists, quotations, sentences without final punctuation. The tests and the benchmark use them.
TRICKY = [
    (
        "환자군에서 유의한 차이를 보였다(p<0.05). 대조군은 그렇지 않았다.",
        ["환자군에서 유의한 차이를 보였다(p<0.05).", "대조군은 그렇지 않았다."],
    ),
    ("하루 3.5mg을 투여했다. 부작용은 없었다.", ["하루 3.5mg을 투여했다.", "부작용은 없었다."]),
    ("A군 vs. B군을 비교했다. 결과는 다음과 같다.", ["A군 vs. B군을 비교했다.", "결과는 다음과 같다."]),
    ("1. 손을 자주 씻는다. 2. 마스크를 쓴다.", ["1. 손을 자주 씻는다.", "2. 마스크를 쓴다."]),
    (
        '김 교수는 "예방이 중요하다. 백신을 맞아야 한다"고 말했다. 이어 설명했다.',
        ['김 교수는 "예방이 중요하다. 백신을 맞아야 한다"고 말했다.', "이어 설명했다."],
    ),
    (
        "열이 나면 병원에 가야 한다 그러나 대부분은 집에서 쉬면 낫는다",
        ["열이 나면 병원에 가야 한다", "그러나 대부분은 집에서 쉬면 낫는다"],
    ),
    (
        "검사 결과는 정상이었다. 그렇다면 치료가 필요할까? 전문가의 답은 아니다.",
        ["검사 결과는 정상이었다.", "그렇다면 치료가 필요할까?", "전문가의 답은 아니다."],
    ),
    (
        "체온이 38.5℃ 이상이면 해열제를 먹는다. 물을 충분히 마신다.",
        ["체온이 38.5℃ 이상이면 해열제를 먹는다.", "물을 충분히 마신다."],
    ),
    ("정말 효과가 있을까요? 네, 있습니다!", ["정말 효과가 있을까요?", "네, 있습니다!"]),
    ("이상 반응은 두통, 구토 등이었다… 대부분 가벼웠다.", ["이상 반응은 두통, 구토 등이었다…", "대부분 가벼웠다."]),
    ("의료진은 금연을 권했다 환자는 이를 받아들였다.", ["의료진은 금연을 권했다", "환자는 이를 받아들였다."]),
    ("혈압은 130/80 mmHg였다. 정상 범위다.", ["혈압은 130/80 mmHg였다.", "정상 범위다."]),
    (
        "약 2.5배(95% CI, 1.2-3.8) 높았다. 나이와는 관계가 없었다.",
        ["약 2.5배(95% CI, 1.2-3.8) 높았다.", "나이와는 관계가 없었다."],
    ),
    ("그는 '괜찮다'고 말했다. 그러나 통증은 계속됐다.", ["그는 '괜찮다'고 말했다.", "그러나 통증은 계속됐다."]),
    (
        "복용법은 다음과 같다: 아침 1정, 저녁 1정. 식후 30분에 먹는다.",
        ["복용법은 다음과 같다: 아침 1정, 저녁 1정.", "식후 30분에 먹는다."],
    ),
    ("Dr. Kim은 연구 책임자다. 그는 결과를 발표했다.", ["Dr. Kim은 연구 책임자다.", "그는 결과를 발표했다."]),
]
