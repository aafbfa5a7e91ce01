"""The shortcuts that make the detector fast must not change what it finds: every cheap test of a
text must hold wherever the pattern it guards matches, and a pattern run on part of its
alternatives must find what the whole pattern finds. Checked on made-up notes, both fixture sets
and made-up lines written to reach each alternative (every value generated)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from kmb.deid import names, patterns
from kmb.deid.synthetic_notes import make_notes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "deid"
LINES = [
    "생년월일: 1985.03.02 환자번호 12345678",
    "1985년 3월 2일생 남자, '85년생, 85년 생",
    "김민수(여, 1971-05-21) 방문, (4세, 2022-01-15) 소아",
    "최지호 (78.06.28, 46세) 내원",
    "외래 [1234567] 및 (7654321) 그리고 #123456 HN535115",
    "| 성민준 | 12345678 | 45/M |\n| 20240315 |",
    "보호자\t한서연\n환자: 박지호  주치의 이영수",
    "  딸 정은지\n성명 TRAN VAN MINH (M/45)",
    "IP 192.168.10.23, 카드 1234-5678-9012-3456, 계좌: 국민은행 123-456-789012",
    "DOB 1953-09-07 | Date of birth: 07 Sep 1953 | D.O.B. 1/2/1960",
    "영상판독 탁주원 (M/46, 0093817), 투석 (45/F, HD-20931)",
]


def texts() -> list[str]:
    found = [n["text"] for n in make_notes(400, seed=3)] + LINES
    for name in ("notes_second_author.jsonl", "notes_third_author.jsonl", "notes_fourth_author.jsonl"):
        lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
        found += [json.loads(line)["text"] for line in lines if line.strip()]
    rng = random.Random(5)
    for _ in range(400):  # pieces and joins: the tests must hold at any cut
        a, b = rng.choice(found), rng.choice(found)
        i, j = sorted(rng.randrange(len(a) + 1) for _ in range(2))
        found.append(a[i:j] + rng.choice(["", " ", "\n", "|"]) + b[: rng.randrange(200)])
    return found


TEXTS = texts()


def spans(pattern: re.Pattern, text: str) -> list[tuple]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


@pytest.mark.parametrize("branches", [patterns.PATIENT_ID_BRANCHES, patterns.BIRTH_DATE_BRANCHES], ids=["id", "birth"])
def test_each_alternative_matches_only_where_its_test_holds(branches):
    reached = set()
    for text in TEXTS:
        for i, branch in enumerate(branches.branches):
            if branches.alone[i].search(text):
                reached.add(i)
                assert branch[2](text), (i, branches.alone[i].pattern[:60])
        chosen = branches.for_text(text)
        found = [m.span() for m in chosen.finditer(text)] if chosen else []
        assert found == [m.span() for m in branches.whole.finditer(text)]
    assert reached == set(range(len(branches.branches)))  # every alternative was tried somewhere


def test_the_shortcut_name_patterns_find_what_the_whole_ones_find():
    header_line = re.compile(r"^[ \t]*" + names._WEAK_LABEL + r"[ \t]", re.MULTILINE)
    for text in TEXTS:
        assert names._has_header_line(text) == bool(header_line.search(text))
        if not names._has_header_line(text):
            inline = spans(names._AFTER_WEAK_LABEL_INLINE, text)
            assert inline == [(s, g[:2]) for s, g in spans(names.AFTER_WEAK_LABEL, text)]
        pattern, _ = names._after_label(text)
        whole = [(s, tuple(x for x in g if x)) for s, g in spans(names.AFTER_LABEL, text)]
        assert whole == ([(s, tuple(x for x in g if x)) for s, g in spans(pattern, text)] if pattern else [])
        sex_only = not names._AGE_BESIDE_DIGIT.search(text)
        if sex_only:
            assert spans(names._SEX_ANCHOR, text) == spans(names._AGE_SEX_ANCHOR, text)


def test_the_cheap_tests_of_shaped_types_hold_wherever_the_type_matches():
    for text in TEXTS:
        for kind, guard in patterns._GUARDS.items():
            if patterns.SHAPED[kind][0].search(text):
                assert guard(text), kind
