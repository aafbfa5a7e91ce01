"""The identifiers with a shape: numbers, addresses, e-mails, dates, as Korean notes write them.

Each pattern finds one identifier type and marks only the value (a label such as 등록번호 stays).
None uses ``\\b``: in Korean text a number is often written against a particle ("010-1234-5678로",
"900101-1234567이며"), and Python's ``\\b`` sees no boundary between a digit and Hangul. Instead
each number is fenced by "no digit before / after" look-arounds.

Resident registration numbers (주민등록번호) are matched by shape (birth date, then the sex/century
digit 1-8, then six digits) and not by check digit: numbers issued since October 2020 carry none,
and foreigner registration numbers (외국인등록번호, digit 5-8) share the shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NO_DIGIT_BEFORE = r"(?<![0-9])"


def _first(chars: str) -> str:
    """A look-ahead for the characters a match can start with. Python's regex engine then skips
    every other position at once instead of trying the look-behinds and alternations there (4x on
    the birth-date pattern)."""
    return "(?=[" + "".join(sorted(set(chars))).replace("\\", "\\\\").replace("]", "\\]").replace("-", "\\-") + "])"


_DIGITS = "0123456789"


class Branches:
    """A pattern written as alternatives, each with the characters its matches start with and a
    test of the whole text that every text it can match in passes. In a text where only one
    alternative's test passes, that alternative runs alone: the others match nowhere in it, so it
    finds what the whole pattern finds, without trying them at every position (the alternatives
    with a date form are the slow ones, and most notes hold no "…년생" or "(여, …)"). All are
    compiled here, at import, as every other pattern is: none is compiled while a text waits."""

    def __init__(self, *branches: tuple):  # (start characters, regex, test[, "literal-led"])
        self.branches = branches
        self.whole = self._compile(tuple(range(len(branches))))
        self.alone = [self._compile((i,)) for i in range(len(branches))]

    def _compile(self, chosen: tuple[int, ...]) -> re.Pattern:
        if len(chosen) == 1 and len(self.branches[chosen[0]]) > 3:  # marked: it starts with a literal itself
            return re.compile(self.branches[chosen[0]][1])
        starts = "".join(self.branches[i][0] for i in chosen)
        return re.compile(_first(starts) + "(?:" + "|".join(self.branches[i][1] for i in chosen) + ")")

    def for_text(self, text: str) -> re.Pattern | None:
        """The pattern for `text`: None when no alternative can match in it, the one that can, or
        the whole pattern."""
        chosen = [i for i, branch in enumerate(self.branches) if branch[2](text)]
        if len(chosen) > 1:
            return self.whole
        return self.alone[chosen[0]] if chosen else None


def literal_led(words, not_before: str) -> str:
    """``(?<!not_before)(?:word|...)`` in a form the regex engine skips to at once when a pattern
    starts with it: the first character first (one set), the look-behind after it, then the rest of
    the words that begin with that character. The same matches in the same order (`words`' order;
    words with different first characters never match at the same place). `not_before` appears
    once: a class of Hangul takes a millisecond to compile."""
    firsts = "".join(dict.fromkeys(w[0] for w in words))
    rests = "|".join(
        f"(?<={re.escape(c)})(?:" + "|".join(re.escape(w[1:]) for w in words if w[0] == c) + ")" for c in firsts
    )
    return f"[{re.escape(firsts)}](?<!{not_before}.)(?:{rests})"


def contains_any(words) -> Callable[[str], bool]:
    """Whether a text holds one of `words` (a word holding another listed word is not searched)."""
    needed = sorted({w for w in words if not any(o != w and o in w for o in words)})
    return re.compile("|".join(re.escape(w) for w in needed)).search


def _search(pattern: str, literal: str = "") -> Callable[[str], object]:
    """A test that `pattern` occurs (after the quicker test that `literal` does)."""
    search = re.compile(pattern).search
    return (lambda text: literal in text and search(text)) if literal else search


_NO_DIGIT_AFTER = r"(?![0-9])"
_SEP = r"[ .\-]?"  # hyphen, dot, one space or nothing

RRN = re.compile(
    _first(_DIGITS)
    + _NO_DIGIT_BEFORE
    + r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?[-–]?\s?[1-8](?:\d{6}|\*{6})"
    + _NO_DIGIT_AFTER
)

# Mobile (010, 011, 016-019), Seoul 02, the other area codes 031-064, 070 internet phones, 050x
# safe numbers; the area code may sit in parentheses; +82 drops the leading 0 ("+82 10-...").
_AREA = r"(?:01[016789]|02|0[3-6][1-5]|070|050\d|080)"
_AREA_INTL = r"(?:1[016789]|2|[3-6][1-5]|70|50\d|80)"
PHONE = re.compile(
    _first(_DIGITS + "+(")
    + r"(?:"
    + r"\+82[ \-.]?(?:\(0\))?"
    + _AREA_INTL
    + r"|\("
    + _AREA
    + r"\)"
    + r"|"
    + _NO_DIGIT_BEFORE
    + _AREA
    + r"\)?"
    + r")"
    + r"(?: ?- ?|[ \-.]?)\d{3,4}"  # "010 - 1234 - 5678" too
    + r"(?: ?- ?|[ .\-]?)"
    + r"\d{4}"
    + _NO_DIGIT_AFTER
    + r"|"
    + _NO_DIGIT_BEFORE
    + r"1[5-9]\d{2}-\d{4}"
    + _NO_DIGIT_AFTER  # 1588-xxxx and the like
)

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+[A-Za-z0-9/=#]")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IP_ADDRESS = re.compile(
    _first(_DIGITS) + _NO_DIGIT_BEFORE + r"(?<!\.)" + _OCTET + r"(?:\." + _OCTET + r"){3}" + r"(?![0-9.])"
)

CARD = re.compile(_first(_DIGITS) + _NO_DIGIT_BEFORE + r"\d{4}[ \-]\d{4}[ \-]\d{4}[ \-]\d{4}" + _NO_DIGIT_AFTER)

_LABEL_GAP = r"\s*(?:[:：#|]|은|는|:\s*No\.?)?\s*#?"
ACCOUNT = re.compile(r"(?:계좌번호|계좌|입금\s?계좌)" + _LABEL_GAP + r"(?:[가-힣]{2,4}은행\s*)?(\d[\d\-]{8,}\d)")

# Hospital record numbers follow a label; the value is digits, or letters then digits.
PATIENT_ID_LABELS = (
    "병원등록번호",
    "의무기록번호",
    "환자등록번호",
    "등록번호",
    "환자번호",
    "차트번호",
    "병록번호",
    "진료번호",
    "수진자번호",
    "내원번호",
    "외래번호",
    "입원번호",
    "환자 ID",
    "환자ID",
    "차트 No",
    "Chart No",
    "chart no",
    "Hosp. No",
    "Hosp No",
    "Hospital No",
    "Pt. No",
    "Pt No",
    "병원번호",
    "MRN",
    "PT ID",
    "Pt ID",
    "pt id",
    "Patient ID",
    "patient id",
    "Reg. No",
    "Reg No",
    "등록",
    "ID",
)
_DATE8 = r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# One pattern whose alternatives are tried only in texts that can hold them (see Branches).
PATIENT_ID_BRANCHES = Branches(
    (
        "".join(label[0] for label in PATIENT_ID_LABELS),
        literal_led(PATIENT_ID_LABELS, "[가-힣A-Za-z]")
        + r"\.?"
        + _LABEL_GAP
        + r"((?:[A-Za-z]{1,3}[\-]?)?\d[\d\-]{3,14}\d)"
        + _NO_DIGIT_AFTER,
        contains_any(PATIENT_ID_LABELS),
        "literal-led",
    ),
    # Without a label, only shapes nothing else in a note has: capitals then 6-9 digits (HN535115;
    # KCD codes have at most 4 digits), a number of 7-10 digits in brackets or after "#".
    ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", r"(?<![A-Za-z0-9])([A-Z]{1,2}\d{6,9})(?![0-9])", _search(r"[A-Z]\d{6}")),
    ("([", r"[(\[](\d{7,10})[)\]]", _search(r"[(\[]\d{7}")),
    ("#", r"(?<![A-Za-z0-9])#(\d{6,10})(?![0-9])", _search(r"#\d{6}", "#")),
    # an id beside age and sex in brackets: "(M/46, 0093817)"
    (
        "(",
        r"\((?:[MF남여]\s?/\s?\d{1,3}|\d{1,3}\s?/\s?[MF남여])\s?,\s?((?:[A-Za-z]{1,3}-?)?\d{5,10})\)",
        _search(r"/\s?[MF남여0-9]{1,3}\s?,", ","),
    ),
    # a number alone in a table cell (a ward list's ids), not a date written 20240315
    (
        _DIGITS,
        r"(?<=\|[ \t])(?!" + _DATE8 + r"[ \t]\|)(\d{7,10})(?=[ \t]\|)",
        _search(r"\|[ \t]\d{7}", "|"),
    ),
)
PATIENT_ID = PATIENT_ID_BRANCHES.whole

# Dates in every common form; as BIRTH_DATE only after a birth label or before 생(生).
_Y4 = r"(?:19|20)\d{2}"
_MM = r"(?:0?[1-9]|1[0-2])"
_DD = r"(?:0?[1-9]|[12]\d|3[01])"
_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
DATE_FORMS = (
    _Y4 + r"\s?년\s?" + _MM + r"\s?월\s?" + _DD + r"\s?일",
    _Y4 + r"\s?[.\-/]\s?" + _MM + r"\s?[.\-/]\s?" + _DD + r"\.?",
    r"\d{2}\s?년\s?" + _MM + r"\s?월\s?" + _DD + r"\s?일",
    r"\d{2}[.\-/]" + _MM + r"[.\-/]" + _DD,
    _MM + r"/" + _DD + r"/" + _Y4,
    _DD + r"[ \-]" + _MON + r"[ \-,]\s?" + _Y4,
    _MON + r" " + _DD + r",? " + _Y4,
    _Y4 + r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])",
    r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])",
)
_DATE = r"(?:" + "|".join(DATE_FORMS) + r")"
DATE = re.compile(
    _first(_DIGITS + "JFMASOND") + _NO_DIGIT_BEFORE + r"(?:" + "|".join(DATE_FORMS[:7]) + r")" + _NO_DIGIT_AFTER
)
BIRTH_LABELS = (
    "생년월일",
    "출생일",
    "생일",
    "D.O.B.",
    "D.O.B",
    "DOB",
    "Date of Birth",
    "Date of birth",
    "date of birth",
    "Birth",
    "birth",
)
BIRTH_DATE_BRANCHES = Branches(
    # After a label, possibly a few words later: "생년월일 확인함 (1973/10/01)", "| DOB | 1953-09-07 |".
    (
        "".join(label[0] for label in BIRTH_LABELS),
        r"(?:"
        + "|".join(re.escape(label) for label in BIRTH_LABELS)
        + r")[^0-9\n]{0,12}?("
        + _DATE
        + r")"
        + _NO_DIGIT_AFTER,
        contains_any(BIRTH_LABELS),
        "literal-led",
    ),
    (  # 1985년 3월 2일생, '85년생: every date form ends in a digit, 일 or a dot
        _DIGITS + "'JFMASOND",
        _first(_DIGITS + "'JFMASOND")
        + _NO_DIGIT_BEFORE
        + r"("
        + _DATE
        + r"\s?생|'?(?:19|20)?\d{2}\s?년\s?생)(?![가-힣])",
        _search(r"[\d일.년]\s?생", "생"),
    ),
    (  # "(78.06.28, 46세)": a date beside the age
        _DIGITS + "JFMASOND",
        _first(_DIGITS + "JFMASOND") + _NO_DIGIT_BEFORE + r"(" + _DATE + r")(?=,\s?\d{1,3}세)",
        _search(r",\s?\d{1,3}세", "세"),
    ),
    (  # "(여, 1971-05-21)", "(4세, 2022-01-15)"
        "(",
        r"\((?:[MF남여]|남자|여자|\d{1,3}세)\s?,\s?(" + _DATE + r"\.?)(?=\s?\))",
        _search(r"\((?:[MF남여]|남자|여자|\d{1,3}세)\s?,", "("),
    ),
)
BIRTH_DATE = BIRTH_DATE_BRANCHES.whole

# Addresses: a province or a 시/군/구 unit, then a road-name (…로/길 12) or lot-number (…동 123-4)
# part, then an optional building part (아파트 101동 1203호) and a parenthesised 동.
_PROVINCE = (
    r"(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주|"
    r"충청북|충청남|전라북|전라남|경상북|경상남)"
    r"(?:특별시|광역시|특별자치시|특별자치도|도|시)?"
)
# Words ending in 시/군/구 that are not places ("당시 치료로 2주" must not be an address).
_NOT_UNITS = (
    "당시",
    "동시",
    "즉시",
    "수시",
    "항시",
    "표시",
    "지시",
    "제시",
    "개시",
    "무시",
    "감시",
    "재시",
    "필요시",
    "연구",
    "입구",
    "출구",
    "요구",
    "추구",
    "도구",
    "기구",
    "가구",
    "전구",
    "백혈구",
    "적혈구",
    "혈구",
    "림프구",
    "호중구",
    "단핵구",
    "과립구",
    "복구",
    "탐구",
    "장군",
    "아군",
    "균군",
    "대조군",
    "실험군",
    "환자군",
    "치료군",
    "위약군",
    "군",
    "구",
    "시",
)
_UNIT = r"(?:(?!" + "|".join(w + r"\s" for w in _NOT_UNITS) + r")[가-힣]{1,5}(?:시|군|구)\s?)"
_ROAD = r"[가-힣A-Za-z0-9]{1,12}(?:대로|로|길)(?:\s?\d{1,4}번?길)?\s?\d{1,4}(?:-\d{1,4})?"
_LOT = r"[가-힣0-9]{1,8}(?:동|리|가)\d?(?:가)?\s?(?:산\s?)?\d{1,5}(?:-\d{1,5})?(?:번지)?"
_EUPMYEON = r"(?:[가-힣]{1,5}(?:읍|면)\s?)?"
_MEASURE_AFTER = r"(?!(?:주|일|회|개월|년|세|시간|분|차|번째|mg|mL|ml|cc|%|kg|cm|mm|단계|기|점|배|정|T|C|정도))"
_BUILDING = (
    r"(?:,?\s?[가-힣A-Za-z0-9]{0,15}(?:아파트|빌라|맨션|오피스텔|타워|빌딩|하이츠|APT|apt)?\s?"
    r"(?:\d{1,4}동\s?)?\d{1,5}호)?"
)
_DONG_NOTE = r"(?:\s?\([가-힣0-9]{1,10}(?:동|리|가)?(?:,\s?[가-힣A-Za-z0-9 ]{1,20})?\))?"
ADDRESS = re.compile(
    r"(?=[가-힣])"  # every match starts with a Hangul syllable: the engine passes over the rest quickly
    + r"(?<![가-힣])(?:"
    + _PROVINCE
    + r"\s?"
    + _UNIT
    + r"{0,3}|"
    + _UNIT
    + r"{1,3})"
    + _EUPMYEON
    + r"(?:"
    + _ROAD
    + r"|"
    + _LOT
    + r")"
    + _MEASURE_AFTER
    + _NO_DIGIT_AFTER
    + _BUILDING
    + _DONG_NOTE
)

# Type name -> (pattern, group holding the value: 0 = the whole match, None = the first group that matched).
SHAPED = {
    "RRN": (RRN, 0),
    "PHONE": (PHONE, 0),
    "EMAIL": (EMAIL, 0),
    "URL": (URL, 0),
    "IP_ADDRESS": (IP_ADDRESS, 0),
    "CARD": (CARD, 0),
    "ACCOUNT": (ACCOUNT, 1),
    "PATIENT_ID": (PATIENT_ID_BRANCHES, None),
    "BIRTH_DATE": (BIRTH_DATE_BRANCHES, None),
    "ADDRESS": (ADDRESS, 0),
}


# A cheap test of the whole text before a pattern runs: no "@", no e-mail; each test holds for
# every text the pattern matches in.
_GUARDS = {
    "EMAIL": lambda text: "@" in text,
    "URL": lambda text: "http" in text or "www." in text,
    "ACCOUNT": lambda text: "계좌" in text,
    "IP_ADDRESS": _search(r"\d\.\d{1,3}\.\d{1,3}\.\d", "."),
}
# Patterns tried only near what every match holds (an address holds "…로 12" or "…동 12"): the
# text around each such anchor, not every position of the text.
# A number of six digits or more (separators allowed): resident numbers, phones and cards all are,
# so those three run only around such numbers, found once per text.
_LONG_NUMBER = (re.compile(r"\d(?:[ \-.)(]{0,3}\d){5,}"), 6, 8)
_ANCHORS = {
    "ADDRESS": (re.compile(r"(?:로|길|동|리|가)\s?\d"), 60, 70),
    "RRN": _LONG_NUMBER,
    "PHONE": _LONG_NUMBER,
    "CARD": _LONG_NUMBER,
}


def windows(text: str, anchor: re.Pattern, before: int, after: int) -> list[tuple[int, int]]:
    """Merged (start, end) windows of ``before``/``after`` characters around each ``anchor`` match."""
    los: list[int] = []
    his: list[int] = []
    for hit in anchor.finditer(text):
        lo, hi = hit.span()
        if his and lo - before <= his[-1]:  # unclamped bounds merge the same windows as clamped ones
            if hi + after > his[-1]:
                his[-1] = hi + after
        else:
            los.append(lo - before)
            his.append(hi + after)
    if not los:
        return []
    size = len(text)
    return [(lo if lo > 0 else 0, hi if hi < size else size) for lo, hi in zip(los, his)]


def finditer_near(pattern: re.Pattern, text: str, anchor: re.Pattern, before: int, after: int, near=None):
    """``pattern.finditer`` restricted to the :func:`windows` around ``anchor`` (or the given
    ``near`` windows); look-behinds still see the text before a window. A match is cut at its
    window's end, so windows must be wider than any match the pattern can make."""
    for lo, hi in near if near is not None else windows(text, anchor, before, after):
        yield from pattern.finditer(text, lo, hi)


def shaped_spans(text: str, types: set[str], all_dates: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, type) of every shaped identifier of `types` in `text` (overlaps allowed)."""
    spans, near = [], {}
    for name, (pattern, group) in SHAPED.items():
        if name not in types or (name in _GUARDS and not _GUARDS[name](text)):
            continue
        if isinstance(pattern, Branches):
            pattern = pattern.for_text(text)
            if pattern is None:
                continue
        if name in _ANCHORS:
            anchor = _ANCHORS[name]
            if anchor not in near:
                near[anchor] = windows(text, *anchor)
            matches = finditer_near(pattern, text, *anchor, near=near[anchor])
        else:
            matches = pattern.finditer(text)
        for match in matches:
            if group is None:  # the alternative that matched: each holds one group
                start, end = match.span(next(g for g in range(1, match.lastindex + 1) if match.group(g) is not None))
            else:
                start, end = match.span(group)
            end = _trim(text, start, end)
            if end > start:
                spans.append((start, end, name))
    if all_dates and "DATE" in types:
        spans.extend((m.start(), _trim(text, m.start(), m.end()), "DATE") for m in DATE.finditer(text))
    return spans


_DOTTED_DATE = re.compile(r"\d{2,4}\. ?\d{1,2}\. ?\d{1,2}$")


def _trim(text: str, start: int, end: int) -> int:
    """Drop trailing spaces and dots a pattern may have taken (the sentence's own full stop), but
    keep the dot that ends a date written "1987. 8. 13." (it is part of that form)."""
    while end > start and text[end - 1] in " .,":
        end -= 1
    if text[end : end + 1] == "." and _DOTTED_DATE.search(text, start, end):
        end += 1
    return end
