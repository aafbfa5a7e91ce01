"""Step 2b of the corpus build: drop whole documents that are repetitive spam or not Korean prose.

After FineWeb2's Korean configuration (``configs/kor_Hang.yml`` in huggingface/fineweb-2, applied
through datatrove's GopherRepetitionFilter, FineWebQualityFilter and GopherQualityFilter). Each
rule has a name (counted in the build report, and written as the ``dropped`` reason in
corpus/documents) and a threshold in :class:`DocumentFilterConfig`; ``None`` turns a rule off.
:func:`document_reject_reason` returns the first rule a document fails, or None.

The text is the build's normalised, cleaned text: one paragraph per line, no empty lines.

Rules, thresholds and where they come from:

- ``dup_line_frac`` (0.374, kor_Hang.yml): duplicate lines / all lines, ``>``.
- ``dup_line_char_frac`` (0.1, FineWeb2's FineWebQualityFilter ``char_duplicates_ratio``):
  characters in duplicate lines / characters of the text without newlines, ``>=``.
- ``dup_para_frac`` (off, as in FineWeb2; Gopher's value is 0.30): duplicate paragraphs (split at
  blank lines) / all paragraphs, ``>``. kmb's normalise drops blank lines, so in a build every
  document is one paragraph and the line rule does this work; set it for text that keeps them.
- ``top_{2,3,4}_gram`` (0.282 / 0.228 / 0.185, kor_Hang.yml): characters covered by the most
  frequent word n-gram (its length times its count) / characters of the text, ``>``. Unlike
  datatrove, an n-gram seen once is not counted: in a short document a single n-gram can cover a
  third of the text without anything repeating.
- ``dup_{5..10}_gram`` (0.201 / 0.184 / 0.168 / 0.154 / 0.14 / 0.127, kor_Hang.yml): characters in
  word n-grams that repeat an earlier one (scanning left to right, a repeat skips its n words, as
  datatrove does) / characters of the text, ``>``.
- The n-gram rules look only at documents of at least ``min_ngram_words`` (20) words, kmb's
  choice: FineWeb2 drops documents under 50 words outright (Gopher's ``min_doc_words``); kmb keeps
  short news items, where one repeated phrase ("충분히 길다" twice in 11 words) is a third of the
  text by chance. One sentence of 5 words pasted 6 times is 30 words, so such spam is still seen.
- ``few_stopwords`` (2, FineWeb2's GopherQualityFilter ``min_stop_words``): fewer than 2 Hangul
  words that are a function word (:data:`FUNCTION_WORDS`) or end in a particle or verb ending
  (:data:`ENDINGS`). FineWeb2 counts Kiwi morphemes (의, 다, 이, 는, 에 ...); kmb splits words
  at spaces, so it looks for those morphemes at the end of a word instead. Korean prose passes
  within its first sentence; keyword lists, tables and text in other languages do not.

Words are split at white space (eojeol). FineWeb2 tokenises Korean into morphemes, so its n-grams
are shorter; the thresholds are kept as published and their effect measured (docs/corpus.md).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate

from kmb.corpus.cleaning import CLINICAL_SOURCES, PAPER_SOURCES
from kmb.errors import KmbError

TOP_N_GRAMS = ((2, 0.282), (3, 0.228), (4, 0.185))
DUP_N_GRAMS = ((5, 0.201), (6, 0.184), (7, 0.168), (8, 0.154), (9, 0.14), (10, 0.127))
DOCUMENT_FILTER_RULES = (
    ("dup_line_frac", "dup_line_char_frac", "dup_para_frac")
    + tuple(f"top_{n}_gram" for n, _ in TOP_N_GRAMS)
    + tuple(f"dup_{n}_gram" for n, _ in DUP_N_GRAMS)
    + ("few_stopwords",)
)
# Papers and textbooks are edited text whose repetition is meant (a term defined and reused, a
# table of doses); clinical notes are short templated records. Neither is web spam.
UNFILTERED_SOURCES = tuple(sorted(PAPER_SOURCES | CLINICAL_SOURCES))

# Function words written as words of their own: pronouns, bound nouns, conjunctions, adverbs.
FUNCTION_WORDS = frozenset(
    "이 그 저 것 수 등 및 또는 그리고 그러나 하지만 또 또한 더 때 중 위해 대한 통해 따라 "
    "있다 없다 하다 한다 했다 된다 됐다 있는 없는 하는 되는 같은 이런 그런 이후 이상 이하".split()
)
# Particles and verb endings at the end of a word of two or more syllables.
ENDINGS = tuple("은 는 이 가 을 를 의 에 에서 으로 로 와 과 도 다 고 며 서".split())
_HANGUL_RUN = re.compile(r"[가-힣]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class DocumentFilterConfig:
    """The document rules and their thresholds (FineWeb2's Korean values); None turns one off."""

    enabled: bool = True
    skip_sources: tuple[str, ...] = UNFILTERED_SOURCES  # sources whose documents are never filtered
    dup_line_frac: float | None = 0.374
    dup_line_char_frac: float | None = 0.1
    dup_para_frac: float | None = None
    top_n_grams: tuple[tuple[int, float], ...] = TOP_N_GRAMS
    dup_n_grams: tuple[tuple[int, float], ...] = DUP_N_GRAMS
    min_ngram_words: int = 20
    min_stopwords: int = 2

    def __post_init__(self):
        for name in ("dup_line_frac", "dup_line_char_frac", "dup_para_frac"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise KmbError(f"document filter {name} must be in [0, 1] or None, got {value}")
        for n, share in self.top_n_grams + self.dup_n_grams:
            if n < 1 or not 0.0 <= share <= 1.0:
                raise KmbError(f"document filter n-gram ({n}, {share}) needs n >= 1 and a share in [0, 1]")
        if self.min_ngram_words < 0:
            raise KmbError(f"document filter min_ngram_words must be >= 0, got {self.min_ngram_words}")
        if self.min_stopwords < 0:
            raise KmbError(f"document filter min_stopwords must be >= 0, got {self.min_stopwords}")

    def applies_to(self, source: str) -> bool:
        return self.enabled and source not in self.skip_sources


# A longer document is judged on its first million characters: the word and n-gram counts of the
# whole would be the build's largest memory (1.7 GB for a 50 MB document), and repetition that
# matters shows in the first million as well.
MAX_CHARS = 1_000_000


def document_reject_reason(text: str, config: DocumentFilterConfig = DocumentFilterConfig()) -> str | None:
    """The name of the first document rule ``text`` fails, or None to keep it (source not checked)."""
    if not text:
        return None
    text = text[:MAX_CHARS]
    reason = _line_reason(text, config)
    if reason is None:
        reason = _ngram_reason(text, text.split(), config)
    if reason is None and config.min_stopwords and _stopwords(text, config.min_stopwords) < config.min_stopwords:
        reason = "few_stopwords"
    return reason


def _line_reason(text: str, config: DocumentFilterConfig) -> str | None:
    lines = text.split("\n")
    if len(lines) > 1:
        duplicates, duplicate_chars = _duplicates(lines)
        if config.dup_line_frac is not None and duplicates / len(lines) > config.dup_line_frac:
            return "dup_line_frac"
        share = duplicate_chars / max(len(text) - len(lines) + 1, 1)
        if config.dup_line_char_frac is not None and share >= config.dup_line_char_frac:
            return "dup_line_char_frac"
    if config.dup_para_frac is not None:
        paragraphs = _PARAGRAPH_BREAK.split(text.strip())
        if _duplicates(paragraphs)[0] / len(paragraphs) > config.dup_para_frac:
            return "dup_para_frac"
    return None


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(items equal to an earlier non-empty item, their characters)."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if not item.strip():
            continue
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _ngram_reason(text: str, words: list[str], config: DocumentFilterConfig) -> str | None:
    if len(words) < config.min_ngram_words or len(set(words)) == len(words):
        return None  # no word repeats, so no n-gram does: the common case, decided in C
    pairs = Counter(_grams(words, 2))
    repeats = len(words) - 1 - len(pairs)  # pairs of words that repeat an earlier pair
    if repeats == 0:
        return None  # no pair repeats, so no longer n-gram does
    bound = _Bound(len(text), max(map(len, words)), max(pairs.values()), repeats)
    return _top_ngram_reason(words, pairs, bound, config.top_n_grams) or _dup_ngram_reason(
        words, bound, config.dup_n_grams
    )


@dataclass(frozen=True)
class _Bound:
    """What caps every n-gram share of a text, so that most texts need no n-gram counted.

    An n-gram is at most n times the longest word long (with its spaces), occurs at most as often
    as the most frequent pair of words, and each of its repeats holds n - 1 repeated pairs."""

    total: int  # characters of the text
    longest: int  # characters of its longest word
    most: int  # occurrences of its most frequent pair of words
    repeats: int  # pairs that repeat an earlier pair

    def top(self, n: int, share: float) -> bool:
        return self.most * (n * self.longest + n - 1) > share * self.total

    def dup(self, n: int, share: float) -> bool:
        return self.repeats // max(n - 1, 1) * (n * self.longest + n - 1) > share * self.total


def _top_ngram_reason(words: list[str], pairs: Counter, bound: _Bound, top_n_grams: tuple) -> str | None:
    for n, share in sorted(top_n_grams):
        if n > 1 and not bound.top(n, share):
            continue
        gram, count = (pairs if n == 2 else Counter(_grams(words, n))).most_common(1)[0]
        if count >= 2 and (sum(map(len, gram)) + n - 1) * count / bound.total > share:
            return f"top_{n}_gram"
    return None


def _dup_ngram_reason(words: list[str], bound: _Bound, dup_n_grams: tuple) -> str | None:
    lengths = None
    for n, share in sorted(dup_n_grams):
        if not bound.dup(n, share):
            continue
        grams = _grams(words, n)
        if len(set(grams)) == len(grams):
            break  # no n-gram repeats, so no longer one does either
        first = dict(zip(reversed(grams), range(len(grams) - 1, -1, -1)))  # each n-gram's first position
        lengths = lengths or list(accumulate(map(len, words), initial=0))
        if _repeated_chars(grams, first, lengths, n) / bound.total > share:
            return f"dup_{n}_gram"
    return None


def _grams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(words[i:] for i in range(n))))


def _repeated_chars(grams: list[tuple], first: dict, lengths: list[int], n: int) -> int:
    """Characters in n-grams that repeat an earlier n-gram, left to right; a repeat skips its n
    words, as in datatrove's scan (which, unlike this one, forgets an n-gram first seen inside a
    skipped stretch)."""
    chars, free_from = 0, 0
    for idx in [i for i, gram in enumerate(grams) if first[gram] != i]:
        if idx >= free_from:
            chars += lengths[idx + n] - lengths[idx] + n - 1
            free_from = idx + n
    return chars


def _stopwords(text: str, enough: int) -> int:
    """Hangul words that are function words or end in a particle or ending, counted up to ``enough``."""
    found = 0
    for match in _HANGUL_RUN.finditer(text):
        word = match.group()
        if word in FUNCTION_WORDS or (len(word) >= 2 and word.endswith(ENDINGS)):
            found += 1
            if found >= enough:
                break
    return found
