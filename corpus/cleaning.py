"""Step 2 of the corpus build: remove boilerplate, with every rule kept here, per source kind.

A rule is a name, a regular expression and what to do with a match:

- ``line``: drop the whole line (paragraph) when the pattern matches it;
- ``inline``: delete the matched span and keep the rest of the line;
- ``rest``: drop the matching line and every line after it (reference lists end a paper).

Which rules run depends on the *kind* of source: news (NAVER health and other news), paper
(KCI, articles, textbooks) or other; the ``common`` rules run for every kind. Line rules run before
inline rules, so that a byline with its e-mail is dropped as a byline rather than left as a bare
name. :func:`clean` returns the cleaned text and how often each rule fired; the build adds those
counts to ``corpus/report.json``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

NEWS_SOURCES = frozenset({"naver_health", "news"})
PAPER_SOURCES = frozenset({"kci", "article", "textbook"})
CLINICAL_SOURCES = frozenset({"clinical"})  # de-identified first by every build (kmb.deid)


@dataclass(frozen=True)
class CleaningRule:
    name: str
    action: str  # "line", "inline" or "rest"
    pattern: re.Pattern


def _rule(name: str, action: str, pattern: str, flags: int = 0) -> CleaningRule:
    return CleaningRule(name, action, re.compile(pattern, flags))


_NAME = r"[가-힣]{2,4}"
_REPORTER = r"(?:기자|특파원|객원기자|인턴기자|수습기자|전문기자|선임기자)"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"

COMMON_RULES = [
    _rule("url", "inline", r"(?:https?://|www\.)[^\s<>\"'()\[\]]+"),
    _rule("email", "inline", r"[(<\[]?\s*" + _EMAIL + r"\s*[)>\]]?"),
]

NEWS_RULES = [
    # "ⓒ 헬스조선, 무단전재 및 재배포 금지", "Copyright © ... All rights reserved."
    _rule(
        "copyright", "line", r"ⓒ|©|\(c\)\s|copyright|all rights reserved|무단\s*전재|재배포\s*금지|무단\s*복제", re.I
    ),
    # A line that is only a byline: "홍길동 기자 hong@example.com", "[헬스조선 홍길동 기자]", "글 홍길동 기자"
    _rule(
        "byline",
        "line",
        r"^[\[(]?\s*(?:[가-힣A-Za-z]+\s+){0,2}"
        + _NAME
        + r"\s*"
        + _REPORTER
        + r"\s*[\])]?\s*(?:[(<\[]?\s*"
        + _EMAIL
        + r"\s*[)>\]]?)?\s*$",
    ),
    # Photo captions and credits: "▲ 걷기 운동을 하는 노인들", "[사진=게티이미지뱅크]", "사진 제공=OO병원"
    _rule(
        "photo_caption",
        "line",
        r"^\s*(?:▲|△|◀|<\s*사진|\[\s*사진|\(\s*사진|사진\s*[=:]|사진\s*(?:제공|출처)|그래픽\s*=)",
    ),
    # Promotion and related-article links: "▶ 관련기사 보기", "☞ 헬스조선 구독하기"
    _rule("promo", "line", r"^\s*(?:▶|☞|■\s*관련|관련\s*기사)"),
    # Datelines at the start of a line: "(서울=연합뉴스) 홍길동 기자 = ", "[헬스조선 홍길동 기자] ", "홍길동 기자 = "
    _rule(
        "dateline",
        "inline",
        r"^(?:\([^()]{1,20}=[^()]{1,20}\)\s*(?:" + _NAME + r"\s*" + _REPORTER + r"\s*=\s*)?"
        r"|\[[^\[\]]{0,30}" + _REPORTER + r"\]\s*"
        r"|" + _NAME + r"\s*" + _REPORTER + r"\s*=\s*)",
    ),
    # Credits inside a line: "(사진=연합뉴스)", "[사진=게티이미지뱅크]"
    _rule("photo_credit", "inline", r"[\[(<]\s*(?:사진|그래픽|자료)\s*[=:][^\[\]()<>]{0,60}[\])>]"),
]

PAPER_RULES = [
    # "참고문헌", "References", "REFERENCES:", "5. 참고 문헌" end the useful text of a paper.
    _rule(
        "references",
        "rest",
        r"^\s*(?:\d+\.?\s*)?(?:참\s*고\s*문\s*헌|인용\s*문헌|references?|bibliography)\s*:?\s*$",
        re.I,
    ),
    # Figure and table captions: "그림 1. 연구 흐름도", "Table 2. Baseline characteristics", "표 3 환자 특성"
    _rule("caption", "line", r"^\s*(?:그림|표|도표|figure|fig\.?|table)\s*\d+(?:[.\-]\d+)?\s*[.:)]?(?:\s|$)", re.I),
]

RULES_BY_KIND = {
    "news": COMMON_RULES + NEWS_RULES,
    "paper": COMMON_RULES + PAPER_RULES,
    "other": COMMON_RULES,
}
ALL_RULE_NAMES = sorted({rule.name for rules in RULES_BY_KIND.values() for rule in rules})


def source_kind(source: str) -> str:
    """news, paper or other: which rule set a source's documents get."""
    if source in NEWS_SOURCES:
        return "news"
    if source in PAPER_SOURCES:
        return "paper"
    return "other"


def clean(text: str, source: str) -> tuple[str, Counter]:
    """Apply the rules for ``source``'s kind to normalised text; return (text, hits per rule)."""
    rules = RULES_BY_KIND[source_kind(source)]
    line_rules = [r for r in rules if r.action in ("line", "rest")]
    inline_rules = [r for r in rules if r.action == "inline"]
    hits: Counter = Counter()
    kept: list[str] = []
    for line in text.split("\n"):
        stop = False
        for rule in line_rules:
            if rule.pattern.search(line):
                hits[rule.name] += 1
                stop = rule.action == "rest"
                line = ""
                break
        if stop:
            break
        for rule in inline_rules:
            if not line:
                break
            line, n = rule.pattern.subn(" ", line)
            if n:
                hits[rule.name] += n
        line = " ".join(line.split())
        if line:
            kept.append(line)
    return "\n".join(kept), hits
