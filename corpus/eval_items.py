"""The evaluation files' items, for `kmb corpus overlap` and `kmb corpus build --decontaminate`.

An item is what a model is scored on: a sentence (NER, classification, plain text) or a pair
(STS, NLI, classification with ``text_pair``). :func:`read_eval_items` reads a file in any format
``kmb evaluate`` reads (through ``eval_files`` and ``classify_files``), or plain text, or JSON lines
with a ``text`` field; :func:`detect_format` tells the format from the content when not given.
"""

from __future__ import annotations

import codecs
import csv
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kmb.corpus.classify_files import json_list_records, read_classify
from kmb.corpus.eval_files import KORSTS_HEADER, read_medsts, read_ner, read_sts
from kmb.errors import KmbError
from kmb.json_lines import object_lines

# Format names: evaluate's, made unique across tasks (NER and STS both have a "klue").
EVAL_FORMATS = (
    "auto",
    "kmbert",
    "conll",
    "klue-ner",
    "korsts",
    "medsts",
    "klue-sts",
    "tsv",
    "csv",
    "jsonl",
    "klue-nli",
    "text",
)
_NER = {"kmbert": "kmbert", "conll": "conll", "klue-ner": "klue"}
_STRUCTURED_SUFFIXES = (".tsv", ".csv", ".json", ".jsonl")
_HEAD_BYTES = 65_536


# --- evaluation files ---------------------------------------------------------------------------
# --- normalisation ------------------------------------------------------------------------------
def normalise_for_match(text: str) -> str:
    """NFC, every run of white space one space, stripped: the form two copies are compared in."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def spaceless(text: str) -> str:
    """The text with all white space removed (after NFC), so copies with changed spacing match."""
    return "".join(unicodedata.normalize("NFC", text).split())


@dataclass
class EvalItem:
    """One evaluation item: a sentence, or both sides of a pair; ``number`` counts from 1."""

    texts: tuple[str, ...]
    number: int
    line: int = 0  # where it starts in its file, where the reader knows it (0 otherwise)


@dataclass
class EvalFile:
    path: Path
    format: str
    items: list[EvalItem]


def _first_lines(text: str, count: int) -> list[str]:
    lines = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("-DOCSTART-"):
            lines.append(line)
            if len(lines) == count:
                break
    return lines


def _word_per_line_format(lines: list[str]) -> str | None:
    """kmbert (WORD MASK TAG) or conll (WORD TAG) when every sampled line has that shape."""
    from kmb.corpus.eval_files import _TAG

    def tagged(parts: list[str], columns: int) -> bool:
        return len(parts) == columns and bool(_TAG.match(parts[-1]))

    if lines and all(tagged(line.split(" "), 3) and not set(line.split(" ")[1]) - {"X", "O"} for line in lines):
        return "kmbert"
    if lines and all(tagged(line.split(), 2) for line in lines):
        return "conll"
    return None


def _json_list_format(path: Path) -> str:
    text = path.read_text(encoding="utf-8-sig")
    for line, record in json_list_records(path, text):
        if isinstance(record, dict) and "sentence1" in record:
            return "klue-sts"
        if isinstance(record, dict) and "premise" in record:
            return "klue-nli"
        raise KmbError(
            "a JSON list, but neither KLUE-STS (sentence1) nor KLUE-NLI (premise) records", path=path, line=line
        )
    raise KmbError("empty file: a JSON list without records", path=path)


def _parses(text: str, kind: type) -> bool:
    """Whether ``text`` starts a JSON value of ``kind`` (a list's first record is enough)."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
        return isinstance(value, kind)
    except json.JSONDecodeError:
        if kind is list:  # the head of a long list: its first record must decode
            try:
                json.JSONDecoder().raw_decode(text.lstrip()[1:].lstrip())
                return True
            except json.JSONDecodeError:
                return False
        return False


def detect_format(path: str | Path) -> str:
    """The evaluation format of ``path``, told from its content (and suffix where content is
    ambiguous); a file it cannot tell is a KmbError asking for ``--format``."""
    path = _checked_file(path)
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(head) < _HEAD_BYTES)
    except UnicodeDecodeError:
        if path.suffix.lower() == ".csv":
            return "medsts"  # KM-BERT's MedSTS CSV is cp949
        raise KmbError("not UTF-8 text: cannot tell its format (name it with --format)", path=path) from None
    lines = _first_lines(text, 20)
    if not lines:  # only -DOCSTART- lines
        raise KmbError("empty file: no evaluation items", path=path)
    first = lines[0]
    suffix = path.suffix.lower()
    # A line of plain text may start with a bracket too ("[헬스조선] ..."): JSON only if it parses.
    if first.lstrip().startswith("[") and (suffix == ".json" or _parses(text, list)):
        return _json_list_format(path)
    if first.lstrip().startswith("{") and (suffix == ".jsonl" or _parses(first, dict)):
        return "jsonl"
    if first.startswith("##"):
        return "klue-ner"
    cells = [cell.strip() for cell in first.split("\t")]
    if cells == KORSTS_HEADER:
        return "korsts"
    if len(cells) > 1 and "text" in cells:
        return "tsv"
    cells = [cell.strip() for cell in next(csv.reader([first]))]
    if len(cells) > 1 and "text" in cells:
        return "csv"
    if suffix in _STRUCTURED_SUFFIXES:
        raise KmbError(
            f"cannot tell the format of this {path.suffix} file (name it with --format: {', '.join(EVAL_FORMATS[1:])})",
            path=path,
        )
    return _word_per_line_format(lines) or "text"


def _checked_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise KmbError("file not found", path=path)
    if not path.is_file():
        raise KmbError("not a file", path=path)
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head.strip() or (len(head) < _HEAD_BYTES and not head.decode("utf-8", "replace").strip("\ufeff \t\r\n")):
        raise KmbError("empty file: no evaluation items", path=path)
    return path


def _read_lines(path: Path) -> list[EvalItem]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KmbError(f"not UTF-8 text ({exc.reason})", path=path) from None
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            items.append(EvalItem((normalise_for_match(line),), len(items) + 1, number))
    return items


def _read_text_jsonl(path: Path) -> list[EvalItem]:
    """JSON lines with a ``text`` field (and optionally ``text_pair``); other keys are ignored."""
    items = []
    for number, record in object_lines(path, "a JSON object with a non-empty 'text' string"):
        if not isinstance(record.get("text"), str) or not record["text"].strip():
            raise KmbError("expected a JSON object with a non-empty 'text' string", path=path, line=number)
        texts = [record["text"]]
        if isinstance(record.get("text_pair"), str) and record["text_pair"].strip():
            texts.append(record["text_pair"])
        items.append(EvalItem(tuple(normalise_for_match(t) for t in texts), len(items) + 1, number))
    return items


def _read_medsts_all(path: Path) -> list[EvalItem]:
    try:
        pairs = read_medsts(path, "train") + read_medsts(path, "test")
    except UnicodeDecodeError as exc:
        raise KmbError(f"cannot decode the file ({exc.encoding}: {exc.reason})", path=path) from None
    return [EvalItem((p.sentence1, p.sentence2), n) for n, p in enumerate(pairs, 1)]


def read_eval_items(path: str | Path, fmt: str = "auto") -> EvalFile:
    """The items of one evaluation file in ``fmt`` (one of :data:`EVAL_FORMATS`; ``auto`` detects it)."""
    if fmt not in EVAL_FORMATS:
        raise KmbError(f"unknown evaluation format {fmt!r} (choose {', '.join(EVAL_FORMATS)})")
    path = _checked_file(path)
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt in _NER:
        joiner = "" if fmt == "klue-ner" else " "  # KLUE's reader keeps characters, not spaces
        sentences = read_ner(path, _NER[fmt])
        items = [EvalItem((joiner.join(s.words),), n, s.line) for n, s in enumerate(sentences, 1)]
    elif fmt in ("korsts", "klue-sts"):
        pairs = read_sts(path, fmt.removesuffix("-sts"))
        items = [EvalItem((p.sentence1, p.sentence2), n) for n, p in enumerate(pairs, 1)]
    elif fmt == "medsts":
        items = _read_medsts_all(path)
    elif fmt in ("tsv", "csv", "klue-nli"):
        examples = read_classify(path, fmt)
        items = [
            EvalItem((e.text,) if e.text_pair is None else (e.text, e.text_pair), n, e.line)
            for n, e in enumerate(examples, 1)
        ]
    elif fmt == "jsonl":
        items = _read_text_jsonl(path)
    else:
        items = _read_lines(path)
    if not items:
        raise KmbError("empty file: no evaluation items", path=path)
    return EvalFile(path, fmt, items)
