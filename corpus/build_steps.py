"""The per-document steps of `kmb corpus build`, run in worker processes.

:func:`process_documents` takes a batch of (doc_id, source, raw text) and runs, each step timed:
de-identify (clinical notes; every source with ``--deidentify``), normalise and clean, the
document filters, sentence splitting (kss where needed), the sentence filters, and the MD5 and
MinHash signature of the cleaned text. :func:`batch_results` runs batches in a process pool, in
order, with a bounded number in flight. The build itself (``kmb.corpus.build``) does everything
after: document dedup, sentence dedup, the split, the files.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmb.corpus import cleaning, dedup, document_filters, filters
from kmb.corpus.cleaning import CLINICAL_SOURCES
from kmb.corpus.normalise import normalise
from kmb.corpus.sentence_split import SentenceSplitter
from kmb.deid.detect import DeidConfig, deidentify

if TYPE_CHECKING:
    from kmb.corpus.build import BuildConfig


# --- the per-document work, run in worker processes ---------------------------------------------
_splitter: SentenceSplitter | None = None
_deid_config = DeidConfig()


def _worker_init(backend: str, fast_path: bool, max_piece_chars: int, not_names: frozenset[str] = frozenset()) -> None:
    global _splitter, _deid_config
    _deid_config = DeidConfig(not_names=not_names)
    import datasketch  # noqa: F401  (imported here, so that no document's MinHash pays for it)

    _splitter = SentenceSplitter(backend=backend, fast_path=fast_path, max_piece_chars=max_piece_chars)


@dataclass
class DocumentBatch:
    """What a worker returns for a batch: one dict per document, and its seconds per step."""

    documents: list[dict]
    seconds: Counter


@contextmanager
def timed(seconds: Counter, step: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[step] += time.perf_counter() - start


def process_documents(docs: list[tuple[str, str, str | None]], config: BuildConfig) -> DocumentBatch:
    """Normalise, clean, split, filter and hash a batch of (doc_id, source, text), step by step."""
    wanted = (config.backend, config.fast_path, config.max_piece_chars)
    if _splitter is None or (_splitter.backend, _splitter.fast_path, _splitter.max_piece_chars) != wanted:
        _worker_init(
            *wanted, _deid_config.not_names
        )  # in-process builds with other settings must not reuse the splitter
    seconds = Counter()
    results = [
        {
            "doc_id": doc_id,
            "source": source,
            "dropped": None,
            "clean": Counter(),
            "deid": Counter(),
            "filters": Counter(),
            "document_filters": Counter(),
            "split": Counter(),
            "sentences": [],
            "removed": [],  # (sent_idx or None, text, rule): what the filters took, for corpus/removed/
        }
        for doc_id, source, _ in docs
    ]
    with timed(seconds, "deidentify"):
        raw_texts = [_deidentify_step(result, raw_text, config) for result, (_, _, raw_text) in zip(results, docs)]
    with timed(seconds, "normalise_clean"):
        texts = [_normalise_and_clean(result, raw_text) for result, raw_text in zip(results, raw_texts)]
    with timed(seconds, "document_filter"):
        for result, text in zip(results, texts):
            _document_filter_step(result, text, config.document_filters)
    imported_before = _splitter.import_seconds
    with timed(seconds, "split"):
        for result, text in zip(results, texts):
            if result["dropped"] is None:
                _split_step(result, text)
    # The one-off kss import is start-up, not splitting: counted apart.
    seconds["split"] -= _splitter.import_seconds - imported_before
    seconds["kss_import"] += _splitter.import_seconds - imported_before
    with timed(seconds, "filter"):
        for result in results:
            _filter_step(result, config.filters)
    shingle_hash = config.shingle_hash or dedup.DEFAULT_SHINGLE_HASH  # None: not settled by a build
    with timed(seconds, "hash_minhash"):
        for result, text in zip(results, texts):
            if result["dropped"] is None:
                result["md5"] = dedup.text_md5(text)
                result["minhash"] = dedup.minhash_signature(text, config.num_perm, shingle_hash)
    return DocumentBatch(results, seconds)


def _deidentify_step(result: dict, raw_text: str | None, config: BuildConfig) -> str | None:
    """Step 1: identifiers out of clinical notes (of every source with ``--deidentify``), before any
    other step sees the text, so none reaches sentences, term counts, the vocab or the shards."""
    if not raw_text or not (config.deidentify or (config.deidentify_clinical and result["source"] in CLINICAL_SOURCES)):
        return raw_text
    deidentified = deidentify(unicodedata.normalize("NFC", raw_text), _deid_config)
    result["deid"] = Counter(kind for _, _, kind in deidentified.spans)
    result["deid"]["documents"] = 1
    return deidentified.text


def _normalise_and_clean(result: dict, raw_text: str | None) -> str:
    text = normalise(raw_text)
    if text:
        text, result["clean"] = cleaning.clean(text, result["source"])
    if not text:
        result["dropped"] = "empty_text"
    return text


def _document_filter_step(result: dict, text: str, config: document_filters.DocumentFilterConfig) -> None:
    """Step 2b: a whole web or news document that is repetitive or not prose is dropped, the rule
    it failed its reason (kmb.corpus.document_filters; papers, textbooks and clinical notes pass)."""
    if result["dropped"] is not None or not config.applies_to(result["source"]):
        return
    reason = document_filters.document_reject_reason(text, config)
    if reason is not None:
        result["dropped"] = reason
        result["document_filters"][reason] = 1
        result["removed"].append((None, text, reason))  # kept visible in corpus/removed/


def _split_step(result: dict, text: str) -> None:
    split = _splitter.split(text)
    result["split"] = Counter(
        sentences=len(split.sentences),
        fast_pieces=split.fast_pieces,
        kss_pieces=split.kss_pieces,
        too_long_pieces=split.too_long,
    )
    result["sentences"] = list(enumerate(split.sentences))


def _filter_step(result: dict, config: filters.FilterConfig) -> None:
    if result["dropped"] is not None:
        return
    kept = []
    for sent_idx, sentence in result["sentences"]:
        reason = filters.reject_reason(sentence, config)
        if reason:
            result["filters"][reason] += 1
            result["removed"].append((sent_idx, sentence, reason))
        else:
            kept.append((sent_idx, sentence))
    result["sentences"] = kept
    if not kept:
        result["dropped"] = "no_sentences"


def run_parallel(
    batches: Iterable[list[tuple]], config: BuildConfig, seconds: Counter, not_names: frozenset[str] = frozenset()
) -> Iterator[dict]:
    """Process batches in worker processes, in order, with a bounded number in flight; the
    workers' seconds per step are added to ``seconds``. ``not_names``: words the de-identification
    never takes for names (:func:`workspace_not_names`)."""
    for batch in batch_results(batches, config, not_names):
        seconds.update(batch.seconds)
        yield from batch.documents


def batch_results(
    batches: Iterable[list[tuple]], config: BuildConfig, not_names: frozenset[str] = frozenset()
) -> Iterator[DocumentBatch]:
    """:func:`process_documents` over the batches in ``config.workers`` processes (in this one for a
    single worker or batch), in order, a bounded number in flight, each worker ending with its parent."""
    import functools

    from kmb.worker_processes import map_in_order

    workers = config.workers or os.cpu_count() or 1
    # The words go to each worker once, not with every batch.
    initargs = (config.backend, config.fast_path, config.max_piece_chars, not_names)
    yield from map_in_order(
        functools.partial(process_documents, config=config), batches, workers, _worker_init, initargs
    )


# A name candidate is a surname and one or two syllables: at most four characters.
_LONGEST_NAME = 4


def workspace_not_names(terms_folder: Path) -> frozenset[str]:
    """The workspace's medical terms (``kmb terms import``: ``terms/terms.parquet``), which the
    de-identification never takes for names, as ``kmb deid run --not-names`` does with a file.
    Only terms a name could equal are kept (no longer than a name), so the set sent to the
    workers stays small and the names found are the same as with every term."""
    path = terms_folder / "terms.parquet"
    if not path.exists():
        return frozenset()
    import pyarrow.parquet as pq

    terms = pq.read_table(path, columns=["term"]).column("term").to_pylist()
    return frozenset(t for t in terms if t and len(t) <= _LONGEST_NAME)
