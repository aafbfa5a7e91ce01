"""Readers of the evaluation files: NER (kmbert, conll, klue) and STS (korsts, medsts, klue);
classification files are read by ``classify_files``.

They live in corpus/ because both ``kmb corpus overlap``/``--decontaminate`` (corpus stage) and
``kmb evaluate`` (evaluation stage) read these files, and the flow runs corpus -> evaluation;
``kmb.evaluation.ner_data`` and ``kmb.evaluation.sts_data`` import them from here.

NER formats (each parsed into :class:`NerSentence` objects grouped by document):
- ``kmbert``: KM-BERT's files. One word per line, ``WORD MASK TAG`` separated by single spaces;
  MASK has one ``X``/``O`` per syllable of WORD (X inside the entity, O for a particle); a blank
  line between sentences; ``-DOCSTART-`` lines between documents.
- ``conll``: plain ``WORD TAG`` (whitespace separated), blank lines and ``-DOCSTART-`` the same way.
- ``klue``: KLUE-NER's character-level TSV. ``## `` comment lines, a ``## id<TAB>marked sentence``
  line opening each sentence, then ``CHAR<TAB>TAG`` per character (a space is its own line). The
  characters become the "words" (spaces dropped), so scores are character-level entity scores, as
  KLUE's own metric is. Each sentence is its own document.

Tags must be IOB2: ``O``, ``B-TYPE`` or ``I-TYPE``, and an ``I-TYPE`` must continue a ``B-TYPE`` or
``I-TYPE`` of the same type. Anything else is a :class:`KmbError` naming the file and line.

STS formats:
- ``korsts``: header ``genre filename year id score sentence1 sentence2``, split on tabs only
  (sentences contain quotes, so no CSV quoting rules apply).
- ``medsts``: KM-BERT's CSV in cp949 with a header row; column 1 ``train``/``test``, column 3 the
  score, columns 4 and 5 the sentences. ``--train`` keeps the ``train`` rows of its file and
  ``--test`` the ``test`` rows of its file (they may be the same file).
- ``klue``: KLUE-STS JSON, a list of objects with ``sentence1``, ``sentence2`` and
  ``labels.real-label`` (or ``labels.label``).

Every score must lie in 0-5; anything else is a KmbError with the file and line (or record).

"""

from __future__ import annotations

import csv
import json
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError


def tsv_rows(path: Path, header: Sequence[str], header_help: str, columns_help: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank line after the header; split on tabs only, no quoting.

    A first line other than ``header``, or a row with another number of cells, is a KmbError naming
    the file and line.
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if number == 1:
                if line.split("\t") != list(header):
                    raise KmbError(header_help, path=path, line=1)
                continue
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != len(header):
                raise KmbError(
                    f"expected {len(header)} tab-separated columns{columns_help}, found {len(parts)}",
                    path=path,
                    line=number,
                )
            yield number, parts


NER_FORMATS = ("kmbert", "klue", "conll")
DOCSTART = "-DOCSTART-"
_TAG = re.compile(r"^(O|[BI]-[^\s-][^\s]*)$")


@dataclass
class NerSentence:
    words: list[str]
    tags: list[str]
    doc: str  # document id: sentences of one document always land in the same fold
    line: int = 0  # line of the first word, for messages


def _check_tag(tag: str, previous: str, path: Path, line: int) -> None:
    if not _TAG.match(tag):
        raise KmbError(f"tag {tag!r} is not IOB2 (expected O, B-TYPE or I-TYPE)", path=path, line=line)
    if tag.startswith("I-") and previous[2:] != tag[2:]:
        raise KmbError(
            f"tag {tag!r} follows {previous!r}: in IOB2 an entity starts with B-{tag[2:]}", path=path, line=line
        )


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, raw in enumerate(handle, 1):
                yield number, raw.rstrip("\r\n")
    except FileNotFoundError:
        raise KmbError("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise KmbError(f"not UTF-8 text ({exc.reason})", path=path) from None


def _read_word_per_line(path: Path, columns: int) -> list[NerSentence]:
    """Shared reader for ``kmbert`` (3 columns) and ``conll`` (2 columns)."""

    sentences: list[NerSentence] = []
    words: list[str] = []
    tags: list[str] = []
    doc_number = 0
    first_line = 0
    stem = path.stem

    def flush() -> None:
        nonlocal words, tags
        if words:
            # Files without -DOCSTART- give every sentence its own document.
            doc = f"{stem}#{doc_number}" if doc_number else f"{stem}#s{len(sentences)}"
            sentences.append(NerSentence(words, tags, doc, first_line))
        words, tags = [], []

    for number, line in _lines(path):
        if not line.strip():
            flush()
            continue
        if line.startswith(DOCSTART):
            flush()
            doc_number += 1
            continue
        parts = line.split(" ") if columns == 3 else line.split()
        if len(parts) != columns:
            what = "WORD MASK TAG separated by single spaces" if columns == 3 else "WORD TAG"
            raise KmbError(f"expected {columns} columns ({what}), found {len(parts)}", path=path, line=number)
        word, tag = unicodedata.normalize("NFC", parts[0]), parts[-1]
        if not word:
            raise KmbError("empty word", path=path, line=number)
        if columns == 3:
            mask = parts[1]
            if set(mask) - {"X", "O"}:
                raise KmbError(f"mask {mask!r} must hold only X and O (one per syllable)", path=path, line=number)
            if len(mask) != len(word):
                raise KmbError(
                    f"mask {mask!r} has {len(mask)} marks but word {word!r} has {len(word)} syllables",
                    path=path,
                    line=number,
                )
        _check_tag(tag, tags[-1] if tags else "O", path, number)
        if not words:
            first_line = number
        words.append(word)
        tags.append(tag)
    flush()
    return sentences


def read_klue(path: Path) -> list[NerSentence]:
    """KLUE-NER character-level TSV -> one sentence (and document) per ``## id`` block."""

    sentences: list[NerSentence] = []
    chars: list[str] = []
    tags: list[str] = []
    sent_id = ""
    first_line = 0
    previous = "O"

    def flush() -> None:
        nonlocal chars, tags
        if chars:
            sentences.append(NerSentence(chars, tags, sent_id or f"{path.stem}#{len(sentences)}", first_line))
        chars, tags = [], []

    for number, line in _lines(path):
        if line.startswith("##"):
            body = line[2:].strip()
            if "\t" in body:  # "## id<TAB>marked sentence" opens a sentence; other ## lines are comments
                flush()
                sent_id = body.split("\t", 1)[0]
            continue
        if not line.strip("\t") and not line.startswith(" "):
            flush()
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise KmbError(
                f"expected 2 tab-separated columns (CHAR<TAB>TAG), found {len(parts)}", path=path, line=number
            )
        char, tag = parts
        _check_tag(tag, previous if chars else "O", path, number)
        previous = tag
        if char.strip() == "":
            # A space only separates words: it is checked as IOB2 in sequence, then dropped.
            continue
        if not chars:
            first_line = number
        chars.append(unicodedata.normalize("NFC", char))
        tags.append(tag)
    flush()
    return sentences


def read_ner(path: str | Path, fmt: str) -> list[NerSentence]:
    """Read one NER file in ``fmt`` (kmbert, klue, conll)."""
    path = Path(path)
    if fmt == "kmbert":
        sentences = _read_word_per_line(path, 3)
    elif fmt == "conll":
        sentences = _read_word_per_line(path, 2)
    elif fmt == "klue":
        sentences = read_klue(path)
    else:
        raise KmbError(f"unknown NER format {fmt!r} (choose {', '.join(NER_FORMATS)})")
    if not sentences:
        raise KmbError("no sentences found", path=path)
    return sentences


STS_FORMATS = ("korsts", "medsts", "klue")
KORSTS_HEADER = ["genre", "filename", "year", "id", "score", "sentence1", "sentence2"]


@dataclass
class StsPair:
    sentence1: str
    sentence2: str
    score: float


def _score(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise KmbError(f"score {text!r} is not a number", path=path, line=line) from None
    if math.isnan(value) or not 0.0 <= value <= 5.0:
        raise KmbError(f"score {text} is outside 0-5", path=path, line=line)
    return value


def _pair(s1: str, s2: str, score: float, path: Path, line: int) -> StsPair:
    s1, s2 = unicodedata.normalize("NFC", s1.strip()), unicodedata.normalize("NFC", s2.strip())
    if not s1 or not s2:
        raise KmbError("empty sentence", path=path, line=line)
    return StsPair(s1, s2, score)


def read_korsts(path: Path) -> list[StsPair]:
    header_help = f"expected the KorSTS header {' '.join(KORSTS_HEADER)} (tab-separated)"
    return [
        _pair(parts[5], parts[6], _score(parts[4], path, number), path, number)
        for number, parts in tsv_rows(path, KORSTS_HEADER, header_help, "")
    ]


def read_medsts(path: Path, split: str) -> list[StsPair]:
    pairs = []
    with open(path, encoding="cp949", newline="") as handle:
        reader = csv.reader(handle)
        for index, row in enumerate(reader):
            number = reader.line_num
            if index == 0 or not any(cell.strip() for cell in row):
                continue  # header row
            if len(row) < 6:
                raise KmbError(
                    f"expected at least 6 columns (id, split, _, score, sentence1, sentence2), found {len(row)}",
                    path=path,
                    line=number,
                )
            row_split = row[1].strip().lower()
            if row_split not in ("train", "test"):
                raise KmbError(f"column 2 must be train or test, found {row[1]!r}", path=path, line=number)
            if row_split == split:
                pairs.append(_pair(row[4], row[5], _score(row[3], path, number), path, number))
    return pairs


def read_klue_sts(path: Path) -> list[StsPair]:
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise KmbError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if not isinstance(records, list):
        raise KmbError("expected a JSON list of KLUE-STS records", path=path)
    pairs = []
    for index, record in enumerate(records, 1):
        try:
            labels = record["labels"]
            score = labels.get("real-label", labels.get("label"))
            pairs.append(_pair(record["sentence1"], record["sentence2"], _score(score, path, index), path, index))
        except (KeyError, TypeError, AttributeError):
            raise KmbError(f"record {index} lacks sentence1, sentence2 or labels.real-label", path=path) from None
    return pairs


def read_sts(path: str | Path, fmt: str, split: str = "train") -> list[StsPair]:
    """Read one STS file; ``split`` matters only for MedSTS (which holds both splits)."""
    path = Path(path)
    if not path.is_file():
        raise KmbError("STS file not found", path=path)
    try:
        if fmt == "korsts":
            pairs = read_korsts(path)
        elif fmt == "medsts":
            pairs = read_medsts(path, split)
        elif fmt == "klue":
            pairs = read_klue_sts(path)
        else:
            raise KmbError(f"unknown STS format {fmt!r} (choose {', '.join(STS_FORMATS)})")
    except UnicodeDecodeError as exc:
        raise KmbError(f"cannot decode the file ({exc.encoding}: {exc.reason})", path=path) from None
    if not pairs:
        raise KmbError(f"no {split} pairs found", path=path)
    return pairs
