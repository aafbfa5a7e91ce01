"""Evaluation overlap: which items of an evaluation file also occur in the sentence corpus.

``kmb corpus overlap FILE...`` reads each evaluation file (the formats ``kmb evaluate`` reads, plus
plain text and JSON lines with a ``text`` field), indexes its items (a sentence, or both sides of an
STS/NLI pair) and streams ``corpus/sentences/*.parquet`` once, in batches, against that index. An
item overlaps when one of its texts

- equals a corpus sentence after :func:`normalise_for_match` (NFC, white space collapsed and
  stripped): kind ``exact``;
- equals one with all white space removed (:func:`spaceless`), a copy whose spacing changed:
  kind ``spacing``;
- shares a span of :data:`NGRAM_CHARS` consecutive characters of the space-free text with a corpus
  sentence (a copy inside a longer sentence, a cut or extended copy): kind ``span``. An item or a
  sentence shorter than that can only match exactly. The length was chosen by measurement
  (``benchmarks/bench_overlap.py --choose-n``, docs/corpus.md "Evaluation overlap").

Memory is the index (a few hundred bytes per item) plus one batch of sentences: the corpus is never
held in memory. Exact keys are dict look-ups; the n-grams of a batch are hashed all at once in
numpy (64-bit polynomial fold, MurmurHash3's finaliser) and looked up in the sorted array of the
items' n-gram hashes, so the work is linear in corpus characters, never corpus x items. A hash
hit is confirmed on the text before an item is reported.

The public pieces are meant for reuse (a later decontaminating build step): :func:`read_eval_items`,
:class:`OverlapIndex` (``match_batch`` returns which sentences of a batch overlap any item) and
:func:`corpus_overlap`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kmb.corpus.eval_items import (  # noqa: F401  (re-exported: the matching rules and readers in one place)
    EVAL_FORMATS,
    EvalFile,
    EvalItem,
    detect_format,
    normalise_for_match,
    read_eval_items,
    spaceless,
)
from kmb.errors import KmbError

NGRAM_CHARS = 20
SAMPLE_SIZE = 5
BATCH_ROWS = 32_768
KINDS = ("exact", "spacing", "span")  # best first
_FOLD = np.uint64(0x9E3779B97F4A7C15)


# --- the index ----------------------------------------------------------------------------------
def ngram_hashes(points: np.ndarray, size: int) -> np.ndarray:
    """A 64-bit hash of every window of ``size`` code points in ``points`` (uint64), in numpy."""
    count = len(points) - size + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    folded = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(size):
            folded = folded * _FOLD + points[offset : offset + count]
        folded ^= folded >> np.uint64(33)
        folded *= np.uint64(0xFF51AFD7ED558CCD)
        folded ^= folded >> np.uint64(33)
        folded *= np.uint64(0xC4CEB9FE1A85EC53)
        folded ^= folded >> np.uint64(33)
    return folded


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' code points in one uint64 array, and each text's start offset (plus the end)."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    return points, offsets


def windowed_hashes(texts: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, text index, start) of every ``size``-character window inside one of ``texts``."""
    points, offsets = _code_points(texts)
    hashes = ngram_hashes(points, size)
    if not len(hashes):
        return hashes, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: len(hashes)]
    starts = np.arange(len(hashes), dtype=np.int64)
    inside = starts + size <= offsets[owner + 1]
    return hashes[inside], owner[inside], starts[inside] - offsets[owner[inside]]


@dataclass
class Match:
    """The first (best) corpus sentence found for an item."""

    kind: str
    side: int
    doc_id: str
    sentence: str
    span: str = ""  # the shared characters, for kind "span"


@dataclass
class OverlapIndex:
    """Index of evaluation items; feed it corpus sentences in batches with :meth:`match_batch`.

    ``items`` keys are whatever the caller uses to name an item (here ``(file, number)``).
    """

    ngram: int = NGRAM_CHARS
    texts: dict[object, tuple[str, ...]] = field(default_factory=dict)
    matches: dict[object, Match] = field(default_factory=dict)

    def __post_init__(self):
        if self.ngram < 1:
            raise KmbError(f"the n-gram length must be at least 1, not {self.ngram}")
        self._exact: dict[str, list[tuple[object, int]]] = {}
        self._spaceless: dict[str, list[tuple[object, int]]] = {}
        # Every n-gram of every item side: hashes sorted, and beside each the side it comes from
        # (an index into _sides): 12 bytes per n-gram, no Python object per n-gram.
        self._sides: list[tuple[object, int]] = []
        self._gram_hashes = np.zeros(0, dtype=np.uint64)
        self._gram_sides = np.zeros(0, dtype=np.int32)

    def add(self, items: Iterable[tuple[object, Sequence[str]]]) -> None:
        """Add (key, texts) items (before the corpus is matched against them)."""
        squeezed_texts, owners = [], []
        for key, texts in items:
            self.texts[key] = tuple(texts)
            for side, text in enumerate(texts):
                self._exact.setdefault(normalise_for_match(text), []).append((key, side))
                squeezed = spaceless(text)
                self._spaceless.setdefault(squeezed, []).append((key, side))
                if len(squeezed) >= self.ngram:
                    squeezed_texts.append(squeezed)
                    owners.append((key, side))
        hashes, owner, _ = windowed_hashes(squeezed_texts, self.ngram)
        hashes = np.concatenate([self._gram_hashes, hashes])
        sides = np.concatenate([self._gram_sides, (owner + len(self._sides)).astype(np.int32)])
        self._sides.extend(owners)
        order = np.argsort(hashes, kind="stable")
        self._gram_hashes, self._gram_sides = hashes[order], sides[order]

    def _record(self, key: object, match: Match) -> None:
        old = self.matches.get(key)
        if old is None or KINDS.index(match.kind) < KINDS.index(old.kind):
            self.matches[key] = match

    def match_batch(self, texts: Sequence[str], doc_ids: Sequence[str] | None = None) -> np.ndarray:
        """Look one batch of corpus sentences up; record each item's best match; return a boolean
        array: which of ``texts`` overlap some item (for a step that drops them)."""
        doc_ids = doc_ids if doc_ids is not None else [""] * len(texts)
        hit = np.zeros(len(texts), dtype=bool)
        squeezed = []
        for index, text in enumerate(texts):
            normal = normalise_for_match(text)
            compact = normal.replace(" ", "")
            squeezed.append(compact)
            for kind, owners in (("exact", self._exact.get(normal)), ("spacing", self._spaceless.get(compact))):
                if owners:
                    hit[index] = True
                    for key, side in owners:
                        self._record(key, Match(kind, side, doc_ids[index], text))
        if len(self._gram_hashes):
            self._match_spans(squeezed, texts, doc_ids, hit)
        return hit

    def _match_spans(self, squeezed: list[str], texts: Sequence[str], doc_ids: Sequence[str], hit: np.ndarray) -> None:
        hashes, owner, start = windowed_hashes(squeezed, self.ngram)
        grams = self._gram_hashes
        where = np.searchsorted(grams, hashes)
        where[where == len(grams)] = 0
        found = np.flatnonzero(grams[where] == hashes)
        if not len(found):
            return
        hit[owner[found]] = True
        unique, first = np.unique(hashes[found], return_index=True)
        for value, position in zip(unique.tolist(), found[first].tolist()):
            sentence = int(owner[position])
            span = squeezed[sentence][int(start[position]) : int(start[position]) + self.ngram]
            left = int(where[position])
            right = int(np.searchsorted(grams, np.uint64(value), side="right"))
            for index in dict.fromkeys(self._gram_sides[left:right].tolist()):
                key, side = self._sides[index]
                if key not in self.matches and span in spaceless(self.texts[key][side]):  # not a collision
                    self._record(key, Match("span", side, doc_ids[sentence], texts[sentence], span))


# --- the command --------------------------------------------------------------------------------
@dataclass
class OverlapOptions:
    """Options of ``kmb corpus overlap``; the CLI's defaults are these."""

    format: str = "auto"
    ngram: int = NGRAM_CHARS
    sample: int = SAMPLE_SIZE
    batch_rows: int = BATCH_ROWS


@dataclass
class OverlapReport:
    ngram: int
    corpus_files: int
    corpus_sentences: int
    files: list[dict]

    def to_json(self) -> dict:
        return {
            "ngram": self.ngram,
            "corpus": {"files": self.corpus_files, "sentences": self.corpus_sentences},
            "files": self.files,
        }

    def table(self) -> list[str]:
        """The report as aligned lines: one row per file, then each file's sample."""
        header = ("file", "format", "items", "overlapping", "share", "exact", "spacing", "span")
        rows = [header] + [
            (
                str(f["path"]),
                f["format"],
                f"{f['items']:,}",
                f"{f['overlapping']:,}",
                f"{f['share']:.1%}",
                *(f"{f['by_kind'][k]:,}" for k in KINDS),
            )
            for f in self.files
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            f"corpus overlap: {self.corpus_sentences:,} corpus sentences, spans of {self.ngram} characters",
        ]
        lines += [
            "  " + "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in rows
        ]
        for f in self.files:
            for s in f["sample"]:
                where = f"line {s['line']}" if s["line"] else f"item {s['item']}"
                lines.append(f"  {f['path']} {where} [{s['kind']}]: {s['text']}")
                lines.append(f"      corpus {s['doc_id']}: {s['corpus_sentence']}")
        return lines


def _file_summary(eval_file: EvalFile, index: OverlapIndex, file_no: int, sample: int) -> dict:
    by_kind = dict.fromkeys(KINDS, 0)
    found = []
    for item in eval_file.items:
        match = index.matches.get((file_no, item.number))
        if match is None:
            continue
        by_kind[match.kind] += 1
        if len(found) < sample:
            found.append(
                {
                    "item": item.number,
                    "line": item.line,
                    "side": match.side,
                    "text": item.texts[match.side],
                    "kind": match.kind,
                    "doc_id": match.doc_id,
                    "corpus_sentence": match.sentence,
                    **({"span": match.span} if match.span else {}),
                }
            )
    overlapping = sum(by_kind.values())
    return {
        "path": str(eval_file.path),
        "format": eval_file.format,
        "items": len(eval_file.items),
        "overlapping": overlapping,
        "share": overlapping / len(eval_file.items),
        "by_kind": by_kind,
        "sample": found,
    }


def scan_corpus(files: Sequence[Path], index: OverlapIndex, batch_rows: int = BATCH_ROWS) -> int:
    """Stream the sentences of ``files`` (corpus parts) through ``index`` in batches; returns the count."""
    import pyarrow.parquet as pq

    from kmb.stored_parquet import parquet_footer

    for part in files:
        parquet_footer(part)  # a damaged part is one line before any work
    total = 0
    for part in files:
        for batch in pq.ParquetFile(part).iter_batches(columns=["doc_id", "text"], batch_size=batch_rows):
            texts = batch.column(1).to_pylist()
            index.match_batch(texts, batch.column(0).to_pylist())
            total += len(texts)
    return total


def corpus_overlap(workspace, paths: Sequence[str | Path], options: OverlapOptions | None = None) -> OverlapReport:
    """How many items of each evaluation file in ``paths`` occur in the workspace's corpus.

    Read-only: every file is read and checked first (a bad one is a KmbError before the corpus is
    touched), then the corpus is read once for all files together.
    """
    options = options or OverlapOptions()
    if options.format not in EVAL_FORMATS:
        raise KmbError(f"unknown evaluation format {options.format!r} (choose {', '.join(EVAL_FORMATS)})")
    if not paths:
        raise KmbError("name at least one evaluation file")
    if options.sample < 0:
        raise KmbError(f"--sample must be 0 or more, not {options.sample}")
    index = OverlapIndex(ngram=options.ngram)
    eval_files = [read_eval_items(path, options.format) for path in paths]
    parts = workspace.sentence_files()
    for file_no, eval_file in enumerate(eval_files):
        index.add(((file_no, item.number), item.texts) for item in eval_file.items)
    sentences = scan_corpus(parts, index, options.batch_rows)
    summaries = [_file_summary(f, index, n, options.sample) for n, f in enumerate(eval_files)]
    return OverlapReport(options.ngram, len(parts), sentences, summaries)
