"""The raw tables a corpus build reads: every ``raw/<source>/*.parquet``, each checked (footer,
columns) before the build starts, and their new documents streamed in batches, file by file."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kmb.errors import KmbError
from kmb.stored_parquet import parquet_footer
from kmb.workspace import Workspace


def raw_rows(raw_files: list[Path]) -> int:
    """Rows in the raw tables, from the Parquet footers (the progress display's total)."""
    total = 0
    for path in raw_files:
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except Exception:  # an unreadable file is reported, with its path, when it is read
            pass
    return total


def new_document_batches(raw_files: list[Path], seen: set[str], batch_docs: int) -> Iterator[list[tuple]]:
    """Documents not yet in the corpus, file by file in name order, each file in row order.

    Streamed one Parquet batch at a time (memory does not grow with a file: a DuckDB query that
    kept the first row per doc_id in file order held the whole file, 0.6 GB for 200,000
    documents). A doc_id seen before, in the corpus, an earlier file or earlier in this file, is
    skipped, and a null one too; ``seen`` gains the new ids."""
    for path in raw_files:
        names = check_raw_file(path)
        columns = ["doc_id", "text"] + (["source"] if "source" in names else [])
        pending: list[tuple] = []
        try:
            # Buffered page reads, no pre-buffering: a row group (64,000 documents in kmb's own
            # tables) is not loaded whole (peak +82 MB instead of +236 MB on 200,000 documents).
            raw = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
            for batch in raw.iter_batches(batch_docs * 8, columns=columns):
                ids = batch.column("doc_id").cast(pa.string()).to_pylist()
                texts = batch.column("text").to_pylist()
                sources = batch.column("source").to_pylist() if "source" in names else itertools.repeat(None)
                for doc_id, text, source in zip(ids, texts, sources):
                    if doc_id is None or doc_id in seen:
                        continue
                    seen.add(doc_id)
                    pending.append((doc_id, path.parent.name if source is None else source, text))
                    if len(pending) == batch_docs:
                        yield pending
                        pending = []
        except (pa.ArrowException, OSError) as exc:  # a damaged page, a column of the wrong type
            raise KmbError(f"could not read the raw table ({exc.__class__.__name__}: {exc})", path=path) from None
        if pending:
            yield pending


# --- raw input checks ---------------------------------------------------------------------------
def checked_raw_files(workspace: Workspace) -> list[Path]:
    """Every raw table, each checked (footer, columns) before the build starts work: a damaged
    file is one line naming it, and corpus/ is not touched."""
    raw = workspace.root / "raw"
    files = sorted(raw.glob("*/*.parquet"))
    if not files:
        raise KmbError(
            "no raw document tables (raw/<source>/*.parquet); add documents first with "
            "`kmb corpus add` or `kmb crawl ...`",
            path=raw,
        )
    for path in files:
        check_raw_file(path)
    return files


def check_raw_file(path: Path) -> list[str]:
    names = parquet_footer(path).schema.to_arrow_schema().names  # a damaged file: one line naming it
    missing = {"doc_id", "text"} - set(names)
    if missing:
        raise KmbError(f"raw table lacks column(s) {', '.join(sorted(missing))}", path=path)
    return names
