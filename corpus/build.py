"""`kmb corpus build`: raw documents in, a clean, deduplicated sentence corpus out.

The pipeline, one small step each, every step counting what it keeps and drops:

    read new raw documents (pyarrow, one raw file at a time, streamed in batches, file order)
      -> in worker processes: de-identify (clinical notes; every source with --deidentify)
         -> normalise -> clean -> document filters (web and news sources: repetition, stopwords)
         -> split sentences -> filter sentences
         -> MD5 and MinHash signature of the cleaned text
      -> in this process, in build order: drop empty documents, exact and near-duplicate documents
      -> staged sentences -> exact sentence dedup in DuckDB -> 90/10 split by document
      -> corpus/sentences, corpus/documents, corpus/signatures, corpus/report.json

Each step is timed (``STEPS``: read, deidentify, normalise+clean, document filter, split, filter,
hash+MinHash, dedup, write);
the seconds are in the summary and in ``report.json`` under ``seconds_per_step``.

**Safe against a kill.** Everything is written into ``<workspace>/.corpus-build-<id>/``; for an
incremental build the existing corpus files are hard-linked in first. Only when the new corpus is
complete are the folders swapped (``corpus`` -> ``.corpus-old-<id>``, build -> ``corpus``). A kill at
any moment leaves the previous ``corpus/`` as it was; the next build removes the leftovers, and if a
kill fell between the two renames, puts the old corpus back first.

**Incremental.** A document whose doc_id is already in ``corpus/documents`` (kept or dropped) is
skipped, so re-running after a crawl added documents processes only those; they are deduplicated
against the kept corpus too (document MD5s and MinHash signatures in ``corpus/signatures``,
sentence hashes from ``corpus/sentences``). The settings that must not change between runs (seed,
valid ratio, MinHash permutations and shingle hash) are taken from the existing corpus; a corpus
built before the numpy shingle hash keeps datasketch's SHA-1 one. ``rebuild=True`` starts from nothing.

**NSP adjacency.** ``sent_idx`` is a sentence's position in its document's sentence sequence right
after splitting, before filters and sentence dedup. A sentence removed later leaves a gap in
``sent_idx``; pair-making treats only ``i`` and ``i + 1`` of one document as adjacent, so no
IsNext pair ever spans a removed sentence.

**Split.** A document's split is a function of (seed, doc_id) alone: ``md5(seed:doc_id)`` mapped to
[0, 1) and compared with ``valid_ratio``. It does not depend on build order or on which other
documents exist, so incremental builds and rebuilds agree.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kmb.corpus import cleaning, dedup, document_filters, filters
from kmb.corpus.cleaning import CLINICAL_SOURCES
from kmb.corpus.decontaminate import decontaminate_sentences, read_contaminants
from kmb.corpus.normalise import normalise
from kmb.corpus.sentence_split import DEFAULT_BACKEND, DEFAULT_MAX_PIECE_CHARS, SentenceSplitter
from kmb.deid.detect import TYPES, deidentify
from kmb.errors import KmbError
from kmb.storage import CORPUS_DOCUMENTS, CORPUS_SIGNATURES, SENTENCES, ParquetSink, parquet_footer, part_name
from kmb.workspace import Workspace

REPORT_NAME = "report.json"
KSS_BACKENDS = ("punct", "mecab", "pecab")
# Staged sentences carry a row id (build order) for "keep the first occurrence".
STAGED_SENTENCES = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(SENTENCES))
STAGED_DOCUMENTS = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(CORPUS_DOCUMENTS))
# Options that must match the existing corpus for an incremental build to make sense: the split
# assignment, and the MinHash signatures, which are only comparable under one hash and length.
_FIXED_SETTINGS = ("seed", "valid_ratio", "num_perm", "shingle_hash")
# What a corpus whose report predates a fixed setting was built with.
_SETTING_BEFORE_RECORDED = {"num_perm": dedup.DEFAULT_NUM_PERM, "shingle_hash": "sha1"}
# The steps timed in the report, in pipeline order. The worker steps (deidentify, normalise_clean,
# document_filter, split, filter, hash_minhash) are summed over the worker processes; the others
# run in this process.
STEPS = (
    "read",
    "deidentify",
    "normalise_clean",
    "document_filter",
    "split",
    "filter",
    "hash_minhash",
    "dedup",
    "write",
    "decontaminate",
)
START_UP = ("kss_import",)  # reported beside the steps: once per worker process, not per document
PROGRESS_EVERY_S = 2.0

DEFAULT_SEED = 42
DEFAULT_VALID_RATIO = 0.1  # the paper: 90% train, 10% validation
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


@dataclass(frozen=True)
class BuildConfig:
    # None: the existing corpus's value on an incremental build, else the default above.
    seed: int | None = None
    valid_ratio: float | None = None
    workers: int = 0  # 0: all cores
    backend: str = DEFAULT_BACKEND
    fast_path: bool = True
    near_threshold: float = dedup.DEFAULT_NEAR_THRESHOLD
    num_perm: int = dedup.DEFAULT_NUM_PERM
    shingle_hash: str | None = None  # None: the existing corpus's, else dedup.DEFAULT_SHINGLE_HASH
    filters: filters.FilterConfig = field(default_factory=filters.FilterConfig)
    document_filters: document_filters.DocumentFilterConfig = field(
        default_factory=document_filters.DocumentFilterConfig
    )
    max_piece_chars: int = DEFAULT_MAX_PIECE_CHARS
    batch_docs: int = 32  # documents per worker task
    rebuild: bool = False
    duckdb_memory: str = "700MB"
    deidentify: bool = False  # every source, not only clinical notes
    deidentify_clinical: bool = True  # clinical notes always, unless explicitly turned off
    decontaminate: tuple[str, ...] = ()  # evaluation files whose items no sentence may match

    def __post_init__(self):
        # Checked on construction, so that a bad option stops the command before it opens or
        # writes anything.
        check_build_options(self)

    def settings(self) -> dict:
        out = asdict(self)
        out.pop("rebuild")
        out.pop("workers")
        return out


def check_build_options(config: BuildConfig) -> None:
    """Every option of a build, checked before anything runs; a bad one is one KmbError line."""
    if config.seed is not None and config.seed < 0:
        raise KmbError(f"--seed must be >= 0, got {config.seed}")
    if config.valid_ratio is not None and not 0.0 <= config.valid_ratio < 1.0:
        raise KmbError(f"--valid-ratio must be in [0, 1), got {config.valid_ratio}")
    if config.workers < 0:
        raise KmbError(f"--workers must be >= 0 (0 = all cores), got {config.workers}")
    if not 0.0 < config.near_threshold <= 1.0:
        raise KmbError(f"--near-threshold must be in (0, 1], got {config.near_threshold}")
    if config.shingle_hash is not None and config.shingle_hash not in dedup.SHINGLE_HASHES:
        raise KmbError(f"unknown shingle_hash {config.shingle_hash!r}; choose one of {', '.join(dedup.SHINGLE_HASHES)}")
    if config.backend not in KSS_BACKENDS:
        # kss's "fast" backend is left out: its output is not repeatable within a process.
        raise KmbError(f"unknown --backend {config.backend!r}; choose one of {', '.join(KSS_BACKENDS)}")
    for name in ("num_perm", "max_piece_chars", "batch_docs"):
        if getattr(config, name) < 1:
            raise KmbError(f"{name} must be >= 1, got {getattr(config, name)}")
    if not _MEMORY.match(config.duckdb_memory):
        raise KmbError(f"duckdb_memory must look like 700MB or 2GB, got {config.duckdb_memory!r}")


# --- the per-document work, run in worker processes ---------------------------------------------
_splitter: SentenceSplitter | None = None


def _worker_init(backend: str, fast_path: bool, max_piece_chars: int) -> None:
    global _splitter
    import datasketch  # noqa: F401  (imported here, so that no document's MinHash pays for it)

    _splitter = SentenceSplitter(backend=backend, fast_path=fast_path, max_piece_chars=max_piece_chars)


@dataclass
class DocumentBatch:
    """What a worker returns for a batch: one dict per document, and its seconds per step."""

    documents: list[dict]
    seconds: Counter


@contextmanager
def _timed(seconds: Counter, step: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[step] += time.perf_counter() - start


def process_documents(docs: list[tuple[str, str, str | None]], config: BuildConfig) -> DocumentBatch:
    """Normalise, clean, split, filter and hash a batch of (doc_id, source, text), step by step."""
    wanted = (config.backend, config.fast_path, config.max_piece_chars)
    if _splitter is None or (_splitter.backend, _splitter.fast_path, _splitter.max_piece_chars) != wanted:
        _worker_init(*wanted)  # in-process builds with other settings must not reuse the splitter
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
        }
        for doc_id, source, _ in docs
    ]
    with _timed(seconds, "deidentify"):
        raw_texts = [_deidentify_step(result, raw_text, config) for result, (_, _, raw_text) in zip(results, docs)]
    with _timed(seconds, "normalise_clean"):
        texts = [_normalise_and_clean(result, raw_text) for result, raw_text in zip(results, raw_texts)]
    with _timed(seconds, "document_filter"):
        for result, text in zip(results, texts):
            _document_filter_step(result, text, config.document_filters)
    imported_before = _splitter.import_seconds
    with _timed(seconds, "split"):
        for result, text in zip(results, texts):
            if result["dropped"] is None:
                _split_step(result, text)
    # The one-off kss import is start-up, not splitting: counted apart.
    seconds["split"] -= _splitter.import_seconds - imported_before
    seconds["kss_import"] += _splitter.import_seconds - imported_before
    with _timed(seconds, "filter"):
        for result in results:
            _filter_step(result, config.filters)
    shingle_hash = config.shingle_hash or dedup.DEFAULT_SHINGLE_HASH  # None: not settled by a build
    with _timed(seconds, "hash_minhash"):
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
    deidentified = deidentify(unicodedata.normalize("NFC", raw_text))
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
        else:
            kept.append((sent_idx, sentence))
    result["sentences"] = kept
    if not kept:
        result["dropped"] = "no_sentences"


# --- split assignment -------------------------------------------------------------------------
def assign_split(doc_id: str, seed: int, valid_ratio: float) -> str:
    digest = hashlib.md5(f"{seed}:{doc_id}".encode()).digest()
    return "valid" if int.from_bytes(digest[:8], "big") / 2**64 < valid_ratio else "train"


# --- the build ---------------------------------------------------------------------------------
@dataclass
class BuildReport:
    data: dict

    def summary(self) -> dict:
        d = self.data
        return {
            "mode": d["mode"],
            "new documents read": d["documents"]["read"],
            "documents kept": d["documents"]["kept"],
            "documents dropped": ", ".join(f"{k} {v}" for k, v in d["documents"]["dropped"].items() if v) or "0",
            "document filters": _document_filter_summary(d),
            "de-identified": _deid_summary(d.get("deidentification")),
            "sentences split": d["splitting"]["sentences"],
            "sentences filtered": sum(d["filters"].values()),
            "duplicate sentences": d["sentence_dedup"]["duplicates_dropped"],
            "decontaminated": _decontamination_summary(d.get("decontamination")),
            "sentences kept": d["sentences"]["kept"],
            "corpus total": f"{d['totals']['documents']} documents, {d['totals']['sentences']} sentences "
            f"(train {d['totals']['train']}, valid {d['totals']['valid']})",
            "time": f"{d['seconds']:.1f} s ({d['sentences_per_second']:.0f} sentences/s)",
            "time per step": ", ".join(f"{k} {v:.1f} s" for k, v in d.get("seconds_per_step", {}).items()),
        }


def _decontamination_summary(decontamination: dict | None) -> str:
    if not decontamination:
        return "-"
    files = ", ".join(f"{Path(p).name} {v['sentences removed']:,}" for p, v in decontamination["files"].items())
    return f"{decontamination['sentences removed']:,} sentences removed ({files})"


def _document_filter_summary(d: dict) -> str:
    if not d["settings"].get("document_filters", {}).get("enabled", True):
        return "off (--no-document-filters)"
    counts = d.get("document_filters", {})
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "0 documents dropped"


def _deid_summary(deid: dict | None) -> str:
    if not deid or not deid["documents"]:
        return "0 documents"
    found = ", ".join(f"{k} {v:,}" for k, v in deid["identifiers"].items()) or "no identifiers found"
    return f"{deid['documents']:,} documents ({found})"


class _Tally:
    """Counts and seconds of every step of one build, and the progress line."""

    def __init__(self, progress: Callable[[str], None] | None, expected_documents: int):
        names = ("documents", "dropped", "clean", "deid", "filters", "document_filters", "split")
        self.counts = {name: Counter() for name in names}
        self.seconds = Counter()
        self.progress = progress
        self.expected = expected_documents
        self.started = self.last_shown = time.monotonic()

    def timed(self, step: str):
        return _timed(self.seconds, step)

    def add(self, result: dict) -> None:
        self.counts["documents"]["read"] += 1
        for name in ("clean", "deid", "filters", "document_filters", "split"):
            self.counts[name].update(result[name])
        if result["dropped"] is not None:
            self.counts["dropped"][result["dropped"]] += 1
        else:
            self.counts["documents"]["staged_sentences"] += len(result["sentences"])

    def show(self, final: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not final and now - self.last_shown < PROGRESS_EVERY_S):
            return
        self.last_shown = now
        self.progress(
            progress_line(
                self.counts["documents"]["read"], self.expected, self.counts["split"]["sentences"], now - self.started
            )
        )


def progress_line(documents: int, expected: int, sentences: int, elapsed: float) -> str:
    """``  ... 1,200 / 20,000 documents (6%), 16,480 sentences, 410 documents/s, ETA 0:00:41``"""
    rate = documents / elapsed if elapsed > 0 else 0.0
    left = max(expected - documents, 0)
    eta = time.strftime("%H:%M:%S", time.gmtime(left / rate)) if rate > 0 else "?"
    share = f" ({documents / expected:.0%})" if expected else ""
    return (
        f"  ... {documents:,} / {expected:,} documents{share}, {sentences:,} sentences, "
        f"{rate:,.{0 if rate >= 10 else 1}f} documents/s, ETA {eta}"
    )


def build_corpus(
    workspace: Workspace,
    config: BuildConfig = BuildConfig(),
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build (or extend) ``workspace``'s corpus from every raw document table. See the module doc.

    ``progress`` receives a line (documents done of all new raw documents, documents/s, ETA) at
    most every 2 s while documents are processed, and once at the end.
    """
    started = time.perf_counter()
    check_build_options(config)
    raw_files = _raw_files(workspace)
    contaminants = read_contaminants(config.decontaminate)  # every file checked before any work
    if not config.deidentify_clinical and not config.deidentify and progress is not None:
        progress(
            "kmb: warning: clinical notes are NOT de-identified (--keep-clinical-identifiers): their "
            "identifiers go into the sentences, term counts, vocab and models"
        )
    root = workspace.root
    with _build_lock(root):
        _recover(root)
        corpus = workspace.corpus
        previous = _read_report(corpus)
        incremental = not config.rebuild and previous is not None and _has_parts(corpus / "documents")
        config = _settle_fixed_settings(config, previous if incremental else None, corpus)
        build_dir = root / f".corpus-build-{uuid.uuid4().hex[:8]}"
        build_dir.mkdir()
        try:
            existing = corpus if incremental else None
            report = _build_into(build_dir, existing, raw_files, config, progress, contaminants)
            _add_run_facts(report, config, incremental, previous, started)
            if incremental and report["documents"]["read"] == 0 and not contaminants:
                shutil.rmtree(build_dir)  # nothing new: leave the corpus exactly as it is
                report["totals"] = previous.get("totals", {})
                return BuildReport(report)
            if report["totals"]["documents"] == 0 and report["documents"]["read"] == 0:
                raise KmbError(
                    f"the raw tables hold no documents ({len(raw_files)} file(s), 0 rows)", path=root / "raw"
                )
            _write_json(build_dir / REPORT_NAME, report)
            _swap_in(build_dir, corpus)
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
    workspace.refresh_views()
    return BuildReport(report)


def _settle_fixed_settings(config: BuildConfig, previous: dict | None, corpus: Path) -> BuildConfig:
    """Fill the settings left None (the existing corpus's, else the defaults); refuse a change."""
    fixed = {"seed": DEFAULT_SEED, "valid_ratio": DEFAULT_VALID_RATIO, "shingle_hash": dedup.DEFAULT_SHINGLE_HASH}
    recorded = {**_SETTING_BEFORE_RECORDED, **previous.get("settings", {})} if previous is not None else {}
    fixed.update({k: recorded.get(k, v) for k, v in fixed.items()})
    config = replace(config, **{k: v if getattr(config, k) is None else getattr(config, k) for k, v in fixed.items()})
    for key in _FIXED_SETTINGS if previous is not None else ():
        if recorded.get(key) != getattr(config, key):
            raise KmbError(
                f"--{key.replace('_', '-')} {getattr(config, key)} differs from the existing corpus "
                f"({recorded.get(key)}); use --rebuild to start over",
                path=corpus / REPORT_NAME,
            )
    return config


def _add_run_facts(report: dict, config: BuildConfig, incremental: bool, previous: dict | None, started: float) -> None:
    report["mode"] = "incremental" if incremental else ("rebuild" if config.rebuild else "fresh")
    report["seconds"] = time.perf_counter() - started
    report["sentences_per_second"] = report["splitting"]["sentences"] / max(report["seconds"], 1e-9)
    if previous is not None and incremental:
        report["previous_runs"] = (previous.get("previous_runs") or []) + [
            {
                k: previous.get(k)
                for k in (
                    "built_at",
                    "mode",
                    "documents",
                    "sentences",
                    "cleaning",
                    "splitting",
                    "document_filters",
                    "filters",
                    "sentence_dedup",
                )
            }
        ]


def _build_into(
    build_dir: Path, existing: Path | None, raw_files: list[Path], config: BuildConfig, progress, contaminants=()
) -> dict:
    """The build as a sequence of steps, each counting and timing what it does."""
    import duckdb

    stage = build_dir / "stage"
    stage.mkdir()
    if existing is not None:
        for table in ("sentences", "documents", "signatures"):
            _link_tree(existing / table, build_dir / table)
    con = duckdb.connect(str(stage / "scratch.duckdb"))
    try:
        dedup.configure_duckdb(con, stage / "duckdb-tmp", config.duckdb_memory)
        documents = DocumentDedup(config.near_threshold, config.num_perm, stage)
        seen = _load_seen(existing, documents)
        tally = _Tally(progress, max(_raw_rows(raw_files) - len(seen), 0))
        batches = _timed_iter(_new_document_batches(raw_files, seen, config.batch_docs), tally.seconds, "read")
        _stage_documents(_run_parallel(batches, config, tally.seconds), config, stage, build_dir, documents, tally)
        tally.show(final=True)
        with tally.timed("dedup"):
            new_part, kept_sentences = _dedup_sentences(con, stage, build_dir, existing)
        with tally.timed("write"):
            documents_written = _finish_documents(con, stage, build_dir, new_part)
        with tally.timed("decontaminate"):  # the whole corpus, existing sentences too
            decontamination = decontaminate_sentences(build_dir / "sentences", contaminants) if contaminants else None
        with tally.timed("write"):
            totals = _totals(con, build_dir)
    finally:
        con.close()
    shutil.rmtree(stage, ignore_errors=True)
    report = _report_data(config, tally, documents_written, kept_sentences, totals, documents.near_pairs)
    report["decontamination"] = decontamination
    return report


def _timed_iter(items: Iterable, seconds: Counter, step: str) -> Iterator:
    """Yield from ``items``, adding the time spent producing each item to ``seconds[step]``."""
    items = iter(items)
    while True:
        with _timed(seconds, step):
            item = next(items, _END)
        if item is _END:
            return
        yield item


_END = object()


class DocumentDedup:
    """Exact (MD5) and near (MinHash LSH) duplicate documents, first one in build order kept."""

    def __init__(self, near_threshold: float, num_perm: int, directory: Path | None = None):
        self.seen_md5: dict[str, str] = {}
        self.index = dedup.NearDuplicateIndex(near_threshold, num_perm, directory)  # signatures on disk there
        self.near_pairs: list[dict] = []

    def add_kept(self, doc_id: str, md5: str, signature) -> None:
        self.seen_md5.setdefault(md5, doc_id)
        self.index.add(doc_id, signature)

    def check(self, doc: dict, md5: str, signature) -> bool:
        """Mark ``doc`` as an exact or near duplicate, or record it as kept (returns True)."""
        if md5 in self.seen_md5:
            doc["dropped"], doc["duplicate_of"] = "exact_duplicate", self.seen_md5[md5]
            return False
        match = self.index.find_or_add(doc["doc_id"], signature)
        if match is not None:
            doc["dropped"], doc["duplicate_of"] = "near_duplicate", match.doc_id
            self.near_pairs.append(
                {"doc_id": doc["doc_id"], "duplicate_of": match.doc_id, "jaccard": round(match.jaccard, 3)}
            )
            return False
        self.seen_md5.setdefault(md5, doc["doc_id"])
        return True


def _load_seen(existing: Path | None, documents: DocumentDedup) -> set[str]:
    """The existing corpus's doc ids (returned; about 100 bytes each) and signatures."""
    seen: set[str] = set()
    if existing is None:
        return seen
    for part in sorted((existing / "documents").glob("*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(100_000, columns=["doc_id"]):
            seen.update(batch.column(0).to_pylist())
    if _has_parts(existing / "signatures"):
        for part in sorted((existing / "signatures").glob("*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches(10_000, columns=CORPUS_SIGNATURES.names):
                for doc_id, md5, minhash in zip(*(batch.column(i).to_pylist() for i in range(3))):
                    documents.add_kept(doc_id, md5, _unpack(minhash))
    return seen


def _raw_rows(raw_files: list[Path]) -> int:
    """Rows in the raw tables, from the Parquet footers (the progress display's total)."""
    total = 0
    for path in raw_files:
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except Exception:  # an unreadable file is reported, with its path, when it is read
            pass
    return total


def _stage_documents(
    results: Iterable[dict], config: BuildConfig, stage: Path, build_dir: Path, documents: DocumentDedup, tally: _Tally
) -> None:
    """Document dedup in build order, then stage each document and its sentences."""
    row_id = 0
    with (
        ParquetSink(stage / "sentences.parquet", STAGED_SENTENCES) as sentence_sink,
        ParquetSink(stage / "documents.parquet", STAGED_DOCUMENTS) as document_sink,
        ParquetSink(build_dir / "signatures" / part_name(), CORPUS_SIGNATURES) as signature_sink,
    ):
        for result in results:
            row_id += 1
            doc = {
                "row_id": row_id,
                "doc_id": result["doc_id"],
                "source": result["source"],
                "split": None,
                "n_sentences": 0,
                "n_words": 0,
                "n_chars": 0,
                "dropped": result["dropped"],
                "duplicate_of": None,
            }
            with tally.timed("dedup"):
                kept = doc["dropped"] is None and documents.check(doc, result["md5"], result["minhash"])
            result["dropped"] = doc["dropped"]
            tally.add(result)
            with tally.timed("write"):
                if kept:
                    signature_sink.write_row(
                        {
                            "doc_id": doc["doc_id"],
                            "text_md5": result["md5"],
                            "minhash": result["minhash"].astype("<u4").tobytes(),
                        }
                    )
                    doc["split"] = assign_split(doc["doc_id"], config.seed, config.valid_ratio)
                    for sent_idx, text in result["sentences"]:
                        sentence_sink.write_row(
                            {
                                "row_id": row_id * 1_000_000 + sent_idx,
                                "doc_id": doc["doc_id"],
                                "source": doc["source"],
                                "sent_idx": sent_idx,
                                "text": text,
                                "n_chars": len(text),
                                "n_words": len(text.split()),
                                "split": doc["split"],
                            }
                        )
                document_sink.write_row(doc)
            tally.show()


def _report_data(
    config: BuildConfig,
    tally: _Tally,
    documents_written: Counter,
    kept_sentences: dict,
    totals: dict,
    near_pairs: list[dict],
) -> dict:
    counts = tally.counts
    dropped = {
        k: counts["dropped"].get(k, 0) for k in ("empty_text", "no_sentences", "exact_duplicate", "near_duplicate")
    }
    dropped["all_sentences_duplicate"] = documents_written.get("all_sentences_duplicate", 0)
    rules = {name: counts["document_filters"].get(name, 0) for name in document_filters.DOCUMENT_FILTER_RULES}
    rules.update(counts["document_filters"])  # and the n-grams of a config with other n
    dropped["document_filter"] = sum(rules.values())
    staged = counts["documents"]["staged_sentences"]
    return {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": config.settings(),
        "documents": {
            "read": counts["documents"]["read"],
            "kept": documents_written.get("kept", 0),
            "dropped": dropped,
        },
        "deidentification": {
            "documents": counts["deid"].get("documents", 0),
            "identifiers": {k: counts["deid"][k] for k in TYPES if counts["deid"].get(k)},
        },
        "cleaning": {name: counts["clean"].get(name, 0) for name in cleaning.ALL_RULE_NAMES},
        "splitting": {
            k: counts["split"].get(k, 0) for k in ("sentences", "fast_pieces", "kss_pieces", "too_long_pieces")
        },
        "document_filters": rules,  # documents dropped per rule (their reason in corpus/documents)
        "filters": {name: counts["filters"].get(name, 0) for name in filters.FILTER_RULES},
        "sentence_dedup": {"duplicates_dropped": staged - kept_sentences["kept"]},
        "sentences": kept_sentences,
        "near_duplicates": near_pairs[:1000],
        "near_duplicates_total": len(near_pairs),
        "totals": totals,
        # Worker steps are summed over the workers (CPU seconds), the others are this process's.
        "seconds_per_step": {step: round(tally.seconds.get(step, 0.0), 3) for step in STEPS + START_UP},
    }


def _new_document_batches(raw_files: list[Path], seen: set[str], batch_docs: int) -> Iterator[list[tuple]]:
    """Documents not yet in the corpus, file by file in name order, each file in row order.

    Streamed one Parquet batch at a time (memory does not grow with a file: a DuckDB query that
    kept the first row per doc_id in file order held the whole file, 0.6 GB for 200,000
    documents). A doc_id seen before, in the corpus, an earlier file or earlier in this file, is
    skipped, and a null one too; ``seen`` gains the new ids."""
    for path in raw_files:
        names = _check_raw_file(path)
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


def _run_parallel(batches: Iterable[list[tuple]], config: BuildConfig, seconds: Counter) -> Iterator[dict]:
    """Process batches in worker processes, in order, with a bounded number in flight; the
    workers' seconds per step are added to ``seconds``."""
    for batch in _batch_results(batches, config):
        seconds.update(batch.seconds)
        yield from batch.documents


def _batch_results(batches: Iterable[list[tuple]], config: BuildConfig) -> Iterator[DocumentBatch]:
    workers = config.workers or os.cpu_count() or 1
    batches = iter(batches)
    first = list(itertools.islice(batches, 2))
    if workers <= 1 or len(first) < 2:  # one batch: starting worker processes would cost more
        for batch in itertools.chain(first, batches):
            yield process_documents(batch, config)
        return
    batches = itertools.chain(first, batches)
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # DuckDB and Arrow threads do not survive fork
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(config.backend, config.fast_path, config.max_piece_chars),
    ) as pool:
        in_flight = []
        for batch in batches:
            in_flight.append(pool.submit(process_documents, batch, config))
            if len(in_flight) >= workers * 3:
                yield in_flight.pop(0).result()
        for future in in_flight:
            yield future.result()


def _dedup_sentences(con, stage: Path, build_dir: Path, existing: Path | None) -> dict:
    existing_glob = (
        _glob(existing / "sentences") if existing is not None and _has_parts(existing / "sentences") else None
    )
    query, params = dedup.dedup_sentences_sql((stage / "sentences.parquet").as_posix(), existing_glob)
    counts = Counter()
    columns = SENTENCES.names
    part = build_dir / "sentences" / part_name()
    with ParquetSink(part, SENTENCES) as sink:
        reader = con.sql(f"select {', '.join(columns)} from ({query})", params=params).to_arrow_reader(64_000)
        for batch in reader:
            sink.write_table(batch)
            splits = batch.column(columns.index("split")).value_counts()
            for item in splits.to_pylist():
                counts[item["values"]] += item["counts"]
    return part, {"kept": sum(counts.values()), "train": counts.get("train", 0), "valid": counts.get("valid", 0)}


def _finish_documents(con, stage: Path, build_dir: Path, new_part: Path) -> Counter:
    """Write the documents part with sentence counts after dedup; returns kept/dropped counts."""
    params = {"sentences": new_part.as_posix(), "documents": (stage / "documents.parquet").as_posix()}
    query = """
        with c as (
            select doc_id, count(*)::int as n, sum(n_words)::bigint as w, sum(n_chars)::bigint as ch
            from read_parquet($sentences) group by doc_id
        )
        select d.doc_id, d.source,
               case when d.dropped is null and c.n is not null then d.split end as split,
               coalesce(c.n, 0) as n_sentences, coalesce(c.w, 0) as n_words, coalesce(c.ch, 0) as n_chars,
               case when d.dropped is null and c.n is null then 'all_sentences_duplicate' else d.dropped end
                   as dropped,
               d.duplicate_of
        from read_parquet($documents) d left join c using (doc_id) order by d.row_id
    """
    counts = Counter()
    with ParquetSink(build_dir / "documents" / part_name(), CORPUS_DOCUMENTS) as sink:
        for batch in con.sql(query, params=params).to_arrow_reader(64_000):
            sink.write_table(batch)
            for value in batch.column(6).to_pylist():
                counts[value or "kept"] += 1
    return counts


def _totals(con, build_dir: Path) -> dict:
    sentences = con.execute(
        "select count(*), count(*) filter (where split = 'train'), count(*) filter (where split = 'valid'), "
        "count(distinct doc_id) from read_parquet(?)",
        [_glob(build_dir / "sentences")],
    ).fetchone()
    return {"documents": sentences[3], "sentences": sentences[0], "train": sentences[1], "valid": sentences[2]}


# --- raw input checks ---------------------------------------------------------------------------
def _raw_files(workspace: Workspace) -> list[Path]:
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
        _check_raw_file(path)
    return files


def _check_raw_file(path: Path) -> list[str]:
    names = parquet_footer(path).schema.to_arrow_schema().names  # a damaged file: one line naming it
    missing = {"doc_id", "text"} - set(names)
    if missing:
        raise KmbError(f"raw table lacks column(s) {', '.join(sorted(missing))}", path=path)
    return names


# --- folders: build, swap, recover --------------------------------------------------------------
def _has_parts(folder: Path) -> bool:
    return folder.is_dir() and next(folder.glob("*.parquet"), None) is not None


def _glob(folder: Path) -> str:
    return (folder / "*.parquet").as_posix()


def _unpack(minhash: bytes):
    import numpy as np

    return np.frombuffer(minhash, dtype="<u4").astype("uint32")


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link a folder's files into a new folder (copy where links are not possible)."""
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for path in source.glob("*.parquet"):
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def _swap_in(build_dir: Path, corpus: Path) -> None:
    """Replace ``corpus`` by ``build_dir`` with two renames; see _recover for the gap between them."""
    old = corpus.parent / f".corpus-old-{build_dir.name.rsplit('-', 1)[-1]}"
    _fsync_tree(build_dir)
    if corpus.exists():
        os.replace(corpus, old)
    os.replace(build_dir, corpus)
    _fsync_dir(corpus.parent)
    shutil.rmtree(old, ignore_errors=True)


def _recover(root: Path) -> None:
    """Clean up after a killed build: restore a corpus caught between renames, drop leftovers."""
    corpus = root / "corpus"
    olds = sorted(root.glob(".corpus-old-*"), key=os.path.getmtime)
    if olds and (not corpus.exists() or not any(corpus.iterdir())):
        if corpus.exists():
            corpus.rmdir()
        os.replace(olds.pop(), corpus)
    for leftover in olds + list(root.glob(".corpus-build-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    corpus.mkdir(exist_ok=True)


class _build_lock:
    """One build per workspace at a time (an flock on <workspace>/.corpus-build.lock)."""

    def __init__(self, root: Path):
        self.path = root / ".corpus-build.lock"

    def __enter__(self):
        self.fh = open(self.path, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise KmbError("another corpus build is running in this workspace", path=self.path) from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _read_report(corpus: Path) -> dict | None:
    path = corpus / REPORT_NAME
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KmbError(f"unreadable build report ({exc}); use --rebuild", path=path) from None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for sub in [folder] + [p for p in folder.rglob("*") if p.is_dir()]:
        _fsync_dir(sub)
