"""Step 4 of the corpus build: drop sentences that carry no language.

The paper removed "meaningless sentences, such as sentences that were extremely short and only
human names". Each rule has a name (counted in the build report) and a threshold in
:class:`FilterConfig`; :func:`reject_reason` returns the first rule a sentence fails, or None.

Defaults and why:
- ``min_chars=8``: shorter than a minimal Korean clause ("열이 났다." is 6); mostly fragments.
- ``max_chars=1000``: longer runs are tables or lists that lost their line breaks.
- ``min_hangul_share=0.4``: share of Hangul syllables among non-space characters; medical text mixes
  in English terms and numbers ("COVID-19 mRNA 백신"), so the bar is well below half.
- names only: every word looks like a Korean name (surname + 1-3 syllables), e.g. a staff list.
- no letters: only numbers, symbols and punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kmb.errors import KmbError

FILTER_RULES = ("too_short", "too_long", "no_letters", "low_hangul", "names_only")

# The most common Korean surnames (covering about 95% of people).
_SURNAMES = set(
    "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구나민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감음빈동온호범좌팽승간상갈단견당"
)
_NAME_WORD = re.compile(r"^[가-힣]{2,4}[,·]?$")
_HANGUL = re.compile(r"[가-힣]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class FilterConfig:
    min_chars: int = 8
    max_chars: int = 1000
    min_hangul_share: float = 0.4
    drop_names_only: bool = True

    def __post_init__(self):
        # Checked on construction: a bad threshold stops the build before it writes anything.
        if self.min_chars < 0:
            raise KmbError(f"--min-chars must be >= 0, got {self.min_chars}")
        if self.max_chars < max(self.min_chars, 1):
            raise KmbError(f"--max-chars must be >= 1 and >= --min-chars ({self.min_chars}), got {self.max_chars}")
        if not 0.0 <= self.min_hangul_share <= 1.0:
            raise KmbError(f"--min-hangul must be in [0, 1], got {self.min_hangul_share}")


def reject_reason(sentence: str, config: FilterConfig = FilterConfig()) -> str | None:
    """The name of the first filter rule ``sentence`` fails, or None to keep it."""
    n = len(sentence)
    if n < config.min_chars:
        return "too_short"
    if n > config.max_chars:
        return "too_long"
    if not _LETTER.search(sentence):
        return "no_letters"
    visible = n - sentence.count(" ")
    if len(_HANGUL.findall(sentence)) < config.min_hangul_share * visible:
        return "low_hangul"
    if config.drop_names_only and is_names_only(sentence):
        return "names_only"
    return None


def is_names_only(sentence: str) -> bool:
    """True for a run of two or more words that each look like a Korean personal name."""
    words = sentence.split()
    if len(words) < 2:
        return False
    return all(_NAME_WORD.match(w) and w[0] in _SURNAMES and not w.rstrip(",·").endswith("다") for w in words)
