"""Next-sentence-prediction pairs from the corpus sentences table, streamed.

KM-BERT's pair dataset ("six-million sentence pair dataset" from six million sentences): for each
document of a split, every sentence that has a next sentence gives one pair (A, B). Half of all
pairs, chosen at random, keep B = the next sentence (IsNext, label 0); the other half get B
replaced by a random sentence of another document (NotNext, label 1), so labels are 1:1.

`sent_idx` is the sentence's position in the document's original sequence; the corpus build
leaves a gap where it removed a sentence, and a pair is never made across a gap.

Memory stays bounded: DuckDB orders the split's sentences and writes them to an Arrow IPC file
that we memory-map; pairs are then produced in chunks of texts taken by row index from that file.
Only per-sentence numpy arrays (document number, has-next flag: 5 bytes a sentence) live in RAM.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from kmb.errors import KmbError
from kmb.storage import atomic_path

IS_NEXT, NOT_NEXT = 0, 1


@dataclass
class PairChunk:
    """One chunk of pairs: texts for the tokenizer plus where each side came from."""

    texts_a: list[str]
    texts_b: list[str]
    labels: np.ndarray  # int8, 0 IsNext / 1 NotNext
    doc_id_a: pa.Array
    sent_idx_a: pa.Array
    doc_id_b: pa.Array
    sent_idx_b: pa.Array


class OrderedSentences:
    """A split's sentences ordered by (doc_id, sent_idx), memory-mapped from an Arrow IPC file."""

    def __init__(self, path: Path):
        self.path = path
        self._source = pa.memory_map(str(path), "r")
        self.table = pa.ipc.open_file(self._source).read_all()
        self.doc_no = self.table.column("doc_no").to_numpy()
        self.has_next = self.table.column("has_next").to_numpy(zero_copy_only=False)

    def __len__(self) -> int:
        return self.table.num_rows

    def close(self) -> None:
        self.table = None
        self._source.close()


def write_ordered_sentences(sentence_files: list[Path], split: str, out_path: Path, batch_rows: int = 65_536) -> int:
    """Write the split's sentences, ordered, with doc number and has-next flag; returns the row count.

    ``has_next`` is true when the same document has a sentence with ``sent_idx + 1`` (so a gap, a
    removed sentence, breaks adjacency).
    """
    import duckdb

    files = [str(p) for p in sentence_files]
    query = """
        select doc_id, sent_idx, text,
               (dense_rank() over (order by doc_id) - 1)::int32 as doc_no,
               coalesce(lead(sent_idx) over (partition by doc_id order by sent_idx) = sent_idx + 1, false)
                   as has_next
        from read_parquet(?)
        where split = ?
        order by doc_id, sent_idx
    """
    con = duckdb.connect()
    rows = 0
    try:
        with atomic_path(out_path) as tmp:
            reader = con.sql(query, params=[files, split]).to_arrow_reader(batch_rows)
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
    except duckdb.Error as exc:
        raise KmbError(f"cannot read the corpus sentences: {exc}", path=sentence_files[0].parent) from exc
    finally:
        con.close()
    return rows


def choose_pairs(doc_no: np.ndarray, has_next: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (a, b) and labels of all pairs: one per sentence that has a next one.

    Exactly ``n // 2`` pairs (chosen at random) are NotNext, with B drawn uniformly from the
    sentences of other documents. Deterministic from ``seed``.
    """
    rng = np.random.default_rng(seed)
    a_rows = np.flatnonzero(has_next)
    n_pairs = len(a_rows)
    b_rows = a_rows + 1
    labels = np.full(n_pairs, IS_NEXT, dtype=np.int8)
    if n_pairs == 0:
        return a_rows, b_rows, labels
    if doc_no[-1] == doc_no[0]:
        raise KmbError("NotNext pairs need sentences from at least two documents, but this split has one")
    not_next = rng.choice(n_pairs, size=n_pairs // 2, replace=False)
    labels[not_next] = NOT_NEXT
    n_sentences = len(doc_no)
    random_b = rng.integers(0, n_sentences, size=len(not_next))
    # Redraw the few that landed in A's own document until none does.
    same = doc_no[random_b] == doc_no[a_rows[not_next]]
    while same.any():
        random_b[same] = rng.integers(0, n_sentences, size=int(same.sum()))
        same = doc_no[random_b] == doc_no[a_rows[not_next]]
    b_rows[not_next] = random_b
    return a_rows, b_rows, labels


def iter_pair_chunks(sentences: OrderedSentences, seed: int, chunk_pairs: int = 8192) -> Iterator[PairChunk]:
    """Yield the split's pairs in chunks, in document order (the trainer shuffles)."""
    a_rows, b_rows, labels = choose_pairs(sentences.doc_no, sentences.has_next, seed)
    table = sentences.table
    text, doc_id, sent_idx = table.column("text"), table.column("doc_id"), table.column("sent_idx")
    for start in range(0, len(a_rows), chunk_pairs):
        a = pa.array(a_rows[start : start + chunk_pairs])
        b = pa.array(b_rows[start : start + chunk_pairs])
        yield PairChunk(
            texts_a=text.take(a).to_pylist(),
            texts_b=text.take(b).to_pylist(),
            labels=labels[start : start + chunk_pairs],
            doc_id_a=doc_id.take(a).combine_chunks(),
            sent_idx_a=sent_idx.take(a).combine_chunks(),
            doc_id_b=doc_id.take(b).combine_chunks(),
            sent_idx_b=sent_idx.take(b).combine_chunks(),
        )
