"""`kmb deid eval`: precision, recall and F1 per type against notes someone annotated.

Gold rows are JSON lines in the shape ``kmb deid run`` writes: the original ``text`` and ``phi``,
a list of ``{"start", "end", "type"}``. A gold identifier counts as *found* when the detected
spans together cover every character of it (the type need not agree: a phone number taken for a
patient id is still removed); a detected span is a *true alarm* when it overlaps some gold span.
Also counted: gold identifiers whose exact string is still in the output (*leaked*), and, when
rows carry a ``keep`` list (look-alikes such as "고혈압 환자" that must survive), how many stayed.

The samples of misses and false alarms never show an identifier: each gives the row, offsets,
type and a context window taken from the text with every gold identifier (and the false alarm
itself) replaced by its type. A false alarm's own text, which may be an identifier the annotator
missed, is shown only with ``show_false_alarm_text``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from kmb.deid.detect import TYPES, deidentify
from kmb.deid.files import RunOptions, read_rows
from kmb.errors import KmbError

CONTEXT_CHARS = 30


def score_file(
    gold: str | Path,
    options: RunOptions | None = None,
    samples: int = 20,
    out: str | Path | None = None,
    show_false_alarm_text: bool = False,
) -> dict:
    """The evaluation of `options` on the gold file: per-type and overall figures, samples; also
    written to `out` as JSON when given."""
    options = options or RunOptions()
    gold, config, text_field = Path(gold), options.config(), options.text_field
    if not gold.is_file():
        raise KmbError("no such file", path=gold)
    tally = Scorer(samples, show_false_alarm_text)
    for number, row in enumerate(read_rows(gold, "jsonl", text_field), 1):
        text = row[text_field]
        spans = _gold_spans(row, len(text), gold, number)
        result = deidentify(text, config)
        tally.add(number, text, spans, result.spans, result.text, _keep_spans(row, len(text), gold, number))
    if tally.rows == 0:
        raise KmbError("no rows: the file is empty", path=gold)
    report = {"gold": str(gold), "types": list(config.types), "out": str(out) if out else None} | tally.report()
    if out is not None:
        from kmb.storage import write_json_atomic

        write_json_atomic(out, report)
    return report


def _gold_spans(row: dict, length: int, path: Path, line: int) -> list[tuple[int, int, str]]:
    phi = row.get("phi")
    if not isinstance(phi, list):
        raise KmbError("row has no 'phi' list of {start, end, type} spans", path=path, line=line)
    spans = []
    for span in phi:
        if not (
            isinstance(span, dict)
            and isinstance(span.get("start"), int)
            and isinstance(span.get("end"), int)
            and isinstance(span.get("type"), str)
            and 0 <= span["start"] < span["end"] <= length
        ):
            raise KmbError(
                "a 'phi' span must be {start, end, type} with 0 <= start < end <= len(text)", path=path, line=line
            )
        spans.append((span["start"], span["end"], span["type"]))
    return spans


def _keep_spans(row: dict, length: int, path: Path, line: int) -> list[tuple[int, int]]:
    keep = row.get("keep") or []
    try:
        return [(int(k["start"]), int(k["end"])) for k in keep if 0 <= int(k["start"]) < int(k["end"]) <= length]
    except (TypeError, KeyError, ValueError):
        raise KmbError("a 'keep' span must be {start, end}", path=path, line=line) from None


def _covered(start: int, end: int, found: list[tuple[int, int, str]]) -> bool:
    need = start
    for s, e, _ in found:  # sorted, non-overlapping
        if s <= need < e:
            need = e
        if need >= end:
            return True
    return need >= end


def _overlaps(start: int, end: int, spans) -> bool:
    return any(s < end and start < e for s, e, *_ in spans)


class Scorer:
    """Counts over rows of (text, gold spans, found spans, output text): :meth:`report` gives the
    figures. Public so that a benchmark can score another tool's spans exactly the same way."""

    def __init__(self, samples: int = 20, show_false_alarm_text: bool = False):
        self.show_false_alarm_text = show_false_alarm_text
        self.samples = samples
        self.rows = 0
        self.gold, self.found, self.leaked = Counter(), Counter(), Counter()
        self.detected, self.true_alarms = Counter(), Counter()
        self.keep_total = self.keep_kept = 0
        self.misses: list[dict] = []
        self.false_alarms: list[dict] = []

    def add(self, row: int, text: str, gold, found, output: str, keep) -> None:
        self.rows += 1
        masked = sorted(gold)
        for start, end, kind in gold:
            self.gold[kind] += 1
            if _covered(start, end, found):
                self.found[kind] += 1
            elif len(self.misses) < self.samples:
                self.misses.append(
                    {
                        "row": row,
                        "start": start,
                        "end": end,
                        "type": kind,
                        "context": _context(masked, text, start, end, gold),
                    }
                )
            if text[start:end] in output:
                self.leaked[kind] += 1
        for start, end, kind in found:
            self.detected[kind] += 1
            if _overlaps(start, end, gold):
                self.true_alarms[kind] += 1
            elif len(self.false_alarms) < self.samples:
                # Not an identifier by the gold, but the gold may have missed one: the flagged
                # text is shown only when asked for (show_false_alarm_text).
                alarm = {
                    "row": row,
                    "start": start,
                    "end": end,
                    "type": kind,
                    "context": _context(sorted(gold + [(start, end, kind)]), text, start, end, gold),
                }
                if self.show_false_alarm_text:
                    alarm["text"] = text[start:end]
                self.false_alarms.append(alarm)
        self.keep_total += len(keep)
        self.keep_kept += sum(not _overlaps(s, e, found) for s, e in keep)

    def report(self) -> dict:
        kinds = [k for k in TYPES if self.gold[k] or self.detected[k]]
        kinds += sorted(set(self.gold) - set(kinds))
        per_type = {
            k: _prf(self.true_alarms[k], self.detected[k], self.found[k], self.gold[k])
            | {"gold": self.gold[k], "found": self.found[k], "detected": self.detected[k], "leaked": self.leaked[k]}
            for k in kinds
        }
        overall = _prf(
            sum(self.true_alarms.values()),
            sum(self.detected.values()),
            sum(self.found.values()),
            sum(self.gold.values()),
        )
        return {
            "rows": self.rows,
            "overall": overall | {"gold": sum(self.gold.values()), "leaked": sum(self.leaked.values())},
            "per_type": per_type,
            "look_alikes": {
                "total": self.keep_total,
                "kept": self.keep_kept,
                "kept_share": round(self.keep_kept / self.keep_total, 4) if self.keep_total else None,
            },
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


def _prf(true_alarms: int, detected: int, found: int, gold: int) -> dict:
    precision = true_alarms / detected if detected else None
    recall = found / gold if gold else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else None
    return {"precision": _round(precision), "recall": _round(recall), "f1": _round(f1)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _context(masked, text: str, start: int, end: int, gold) -> str:
    """The window around [start, end) with every gold identifier in it shown as <TYPE> (the one
    the sample is about as <<TYPE>>)."""
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    pieces, pos = [], lo
    for s, e, kind in masked:
        if e <= lo or s >= hi:
            continue
        s, e = max(s, lo), min(e, hi)
        if s < pos:
            continue
        pieces.append(text[pos:s])
        pieces.append(f"<<{kind}>>" if (s, e) == (max(start, lo), min(end, hi)) else f"<{kind}>")
        pos = e
    pieces.append(text[pos:hi])
    return "".join(pieces).replace("\n", " ")
