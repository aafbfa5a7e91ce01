"""Find every identifier in one text and replace it: the de-identification of one document.

:func:`find_identifiers` runs the shaped patterns (``patterns``) and the name finder (``names``),
then keeps one span where spans overlap (the longer; at equal length the earlier type in
:data:`TYPES`). :func:`deidentify` replaces each span by a typed placeholder (``[NAME]``,
``[PHONE]`` ...) or, with ``surrogates``, by a realistic made-up value that is the same for the
same original within one document. Offsets always refer to the original text.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from kmb.deid.names import name_spans
from kmb.deid.patterns import shaped_spans
from kmb.errors import KmbError

# Every type kmb finds, in order of precedence where two spans of equal length overlap.
TYPES = (
    "RRN",
    "PHONE",
    "EMAIL",
    "PATIENT_ID",
    "BIRTH_DATE",
    "ADDRESS",
    "NAME",
    "URL",
    "IP_ADDRESS",
    "CARD",
    "ACCOUNT",
    "DATE",
)
DEFAULT_TYPES = tuple(t for t in TYPES if t != "DATE")  # dates other than birth dates stay by default
PLACEHOLDERS = {t: f"[{t}]" for t in TYPES}
_RANK = {t: i for i, t in enumerate(TYPES)}


@dataclass(frozen=True)
class DeidConfig:
    types: tuple[str, ...] = DEFAULT_TYPES
    surrogates: bool = False  # realistic made-up values instead of [TYPE] placeholders
    not_names: frozenset[str] = field(default_factory=frozenset)  # extra words never taken for names

    @property
    def all_dates(self) -> bool:
        return "DATE" in self.types


def make_config(
    types: tuple[str, ...] | None = None,
    all_dates: bool = False,
    surrogates: bool = False,
    not_names_file: str | Path | None = None,
) -> DeidConfig:
    """A checked :class:`DeidConfig` from the command line's values (unknown types are an error)."""
    chosen = tuple(types) if types else DEFAULT_TYPES
    unknown = [t for t in chosen if t not in TYPES]
    if unknown:
        raise KmbError(f"unknown identifier type(s) {', '.join(unknown)}; kmb knows {', '.join(TYPES)}")
    if all_dates and "DATE" not in chosen:
        chosen += ("DATE",)
    return DeidConfig(types=chosen, surrogates=surrogates, not_names=read_word_list(not_names_file))


def read_word_list(path: str | Path | None) -> frozenset[str]:
    """Words, one per line (# comments), e.g. a term list: never taken for names."""
    if path is None:
        return frozenset()
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise KmbError("no such file", path=path) from None
    except UnicodeDecodeError:
        raise KmbError("not UTF-8 text", path=path) from None
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@dataclass
class Deidentified:
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, type) in the original text


def find_identifiers(text: str, config: DeidConfig = DeidConfig()) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) spans of every identifier in `text`, in text order."""
    types = config.types
    spans = shaped_spans(text, types, all_dates=config.all_dates)
    if "NAME" in types:
        spans.extend(name_spans(text, config.not_names))
    spans.sort()
    if all(a[1] <= b[0] for a, b in zip(spans, spans[1:])):
        return spans  # no two overlap (the usual case): all are kept
    spans.sort(key=lambda s: (s[0] - s[1], _RANK[s[2]], s[0]))
    # Longest first: a span overlapping a kept one is dropped. Kept spans never overlap, so in
    # start order their ends are in order too: only the neighbours of a new span can overlap it.
    starts: list[int] = []
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        i = bisect_right(starts, span[0])
        if (i and kept[i - 1][1] > span[0]) or (i < len(kept) and kept[i][0] < span[1]):
            continue
        starts.insert(i, span[0])
        kept.insert(i, span)
    return kept


def deidentify(text: str, config: DeidConfig = DeidConfig(), document_key: str = "") -> Deidentified:
    """`text` with each identifier replaced; `document_key` seeds the surrogates of one document."""
    spans = find_identifiers(text, config)
    if not spans:
        return Deidentified(text, spans)
    surrogate = Surrogates(document_key) if config.surrogates else None
    pieces, last = [], 0
    for start, end, kind in spans:
        pieces.append(text[last:start])
        pieces.append(surrogate.value(kind, text[start:end]) if surrogate else PLACEHOLDERS[kind])
        last = end
    pieces.append(text[last:])
    return Deidentified("".join(pieces), spans)


_FAKE_SURNAMES = "김이박최정강조윤장임한오서신권황안송"
_FAKE_GIVEN = (
    "서준",
    "하은",
    "도윤",
    "지우",
    "시우",
    "서연",
    "민준",
    "하린",
    "예준",
    "수아",
    "주원",
    "지아",
    "은우",
    "채원",
    "건우",
    "윤서",
    "현우",
    "다은",
    "우진",
    "소율",
)
_FAKE_ROADS = ("가상로", "예시로", "샘플길", "모의대로", "연습로")


class Surrogates:
    """Made-up values, the same for the same original within one document (so "김민수 ... 김민수"
    stays one person), different across documents. Surrogate numbers use ranges never issued
    (010-0000-xxxx, RRN birth month 00) so they cannot be somebody's."""

    def __init__(self, document_key: str):
        self.document_key = document_key
        self.given: dict[tuple[str, str], str] = {}

    def value(self, kind: str, original: str) -> str:
        key = (kind, original)
        if key not in self.given:
            digest = hashlib.blake2b(f"{self.document_key}\0{kind}\0{original}".encode(), digest_size=8).digest()
            self.given[key] = self._make(kind, random.Random(digest), len(self.given))
        return self.given[key]

    @staticmethod
    def _make(kind: str, rng: random.Random, n: int) -> str:
        digits = lambda k: "".join(rng.choice("0123456789") for _ in range(k))  # noqa: E731
        if kind == "NAME":
            return rng.choice(_FAKE_SURNAMES) + rng.choice(_FAKE_GIVEN)
        if kind == "PHONE":
            return f"010-0000-{digits(4)}"
        if kind == "RRN":
            return f"{digits(2)}0000-{rng.choice('1234')}{digits(6)}"
        if kind == "EMAIL":
            return f"user{digits(4)}@example.com"
        if kind == "ADDRESS":
            return f"가상시 예시구 {rng.choice(_FAKE_ROADS)} {rng.randint(1, 300)}"
        if kind == "PATIENT_ID":
            return f"X{digits(7)}"
        if kind in ("BIRTH_DATE", "DATE"):
            return f"19{rng.randint(30, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return PLACEHOLDERS[kind]  # URLs, IPs, cards, accounts: no natural stand-in is needed
