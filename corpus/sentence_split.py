"""Sentence splitting: kss where it is needed, a cheap rule where the boundary is unambiguous.

kss (Korean Sentence Splitter) is accurate but slow: it examines every character in Python,
about 700-900 sentences/s per core on real prose, and ``import kss`` alone takes 8-10 s. Most
boundaries in news and papers are not hard at all: a Hangul syllable and ``.`` (or ``까?``,
``죠?``) followed by a space and the start of a sentence (a Hangul syllable, a Latin letter, a
digit, an opening quote or bracket), outside any quote or bracket, is a sentence end where kss's
punct backend splits too, bar its few exceptions (see ``_CHEAP_BOUNDARY``). So
:class:`SentenceSplitter` does this:

1. a document is split into paragraphs at ``\\n`` (paragraphs are structural boundaries; the
   reference kss run gets the same paragraphs);
2. a paragraph is cut at those cheap boundaries into *pieces*;
3. a piece that contains nothing that could hide another boundary (no other ``.?!``, quotes,
   brackets, or a syllable that can end a sentence without punctuation, followed by a space) is one
   sentence, with no morphological analysis;
4. every other piece goes to kss (loaded only then, once per process), through
   :mod:`kmb.corpus.kss_punct`, which gives kss's exact output without its dead work.

The result agrees with plain kss on >= 99 % of boundaries (measured in
``benchmarks/bench_corpus.py`` and tested) at several times its speed. A piece longer than
``max_piece_chars`` (one enormous line) is cut after any ``.?!`` into chunks that fit before it
goes to kss, which would take minutes on it whole; a chunk with no punctuation at all that is still
too long is not a sentence anyone wants (a table dump, a run of numbers): it is counted in
``SplitResult.too_long`` and dropped.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from kmb.corpus.kss_punct import load_split

DEFAULT_BACKEND = "punct"  # chosen by the accuracy/speed comparison in docs/corpus.md
DEFAULT_MAX_PIECE_CHARS = 3000

# A cheap boundary: a Hangul syllable and a full stop, or 까?/죠? (and any citation marks such as
# [1][2] after it), then whitespace, then what starts the next sentence: a Hangul syllable, a Latin
# letter, a digit or an opening quote or bracket. kss's punct backend splits at every such place
# except (its exceptions 7 and 8) where the next character is followed by a "." ("3. 다음") or the
# next word continues the clause ("에서", "라서", "하여서" ...), so those are left to kss. Its other
# exceptions need morpheme tags the punct backend does not produce, or a Latin abbreviation, or a
# number before the stop ("3항.", left to kss here). A stop after a noun ("레드벨벳. 이번") counts:
# on recombined and real Wikinews it cut 6% of kss's pieces at unchanged agreement.
_NEXT_CONTINUES = "시피|거나|의 |에[서선는]|에도 |라(?:서|는|도 |던|지만|고|건|거나|며|면서)|하(?:여서|여도|였|고는 |고서 |곤 |다는|는데\\.|며)|할텐데"
_CHEAP_BOUNDARY = re.compile(
    r"(?<!\.)(?:[가-힣]\.|[까죠]\?)(?<!\d[항조호절목권쪽장]\.)(?:\[\d{1,3}\])*[ \t]+"
    r"(?=[가-힣A-Za-z0-9(\[“‘\"'][ \t]*[^.\s])(?!\[\d)"  # " [3]" after a space stays with its sentence
    rf"(?![(\[“‘\"']*(?:{_NEXT_CONTINUES}))"
)
# Characters that make a piece worth asking kss about: more sentence punctuation. Quotes and
# brackets alone are harmless (kss never splits inside them), and a decimal point is not a boundary.
_RISKY_CHARS = re.compile(r"[.?!…;]")
_FINAL_PUNCTUATION = re.compile(r"[.?!](?:\[\d{1,3}\])*$")  # the piece's own end, citations included
_ANY_END = re.compile(r"(?<=[.?!…])\s+")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
# A syllable that can end a sentence without final punctuation, followed by a space: backends that
# analyse morphemes (mecab, pecab) split there, the punct backend never does. Conservative on
# purpose: a false alarm only costs a kss call.
_OPEN_ENDING = re.compile(r"[다요죠까니함음됨임][ \t]")
# Quote and bracket characters whose balance decides whether a cheap boundary is at the top level.
_OPENERS = "([{<「『〈《“‘"
_CLOSERS = ")]}>」』〉》”’"
_NESTING = re.compile(r"[(\[{<「『〈《“‘)\]}>」』〉》”’\"']")


@dataclass
class SplitResult:
    """The sentences of one document and how they were found."""

    sentences: list[str] = field(default_factory=list)
    fast_pieces: int = 0  # pieces taken as one sentence without kss
    kss_pieces: int = 0  # pieces sent to kss
    too_long: int = 0  # pieces dropped because they exceeded max_piece_chars


class SentenceSplitter:
    """Split documents into sentences; kss is imported lazily, only if a piece needs it.

    ``fast_path=False`` sends every paragraph to kss (the reference behaviour the benchmark
    compares against).
    """

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        fast_path: bool = True,
        max_piece_chars: int = DEFAULT_MAX_PIECE_CHARS,
        accelerate_kss: bool = True,
    ):
        self.backend = backend
        self.fast_path = fast_path
        self.max_piece_chars = max_piece_chars
        self.accelerate_kss = accelerate_kss  # kss_punct's same-output shortcuts (punct backend)
        self._kss_split = None
        self.import_seconds = 0.0  # spent importing kss once per process, not splitting

    # --- public ---------------------------------------------------------------------------
    def split(self, text: str) -> SplitResult:
        result = SplitResult()
        paragraphs = [p.strip() for p in text.split("\n")]
        paragraphs = [p for p in paragraphs if p]
        if not self.fast_path:
            result.kss_pieces = len(paragraphs)
            for sentences in self._kss(paragraphs):
                result.sentences.extend(sentences)
            return result
        hard: list[tuple[int, str]] = []  # (position in result.sentences, piece) for kss
        for paragraph in paragraphs:
            for piece in cheap_pieces(paragraph):
                if len(piece) > self.max_piece_chars and not _ANY_END.search(piece):
                    result.too_long += 1  # no punctuation in thousands of characters: not prose
                elif is_plain_piece(piece, self.backend):
                    result.sentences.append(piece)
                    result.fast_pieces += 1
                else:
                    for chunk in self._chunks(piece):
                        if len(chunk) > self.max_piece_chars:
                            result.too_long += 1
                            continue
                        hard.append((len(result.sentences), chunk))
                        result.sentences.append("")  # placeholder, filled below
                        result.kss_pieces += 1
        if hard:
            # One kss call for all hard pieces of the document: fewer calls, same output.
            split_hard = self._kss([piece for _, piece in hard])
            filled: list[str] = []
            hard_at = {pos: i for i, (pos, _) in enumerate(hard)}
            for pos, sentence in enumerate(result.sentences):
                if pos in hard_at:
                    filled.extend(split_hard[hard_at[pos]])
                else:
                    filled.append(sentence)
            result.sentences = filled
        result.sentences = [s for s in result.sentences if s.strip()]
        return result

    def _chunks(self, piece: str) -> list[str]:
        """A piece too long for kss is cut after any final punctuation into chunks that fit."""
        if len(piece) <= self.max_piece_chars:
            return [piece]
        chunks, current = [], ""
        for part in _ANY_END.split(piece):
            if current and len(current) + 1 + len(part) > self.max_piece_chars:
                chunks.append(current)
                current = part
            else:
                current = f"{current} {part}" if current else part
        if current:
            chunks.append(current)
        return chunks

    # --- kss ------------------------------------------------------------------------------
    def _kss(self, pieces: list[str]) -> list[list[str]]:
        if not pieces:
            return []
        if self._kss_split is None:
            started = time.perf_counter()
            self._kss_split, _ = load_split(self.backend, self.accelerate_kss)
            self.import_seconds += time.perf_counter() - started
        return [[s.strip() for s in sentences if s.strip()] for sentences in self._kss_split(pieces)]


def cheap_pieces(paragraph: str) -> list[str]:
    """Cut a paragraph at unambiguous boundaries that are outside quotes and brackets.

    A closing quote or bracket with no opener before it, or an odd straight quote, makes kss
    regroup the sentences before it (on recombined Wikinews every disagreement with kss was in
    such a paragraph), so the paragraph up to the end of that sentence stays one piece, for kss.
    """
    trouble_end = _last_unmatched(paragraph)
    if trouble_end < 0:
        return _cut_at_cheap_boundaries(paragraph)
    for match in _CHEAP_BOUNDARY.finditer(paragraph, trouble_end):
        cut = match.start() + len(match.group(0).rstrip())
        return [paragraph[:cut].strip()] + _cut_at_cheap_boundaries(paragraph[match.end() :])
    return [paragraph.strip()] if paragraph.strip() else []


def _last_unmatched(paragraph: str) -> int:
    """End of the last closer without an opener (or of the last straight quote, when their
    number is odd); -1 when there is none."""
    depth, last, straight = 0, -1, []
    for match in _NESTING.finditer(paragraph):
        ch = match.group()
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            if depth == 0:
                last = match.end()
            depth = max(depth - 1, 0)
        else:
            straight.append(match.end())
    if len(straight) % 2:
        last = max(last, straight[-1])
    return last


def _cut_at_cheap_boundaries(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    depth = 0  # bracket/quote nesting of paragraph[:scan]
    straight_quotes = 0  # " and ' do not tell opening from closing: count parity
    scan = 0
    for match in _CHEAP_BOUNDARY.finditer(paragraph):
        for ch in _NESTING.findall(paragraph, scan, match.start()):
            if ch in _OPENERS:
                depth += 1
            elif ch in _CLOSERS:
                depth = max(depth - 1, 0)
            else:
                straight_quotes += 1
        scan = match.start()
        if depth == 0 and straight_quotes % 2 == 0:
            cut = match.start() + len(match.group(0).rstrip())
            pieces.append(paragraph[start:cut])
            start = match.end()
    pieces.append(paragraph[start:])
    return [p.strip() for p in pieces if p.strip()]


def is_plain_piece(piece: str, backend: str = DEFAULT_BACKEND) -> bool:
    """True when a piece is certainly one sentence: nothing inside could be another boundary."""
    body = _FINAL_PUNCTUATION.sub("", piece)
    body = _DECIMAL.sub("", body)
    if _RISKY_CHARS.search(body):
        return False
    return backend == "punct" or not _OPEN_ENDING.search(body)


def boundary_offsets(sentences: list[str]) -> set[int]:
    """Sentence-end positions counted in non-whitespace characters (kss may change spacing)."""
    ends, position = set(), 0
    for sentence in sentences:
        position += len("".join(sentence.split()))
        ends.add(position)
    return ends


def boundary_agreement(ours: list[list[str]], reference: list[list[str]]) -> float:
    """Shared boundaries / all boundaries (Jaccard over sentence-end offsets), over documents."""
    shared = union = 0
    for a, b in zip(ours, reference):
        ea, eb = boundary_offsets(a), boundary_offsets(b)
        shared += len(ea & eb)
        union += len(ea | eb)
    return shared / union if union else 1.0
