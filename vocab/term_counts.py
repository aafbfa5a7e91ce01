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
  terms from being overcounted inside other words (위 "stomach" inside 범위 "range", 단위 "unit").
- ``anywhere`` (``--anywhere``): every substring occurrence, overlapping ones included.
"""

from __future__ import annotations

import itertools
import os
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from kmb.errors import KmbError
from kmb.storage import make_temp_dir
from kmb.worker_processes import start_worker
from kmb.workspace import sentence_files

WORD_START = "word-start"
ANYWHERE = "anywhere"


@dataclass
class CountConfig:
    anywhere: bool = False  # count every substring occurrence instead of word starts only
    workers: int = 0  # processes; 0 = one per CPU core, 1 = in this process
    batch_rows: int = 20_000  # sentences per batch sent to a worker
    split: str = "train"

    def __post_init__(self):
        # The numeric options, checked on construction: before anything reads or writes the workspace.
        if self.workers < 0:
            raise KmbError(f"--workers must be 0 (one per CPU core) or more, not {self.workers}")
        if self.batch_rows < 1:
            raise KmbError(f"--batch-rows must be at least 1, not {self.batch_rows}")


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


def _sentences_dataset(sentences_dir: Path):
    import pyarrow.dataset as ds

    files = sentence_files(sentences_dir)
    return ds.dataset([str(f) for f in files], format="parquet")


def count_sentences(sentences_dir: Path, split: str) -> int:
    import pyarrow.dataset as ds

    return _sentences_dataset(sentences_dir).count_rows(filter=ds.field("split") == split)


def sentence_batches(sentences_dir: Path, split: str, batch_rows: int):
    """Stream (doc_id, text) record batches of one split of corpus/sentences."""
    import pyarrow.dataset as ds

    dataset = _sentences_dataset(sentences_dir)
    yield from dataset.to_batches(columns=["doc_id", "text"], filter=ds.field("split") == split, batch_size=batch_rows)


# --- the worker side ---------------------------------------------------------------------------
# Word starts are made visible to the automaton: a mark character goes at the start of every text
# and after every whitespace or punctuation character (BERT's basic tokenizer starts a word there;
# its punctuation is Unicode P* plus all ASCII symbols), in texts and in terms alike. A term then
# matches only where it starts a word, and the automaton, not a Python loop, does the filtering.
WORD_MARK = "\x01"
# Boundaries other than the plain space (which a literal replace handles, twice as fast): other
# whitespace (\t \n \f \r, the Zs/Zl/Zp separators), Unicode punctuation, ASCII symbols.
_OTHER_BOUNDARY = (
    r"([\t\n\f\r\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
    r"\p{P}\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e])"
)


def mark_word_starts(strings: pa.Array) -> pa.Array:
    """Prefix WORD_MARK and put it after each boundary character (vectorised in Arrow)."""
    import pyarrow.compute as pc

    marked = pc.replace_substring(strings, WORD_MARK, "")
    marked = pc.replace_substring(marked, " ", " " + WORD_MARK)
    marked = pc.replace_substring_regex(marked, _OTHER_BOUNDARY, "\\1" + WORD_MARK)
    return pc.binary_join_element_wise(WORD_MARK, marked, "")


_AUTOMATON = None
_WORD_START_ONLY = True


def init_worker(terms: list[str], anywhere: bool) -> None:
    """Build the automaton once per process (terms arrive pickled once, at pool start)."""
    import ahocorasick

    global _AUTOMATON, _WORD_START_ONLY
    keys = terms if anywhere else mark_word_starts(pa.array(terms, pa.string())).to_pylist()
    automaton = ahocorasick.Automaton()
    for idx, key in enumerate(keys):
        automaton.add_word(key, idx)
    automaton.make_automaton()
    _AUTOMATON = automaton
    _WORD_START_ONLY = not anywhere


def count_batch(batch: pa.RecordBatch) -> pa.Table:
    """(term_id, doc_id, n) for one batch: occurrences of each term in each document.

    The batch's texts are joined with newlines into one string and scanned in one call (no term
    holds a newline, so no match spans two sentences); match ends map back to rows by offset.
    """
    import numpy as np
    import pyarrow.compute as pc

    docs = pc.dictionary_encode(batch.column("doc_id"))
    doc_codes = docs.indices.to_numpy(zero_copy_only=False)
    texts = pc.fill_null(batch.column("text"), "")
    if _WORD_START_ONLY:
        texts = mark_word_starts(texts)
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
    row_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))  # +1: the newline after each text
    hits = list(_AUTOMATON.iter("\n".join(texts.to_pylist())))
    if not hits:
        return pa.table(
            {"term_id": pa.array([], pa.int32()), "doc_id": pa.array([], pa.string()), "n": pa.array([], pa.int64())}
        )
    # columns: end offset, term id (fromiter over the flattened pairs is much faster than np.array)
    found = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=2 * len(hits)).reshape(-1, 2)
    rows = np.searchsorted(row_starts, found[:, 0], side="right") - 1
    n_docs = max(len(docs.dictionary), 1)
    keys = found[:, 1] * n_docs + doc_codes[rows]
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


def count_terms(
    terms: list[str], sentences_dir: Path, out_path: Path, config: CountConfig | None = None, progress=None
) -> dict:
    """Count `terms` in one split of the sentences under `sentences_dir`; write TERM_FREQ to `out_path`.

    Returns a summary dict. `progress(sentences_done)` is called after each batch when given.
    """
    from kmb.storage import TERM_FREQ, write_table

    config = config or CountConfig()
    if not terms:
        raise KmbError("the term table is empty: nothing to count")
    mode = ANYWHERE if config.anywhere else WORD_START
    workers = _worker_count(config, count_sentences(Path(sentences_dir), config.split))
    started = time.perf_counter()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = make_temp_dir(out_path.parent, "term-count")
    pairs_path = scratch / "pairs.parquet"
    try:
        n_sentences = _write_match_pairs(terms, Path(sentences_dir), pairs_path, config, workers, progress)
        result = _sum_matches(terms, pairs_path, mode)
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


def _worker_count(config: CountConfig, n_rows: int) -> int:
    workers = config.workers or os.cpu_count() or 1
    n_batches = -(-n_rows // config.batch_rows)
    if config.workers == 0 and n_batches < 3:
        workers = 1  # starting processes (~1 s) costs more than a couple of batches take
    return max(1, min(workers, n_batches))


def _write_match_pairs(
    terms, sentences_dir: Path, pairs_path: Path, config: CountConfig, workers: int, progress
) -> int:
    """Scan the split's sentences, writing (term_id, doc_id, n) rows to `pairs_path`; returns the
    number of sentences read."""
    from kmb.storage import ParquetSink

    seen = [0]

    def batches():  # count sentences as they are handed out
        for batch in sentence_batches(sentences_dir, config.split, config.batch_rows):
            seen[0] += batch.num_rows
            yield batch

    with ParquetSink(pairs_path, PAIRS) as sink:
        if workers == 1:
            init_worker(terms, config.anywhere)
            tables = map(count_batch, batches())
            pool = None
        else:
            import multiprocessing

            # fork where there is one (Linux): workers start in milliseconds instead of the
            # ~1 s each a fresh interpreter needs; nothing here holds locks across the fork
            # (DuckDB is opened only afterwards; Arrow re-creates its thread pools in a child).
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            pool = context.Pool(
                workers, initializer=start_worker, initargs=(os.getpid(), init_worker, terms, config.anywhere)
            )
            tables = _bounded_map(pool, count_batch, batches(), in_flight=2 * workers)
        try:
            for table in tables:
                sink.write_table(table)
                if progress:
                    progress(seen[0])
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    return seen[0]


def _sum_matches(terms: list[str], pairs_path: Path, mode: str) -> pa.Table:
    """TERM_FREQ rows: one per term (zero counts included), most frequent first."""
    import duckdb

    con = duckdb.connect()
    try:
        names = pa.table({"term_id": pa.array(range(len(terms)), pa.int32()), "term": pa.array(terms, pa.string())})
        con.register("names", names)
        return con.sql(
            """
            select names.term as term,
                   coalesce(agg.count, 0)::bigint as count,
                   coalesce(agg.doc_freq, 0)::bigint as doc_freq,
                   $mode as mode
            from names
            left join (
                select term_id, sum(n) as count, count(distinct doc_id) as doc_freq
                from read_parquet($pairs) group by term_id
            ) agg using (term_id)
            order by count desc, names.term_id
            """,
            params={"mode": mode, "pairs": pairs_path.as_posix()},  # bound: a path is never SQL text
        ).to_arrow_table()
    finally:
        con.close()


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


def count_workspace_terms(ws, config: CountConfig | None = None, progress=None) -> dict:
    """`kmb terms count`: terms/terms.parquet x corpus/sentences (train) -> terms/term_freq.parquet."""
    with ws.lock("terms"):
        terms = read_terms(ws.terms / "terms.parquet")
        summary = count_terms(terms, ws.corpus / "sentences", ws.terms / "term_freq.parquet", config, progress=progress)
    ws.refresh_views_after_save()
    return summary
