"""`kmb terms count`: how often each medical term occurs in the train split of the corpus.

Every term of ``terms/terms.parquet`` is looked for in every train sentence of
``corpus/sentences`` at once with an Aho-Corasick automaton (pyahocorasick: one pass over the
text finds all terms, however many there are). Sentences are streamed in Arrow record batches to
worker processes; each worker returns, per batch, (term, document, occurrences) triples; those go
through a temporary Parquet file and DuckDB sums them into ``terms/term_freq.parquet``
(TERM_FREQ: term, count, doc_freq, mode), one row per term, zero counts included.

Two ways to count a match:

- ``word-start`` (default): only where the term starts a word, i.e. at the start of the
  sentence or right after whitespace or punctuation (where BERT's basic tokenizer starts a word).
  That is the only place where WordPiece can use a whole-word vocab entry, and it stops short
  terms from being overcounted inside longer words (위 "stomach" inside 위험 "risk").
- ``anywhere`` (``--anywhere``): every substring occurrence, overlapping ones included.
"""

from __future__ import annotations

import os
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from kmb.errors import KmbError

WORD_START = "word-start"
ANYWHERE = "anywhere"


@dataclass
class CountConfig:
    anywhere: bool = False  # count every substring occurrence instead of word starts only
    workers: int = 0  # processes; 0 = one per CPU core, 1 = in this process
    batch_rows: int = 50_000  # sentences per batch sent to a worker
    split: str = "train"


# --- reading inputs ----------------------------------------------------------------------------
def read_terms(terms_path: Path) -> list[str]:
    """Distinct NFC terms of the terms table, in table order. Empty table -> KmbError."""
    import pyarrow.parquet as pq

    if not terms_path.is_file():
        raise KmbError("no term table: run `kmb terms import FILE` first", path=terms_path)
    column = pq.read_table(terms_path, columns=["term"]).column("term").to_pylist()
    seen: dict[str, None] = {}
    for term in column:
        if term:
            term = unicodedata.normalize("NFC", term.strip())
            if term:
                seen.setdefault(term, None)
    if not seen:
        raise KmbError("the term table is empty: nothing to count", path=terms_path)
    return list(seen)


def sentence_batches(sentences_dir: Path, split: str, batch_rows: int):
    """Stream (doc_id, text) record batches of one split of corpus/sentences."""
    import pyarrow.dataset as ds

    files = sorted(sentences_dir.glob("*.parquet"))
    if not files:
        raise KmbError("no corpus sentences: run `kmb corpus build` first", path=sentences_dir)
    dataset = ds.dataset([str(f) for f in files], format="parquet")
    yield from dataset.to_batches(columns=["doc_id", "text"], filter=ds.field("split") == split, batch_size=batch_rows)


# --- the worker side ---------------------------------------------------------------------------
class _BoundaryChars(dict):
    """Characters after which a word starts (whitespace, BERT's punctuation), decided on first sight."""

    def __missing__(self, ch: str) -> bool:
        cp = ord(ch)
        cat = unicodedata.category(ch)
        is_boundary = (
            ch.isspace()
            or cat == "Zs"
            or cat.startswith("P")
            or 33 <= cp <= 47
            or 58 <= cp <= 64
            or 91 <= cp <= 96
            or 123 <= cp <= 126
        )
        self[ch] = is_boundary
        return is_boundary


_AUTOMATON = None
_WORD_START_ONLY = True
_BOUNDARY = _BoundaryChars()


def init_worker(terms: list[str], anywhere: bool) -> None:
    """Build the automaton once per process (terms arrive pickled once, at pool start)."""
    import ahocorasick

    global _AUTOMATON, _WORD_START_ONLY
    automaton = ahocorasick.Automaton()
    for idx, term in enumerate(terms):
        automaton.add_word(term, (idx, len(term)))
    automaton.make_automaton()
    _AUTOMATON = automaton
    _WORD_START_ONLY = not anywhere


def count_batch(batch: pa.RecordBatch) -> pa.Table:
    """(term_id, doc_id, n) for one batch: occurrences of each term in each document."""
    import numpy as np
    import pyarrow.compute as pc

    docs = pc.dictionary_encode(batch.column("doc_id"))
    doc_codes = docs.indices.to_numpy(zero_copy_only=False)
    texts = batch.column("text").to_pylist()
    term_hits: list[int] = []
    doc_hits: list[int] = []
    iterate = _AUTOMATON.iter
    if _WORD_START_ONLY:
        boundary = _BOUNDARY
        for row, text in enumerate(texts):
            if not text:
                continue
            code = doc_codes[row]
            for end, (term, length) in iterate(text):
                start = end - length + 1
                if start == 0 or boundary[text[start - 1]]:
                    term_hits.append(term)
                    doc_hits.append(code)
    else:
        for row, text in enumerate(texts):
            if not text:
                continue
            code = doc_codes[row]
            for _end, (term, _length) in iterate(text):
                term_hits.append(term)
                doc_hits.append(code)
    n_docs = max(len(docs.dictionary), 1)
    if not term_hits:
        return pa.table({"term_id": pa.array([], pa.int32()), "doc_id": pa.array([], pa.string()), "n": pa.array([], pa.int64())})
    keys = np.asarray(term_hits, dtype=np.int64) * n_docs + np.asarray(doc_hits, dtype=np.int64)
    unique, counts = np.unique(keys, return_counts=True)
    return pa.table(
        {
            "term_id": pa.array((unique // n_docs).astype(np.int32)),
            "doc_id": docs.dictionary.take(pa.array(unique % n_docs)),
            "n": pa.array(counts.astype(np.int64)),
        }
    )


# --- the driver ----------------------------------------------------------------------------------
PAIRS = pa.schema([pa.field("term_id", pa.int32()), pa.field("doc_id", pa.string()), pa.field("n", pa.int64())])


def count_terms(terms: list[str], sentences_dir: Path, out_path: Path, config: CountConfig = CountConfig(), progress=None) -> dict:
    """Count `terms` in one split of the sentences under `sentences_dir`; write TERM_FREQ to `out_path`.

    Returns a summary dict. `progress(sentences_done)` is called after each batch when given.
    """
    import duckdb

    from kmb.corpus.storage import TERM_FREQ, ParquetSink, write_table

    if not terms:
        raise KmbError("the term table is empty: nothing to count")
    mode = ANYWHERE if config.anywhere else WORD_START
    workers = config.workers or os.cpu_count() or 1
    started = time.perf_counter()
    n_sentences = 0
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".term-count-", dir=out_path.parent))
    pairs_path = scratch / "pairs.parquet"
    try:
        seen = [0]

        def batches():  # count sentences as they are handed out
            for batch in sentence_batches(Path(sentences_dir), config.split, config.batch_rows):
                seen[0] += batch.num_rows
                yield batch

        with ParquetSink(pairs_path, PAIRS) as sink:
            if workers == 1:
                init_worker(terms, config.anywhere)
                for table in map(count_batch, batches()):
                    sink.write_table(table)
                    if progress:
                        progress(seen[0])
            else:
                import multiprocessing

                # spawn: a clean interpreter per worker, safe whatever threads the parent has.
                context = multiprocessing.get_context("spawn")
                with context.Pool(workers, initializer=init_worker, initargs=(terms, config.anywhere)) as pool:
                    for table in _bounded_map(pool, count_batch, batches(), in_flight=2 * workers):
                        sink.write_table(table)
                        if progress:
                            progress(seen[0])
        n_sentences = seen[0]
        con = duckdb.connect()
        try:
            names = pa.table({"term_id": pa.array(range(len(terms)), pa.int32()), "term": pa.array(terms, pa.string())})
            con.register("names", names)
            result = con.sql(
                f"""
                select names.term as term,
                       coalesce(agg.count, 0)::bigint as count,
                       coalesce(agg.doc_freq, 0)::bigint as doc_freq,
                       '{mode}' as mode
                from names
                left join (
                    select term_id, sum(n) as count, count(distinct doc_id) as doc_freq
                    from read_parquet('{pairs_path.as_posix()}') group by term_id
                ) agg using (term_id)
                order by count desc, names.term_id
                """
            ).to_arrow_table()
        finally:
            con.close()
        write_table(out_path, result, TERM_FREQ)
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    counts = result.column("count").to_numpy()
    return {
        "terms": len(terms),
        "sentences": n_sentences,
        "mode": mode,
        "terms seen": int((counts > 0).sum()),
        "terms seen >= 3 times": int((counts >= 3).sum()),
        "occurrences": int(counts.sum()),
        "workers": workers,
        "seconds": round(time.perf_counter() - started, 2),
        "output": str(out_path),
    }


def _bounded_map(pool, func, items, in_flight: int):
    """Like pool.imap, in order, but with at most `in_flight` items handed out at a time
    (Pool.imap reads its whole input ahead, which would pull the corpus into memory)."""
    from collections import deque

    pending = deque()
    for item in items:
        pending.append(pool.apply_async(func, (item,)))
        if len(pending) >= in_flight:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def count_workspace_terms(ws, config: CountConfig = CountConfig(), progress=None) -> dict:
    """`kmb terms count`: terms/terms.parquet x corpus/sentences (train) -> terms/term_freq.parquet."""
    terms = read_terms(ws.terms / "terms.parquet")
    summary = count_terms(terms, ws.corpus / "sentences", ws.terms / "term_freq.parquet", config, progress=progress)
    ws.refresh_views()
    return summary
