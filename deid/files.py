"""`kmb deid run`: a file of notes in, the same rows out with every identifier replaced.

Rows are read one at a time (JSON lines, CSV or Parquet), sent in batches to worker processes
(at most three batches per worker in flight, so memory stays bounded whatever the file's size),
and written in their original order to a temporary file that is renamed over ``--out`` only at
the end: a bad row, a full disk or a kill leaves no output at all. Every other field of a row is
kept; the text field gets the replaced text and a ``phi`` field lists where the identifiers were
(offsets into the original text and types, never the values).
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kmb.deid.detect import DeidConfig, deidentify, make_config
from kmb.errors import KmbError

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
BATCH_ROWS = 256
PROGRESS_EVERY_S = 2.0


@dataclass
class RunOptions:
    text_field: str = "text"
    workers: int = 0  # 0 = all cores
    types: tuple[str, ...] | None = None  # None: every type but DATE
    all_dates: bool = False  # also remove dates other than birth dates
    surrogates: bool = False  # made-up values instead of [TYPE] placeholders
    not_names: Path | None = None  # a word list never taken for names (e.g. medical terms)

    def config(self) -> DeidConfig:
        return make_config(self.types, self.all_dates, self.surrogates, self.not_names)


@dataclass
class RunSummary:
    input: str
    out: str
    rows: int = 0
    characters: int = 0
    identifiers: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def rows_for_display(self) -> dict:
        mb = self.characters / 1e6
        return {
            "rows": f"{self.rows:,}",
            "identifiers": f"{sum(self.identifiers.values()):,}",
            **{f"  {kind}": f"{n:,}" for kind, n in sorted(self.identifiers.items())},
            "speed": f"{mb / self.seconds:.2f} M characters/s" if self.seconds else "-",
            "written": self.out,
        }


def file_format(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise KmbError(f"unsupported file type {path.suffix or '(none)'}; use {', '.join(FORMATS)}", path=path)
    return kind


def deidentify_file(
    source: str | Path,
    out: str | Path,
    options: RunOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunSummary:
    """De-identify every row of `source` into `out` (same format as `out`'s suffix says)."""
    from kmb.storage import atomic_path
    from kmb.worker_processes import map_in_order

    source, out, options = Path(source), Path(out), options or RunOptions()
    config = options.config()
    in_format, out_format = file_format(source), file_format(out)
    if not source.is_file():
        raise KmbError("no such file", path=source)
    if out.exists() and (out.is_dir() or out.resolve() == source.resolve()):
        raise KmbError("--out must be a new file, not a folder or the input itself", path=out)
    summary, started, shown = RunSummary(str(source), str(out)), time.monotonic(), time.monotonic()
    rows = read_rows(source, in_format, options.text_field)
    pending: deque[list[dict]] = deque()

    def batches() -> Iterator[tuple[list[str], DeidConfig]]:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                pending.append(batch)
                yield [r[options.text_field] for r in batch], config
                batch = []
        if batch:
            pending.append(batch)
            yield [r[options.text_field] for r in batch], config

    workers = options.workers or os.cpu_count() or 1
    with atomic_path(out) as tmp, RowWriter(tmp, out_format, options.text_field, source, in_format) as writer:
        for results in map_in_order(deidentify_batch, batches(), workers):
            for row, (text, spans) in zip(pending.popleft(), results):
                summary.characters += len(row[options.text_field])
                summary.identifiers.update(kind for _, _, kind in spans)
                writer.write(row, text, spans)
                summary.rows += 1
            if progress and time.monotonic() - shown > PROGRESS_EVERY_S:
                shown = time.monotonic()
                progress(f"kmb deid: {summary.rows:,} rows, {sum(summary.identifiers.values()):,} identifiers")
        if summary.rows == 0:
            raise KmbError("no rows: the file is empty", path=source)
    summary.seconds = time.monotonic() - started
    return summary


def deidentify_batch(job: tuple[list[str], DeidConfig]) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """One batch in a worker: (replaced text, spans) per text."""
    texts, config = job
    results = []
    for text in texts:
        result = deidentify(text, config)
        results.append((result.text, result.spans))
    return results


# --- reading ---------------------------------------------------------------------------------------
def read_rows(path: Path, kind: str, text_field: str) -> Iterator[dict]:
    """The file's rows as dicts, one at a time; a row without a text string is a KmbError."""
    readers = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}
    for line, row in readers[kind](path, text_field):
        text = row.get(text_field)
        if not isinstance(text, str):
            what = "has no" if text is None else f"has a {type(text).__name__} in the"
            raise KmbError(f"row {what} text field {text_field!r} (--text-field)", path=path, line=line)
        yield row


def _jsonl_rows(path: Path, text_field: str) -> Iterator[tuple[int, dict]]:
    from kmb.json_lines import object_lines

    yield from object_lines(path, "each line to be a JSON object")


def _csv_rows(path: Path, text_field: str) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            fields = reader.fieldnames
            if fields is not None and text_field not in fields:
                raise KmbError(
                    f"no column {text_field!r} (--text-field); the columns are {', '.join(fields)}", path=path, line=1
                )
            for row in reader:
                yield reader.line_num, row
        except UnicodeDecodeError:
            raise KmbError(
                "not UTF-8 text (convert the file to UTF-8 first)", path=path, line=reader.line_num + 1
            ) from None
        except csv.Error as exc:
            raise KmbError(f"broken CSV: {exc}", path=path, line=reader.line_num) from None


def _parquet_rows(path: Path, text_field: str) -> Iterator[tuple[int, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise KmbError(f"not a readable Parquet file ({exc.__class__.__name__})", path=path) from None
    if text_field not in parquet.schema_arrow.names:
        raise KmbError(f"no column {text_field!r} (--text-field)", path=path)
    number = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            number += 1
            yield number, row


# --- writing ---------------------------------------------------------------------------------------
class RowWriter:
    """Writes rows with the text replaced and the ``phi`` field added, in the output's format."""

    def __init__(self, path: Path, kind: str, text_field: str, source: Path, source_kind: str):
        self.path, self.kind, self.text_field = path, kind, text_field
        self.source, self.source_kind = source, source_kind
        self.handle = self.csv = self.parquet = None
        self.buffer: list[dict] = []

    def __enter__(self) -> RowWriter:
        if self.kind in ("jsonl", "csv"):
            self.handle = open(self.path, "w", encoding="utf-8", newline="")
        return self

    def write(self, row: dict, text: str, spans: list[tuple[int, int, str]]) -> None:
        phi = [{"start": s, "end": e, "type": k} for s, e, k in spans]
        row = {**row, self.text_field: text, "phi": phi}
        if self.kind == "jsonl":
            self.handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        elif self.kind == "csv":
            if self.csv is None:
                self.csv = csv.DictWriter(self.handle, fieldnames=list(row))
                self.csv.writeheader()
            self.csv.writerow({**row, "phi": json.dumps(phi)})
        else:
            self.buffer.append(row)
            if len(self.buffer) >= BATCH_ROWS * 4:
                self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.buffer:
            return
        if self.parquet is None:
            self.schema = self._parquet_schema(pa, pq)
            self.parquet = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.parquet.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
        self.buffer = []

    def _parquet_schema(self, pa, pq):
        phi = pa.field("phi", pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()), ("type", pa.string())])))
        if self.source_kind == "parquet":
            schema = pq.read_schema(self.source)
            if "phi" in schema.names:
                schema = schema.remove(schema.get_field_index("phi"))
            return schema.append(phi)
        sample = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "phi"} for r in self.buffer]).schema
        return sample.append(phi)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.kind == "parquet":
            self._flush_parquet()
        if self.parquet is not None:
            self.parquet.close()
        if self.handle is not None:
            self.handle.close()
