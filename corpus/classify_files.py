"""Readers of the classification evaluation files (``kmb evaluate classify``).

In corpus/ beside ``eval_files`` (NER and STS) for the same reason: the corpus stage reads
evaluation files too, and the flow runs corpus -> evaluation.

Classification formats (:func:`read_classify`, parsed into :class:`ClassifyExample` objects):
- ``tsv`` / ``csv``: a header naming the columns ``text``, ``label`` and optionally ``text_pair``
  (any order, other columns ignored); TSV splits on tabs only, CSV follows the CSV quoting rules.
- ``jsonl``: one JSON object per line with the same keys (a numeric label becomes its text).
- ``klue-nli``: KLUE-NLI's JSON, a list of objects with ``premise``, ``hypothesis`` (the pair) and
  ``gold_label``.
- ``auto``: by suffix (.tsv/.txt, .csv, .jsonl, .json -> klue-nli).

A missing column or key, a blank text or label, an empty file or bytes that are not UTF-8 are a
KmbError naming the file and line.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError
from kmb.json_lines import parse_object

CLASSIFY_FORMATS = ("auto", "tsv", "csv", "jsonl", "klue-nli")
_CLASSIFY_SUFFIXES = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "klue-nli"}


@dataclass
class ClassifyExample:
    """One classification example; ``line`` is where it starts in its file (for messages)."""

    text: str
    label: str
    text_pair: str | None = None
    line: int = 0


def classify_format(path: Path, fmt: str) -> str:
    """The format of ``path``: ``fmt``, or with ``auto`` the one its suffix names."""
    if fmt not in CLASSIFY_FORMATS:
        raise KmbError(f"unknown classification format {fmt!r} (choose {', '.join(CLASSIFY_FORMATS)})")
    if fmt != "auto":
        return fmt
    try:
        return _CLASSIFY_SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise KmbError(
            f"cannot tell the format from the suffix {path.suffix!r}: name it with --format "
            f"({', '.join(CLASSIFY_FORMATS[1:])})",
            path=path,
        ) from None


def _utf8_text(path: Path) -> str:
    """The file as text; bytes that are not UTF-8 are a KmbError naming the line they are on."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KmbError("file not found", path=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise KmbError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path, line=line) from None


def _classify_example(
    fields: dict, path: Path, line: int, keys: tuple[str, str, str] = ("text", "text_pair", "label")
) -> ClassifyExample:
    """A checked example from one row or record: text and label present and not blank."""
    text_key, pair_key, label_key = keys
    values = {}
    for key in (text_key, label_key) + ((pair_key,) if pair_key in fields else ()):
        value = fields.get(key)
        if value is None:
            raise KmbError(f"missing {key!r}", path=path, line=line)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key == label_key:
            value = str(value)
        if not isinstance(value, str):
            raise KmbError(f"{key!r} must be a string, not {type(value).__name__}", path=path, line=line)
        value = unicodedata.normalize("NFC", value.strip())
        if not value:
            raise KmbError(f"empty {key!r}", path=path, line=line)
        values[key] = value
    return ClassifyExample(values[text_key], values[label_key], values.get(pair_key), line)


def _read_delimited(path: Path, text: str, delimiter: str) -> list[ClassifyExample]:
    """TSV (tabs only, no quoting) or CSV (quoted cells may span lines) with a header naming the columns."""
    import io

    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise KmbError(
            "empty file: expected a header with the columns text and label (and optionally text_pair)",
            path=path,
            line=1,
        )
    header = [cell.strip() for cell in header]
    missing = [name for name in ("text", "label") if name not in header]
    if missing:
        raise KmbError(
            f"the header lacks the column {' and '.join(missing)} (found {', '.join(header)})", path=path, line=1
        )
    examples = []
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise KmbError(
                f"expected {len(header)} columns ({', '.join(header)}), found {len(row)}", path=path, line=line
            )
        examples.append(_classify_example(dict(zip(header, row)), path, line))
    return examples


def _read_jsonl(path: Path, text: str) -> list[ClassifyExample]:
    examples = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        record = parse_object(raw, path, number, "a JSON object with text and label")
        examples.append(_classify_example(record, path, number))
    return examples


def json_list_records(path: Path, text: str) -> Iterator[tuple[int, object]]:
    """(line, record) for each element of a JSON list, so a bad record's message names its line."""
    decoder = json.JSONDecoder()
    space = re.compile(r"\s*")
    position = space.match(text).end()
    if text[position : position + 1] != "[":
        raise KmbError("expected a JSON list of records", path=path, line=text.count("\n", 0, position) + 1)
    position = space.match(text, position + 1).end()
    if text[position : position + 1] == "]":
        return
    while True:
        line = text.count("\n", 0, position) + 1
        try:
            record, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise KmbError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
        yield line, record
        position = space.match(text, position).end()
        mark = text[position : position + 1]
        position = space.match(text, position + 1).end()
        if mark == "]":
            return
        if mark != ",":
            raise KmbError(
                "not valid JSON: expected ',' or ']' between records", path=path, line=text.count("\n", 0, position) + 1
            )


def _read_klue_nli(path: Path, text: str) -> list[ClassifyExample]:
    """KLUE-NLI JSON: a list of objects with ``premise``, ``hypothesis`` and ``gold_label``."""
    examples = []
    for line, record in json_list_records(path, text):
        if not isinstance(record, dict):
            raise KmbError("expected a JSON object with premise, hypothesis and gold_label", path=path, line=line)
        for key in ("premise", "hypothesis", "gold_label"):
            if key not in record:
                raise KmbError(f"missing {key!r}", path=path, line=line)
        examples.append(_classify_example(record, path, line, ("premise", "hypothesis", "gold_label")))
    return examples


def read_classify(path: str | Path, fmt: str = "auto") -> list[ClassifyExample]:
    """Read one classification file: TSV/CSV with a header (``text``, optional ``text_pair``,
    ``label``), JSON lines with those keys, or KLUE-NLI JSON (premise, hypothesis, gold_label).

    All examples of a file are single texts or all are pairs. Bad input is a KmbError naming the
    file and line.
    """
    path = Path(path)
    fmt = classify_format(path, fmt)
    if not path.is_file():
        raise KmbError("classification file not found", path=path)
    text = _utf8_text(path)
    if fmt in ("tsv", "csv"):
        examples = _read_delimited(path, text, "\t" if fmt == "tsv" else ",")
    elif fmt == "jsonl":
        examples = _read_jsonl(path, text)
    else:
        examples = _read_klue_nli(path, text)
    if not examples:
        raise KmbError("no examples found (empty file)", path=path, line=1)
    paired = [e for e in examples if e.text_pair is not None]
    if paired and len(paired) != len(examples):
        odd = next(e for e in examples if e.text_pair is None)
        raise KmbError("missing 'text_pair': the other examples of this file are text pairs", path=path, line=odd.line)
    return examples
