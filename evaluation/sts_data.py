"""STS data: KorSTS TSV, KM-BERT's MedSTS CSV, KLUE-STS JSON -> :class:`StsPair` lists.

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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError
from kmb.evaluation.tsv import tsv_rows

FORMATS = ("korsts", "medsts", "klue")
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
    return [_pair(parts[5], parts[6], _score(parts[4], path, number), path, number) for number, parts in tsv_rows(path, KORSTS_HEADER, header_help, "")]


def read_medsts(path: Path, split: str) -> list[StsPair]:
    pairs = []
    with open(path, encoding="cp949", newline="") as handle:
        reader = csv.reader(handle)
        for index, row in enumerate(reader):
            number = reader.line_num
            if index == 0 or not any(cell.strip() for cell in row):
                continue  # header row
            if len(row) < 6:
                raise KmbError(f"expected at least 6 columns (id, split, _, score, sentence1, sentence2), found {len(row)}", path=path, line=number)
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
            raise KmbError(f"unknown STS format {fmt!r} (choose {', '.join(FORMATS)})")
    except UnicodeDecodeError as exc:
        raise KmbError(f"cannot decode the file ({exc.encoding}: {exc.reason})", path=path) from None
    if not pairs:
        raise KmbError(f"no {split} pairs found", path=path)
    return pairs
