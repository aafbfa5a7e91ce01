"""`kmb corpus build --decontaminate FILE`: no sentence of an evaluation file left in the corpus.

A model continued on text that holds its test sentences scores higher on them than it should.
Each evaluation file (any format ``kmb corpus overlap`` reads) is indexed once, before the build
starts (a bad file is one line and the corpus is untouched), with the matching rules of
:mod:`kmb.corpus.overlap`: equal after normalisation, equal without spaces, or a shared span of
:data:`~kmb.corpus.overlap.NGRAM_CHARS` characters. After the build has written its sentences,
every sentence part of the new corpus (the new sentences and the existing ones alike: the whole
corpus, not only new documents) is streamed in batches; a part that holds a matching sentence is
rewritten without it, through the atomic writer, inside the build folder, so the previous corpus
is untouched until the build swaps in. What each file removed is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kmb.corpus.overlap import NGRAM_CHARS, OverlapIndex, read_eval_items
from kmb.storage import SENTENCES, ParquetSink, part_name

BATCH_ROWS = 32_768


@dataclass
class Contaminants:
    """One evaluation file's index and what it removed."""

    path: str
    items: int
    index: OverlapIndex
    removed: int = 0


def read_contaminants(paths, ngram: int = NGRAM_CHARS) -> list[Contaminants]:
    """Every file read and indexed now: a missing, empty or unknown file is a KmbError before any work."""
    found = []
    for path in paths:
        eval_file = read_eval_items(path)
        index = OverlapIndex(ngram=ngram)
        index.add((item.number, item.texts) for item in eval_file.items)
        found.append(Contaminants(str(path), len(eval_file.items), index))
    return found


def decontaminate_sentences(folder: Path, contaminants: list[Contaminants], removed_log=None) -> dict:
    """Drop from every sentence part in ``folder`` the sentences that match an evaluation item
    (written to ``removed_log``, a :class:`kmb.corpus.removed.RemovedLog`, when given); returns the
    counts for ``report.json``."""
    scanned = 0
    for part in sorted(folder.glob("*.parquet")):
        scanned += _decontaminate_part(part, contaminants, removed_log)
    return {
        "sentences scanned": scanned,
        "sentences removed": sum(c.removed for c in contaminants),
        "files": {c.path: {"items": c.items, "sentences removed": c.removed} for c in contaminants},
    }


def _decontaminate_part(part: Path, contaminants: list[Contaminants], removed_log=None) -> int:
    """Rewrite ``part`` without its matching sentences (only if it has any); its row count."""
    owners, rows = [], 0  # per batch: the index of the first file that matches each sentence, or -1
    for batch in pq.ParquetFile(part).iter_batches(columns=["doc_id", "text"], batch_size=BATCH_ROWS):
        texts, ids = batch.column(1).to_pylist(), batch.column(0).to_pylist()
        owner = np.full(len(texts), -1, dtype=np.int32)
        for number, c in enumerate(contaminants):
            new = c.index.match_batch(texts, ids) & (owner < 0)
            c.removed += int(new.sum())  # a sentence two files match counts for the first
            owner[new] = number
        owners.append(owner)
        rows += len(texts)
    if not any((owner >= 0).any() for owner in owners):
        return rows
    sink = ParquetSink(part.parent / part_name("decontaminated"), SENTENCES)
    try:
        batches = pq.ParquetFile(part).iter_batches(batch_size=BATCH_ROWS)
        for batch, owner in zip(batches, owners):
            sink.write_table(batch.filter(pa.array(owner < 0)))
            if removed_log is not None:
                _log_removed(batch, owner, contaminants, removed_log)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    part.unlink()  # a hard link to the previous corpus's part at most: that corpus keeps its own
    return rows


def _log_removed(batch: pa.RecordBatch, owner: np.ndarray, contaminants: list[Contaminants], removed_log) -> None:
    columns = {name: batch.column(name) for name in ("doc_id", "source", "sent_idx", "text")}
    for row in np.flatnonzero(owner >= 0).tolist():
        rule = f"decontaminate:{Path(contaminants[owner[row]].path).name}"
        values = {name: column[row].as_py() for name, column in columns.items()}
        removed_log.add(values["doc_id"], values["source"], rule, values["sent_idx"], values["text"])
