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

The code: this module is the build's order of steps and its DuckDB work; the per-document steps
run in worker processes are in ``build_steps``, the counts, ``report.json`` and the summary in
``build_report``, the build folder (links, swap, recovery, lock) in ``build_folders``, the
``--decontaminate`` step in ``decontaminate``.

Each step is timed (``STEPS``: read, deidentify, normalise+clean, document filter, split, filter,
hash+MinHash, dedup, write);
the seconds are in the summary and in ``report.json`` under ``seconds_per_step``.

**Safe against a kill.** Everything is written into ``<workspace>/.corpus-build-<id>/``; for an
incremental build the existing corpus files are hard-linked in first. Only when the new corpus is
complete is it swapped in by ``storage.replace_dir`` (``corpus`` -> ``.corpus.<id>.old``, build ->
``corpus``). A kill at any moment leaves the previous ``corpus/`` as it was: the next Workspace.open
puts an old corpus caught between the renames back, and the next build removes leftover build folders.

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

import hashlib
import re
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kmb.corpus import dedup, document_filters, filters
from kmb.corpus.build_folders import (
    REPORT_NAME,
    build_lock,
    has_parts,
    link_tree,
    parts_glob,
    read_report,
    recover,
    swap_in,
    write_json,
)
from kmb.corpus.build_report import (  # noqa: F401  (STEPS, START_UP, progress_line: part of this module's surface)
    PROGRESS_EVERY_S,
    START_UP,
    STEPS,
    BuildReport,
    Tally,
    add_run_facts,
    progress_line,
    report_data,
)
from kmb.corpus.build_steps import process_documents, run_parallel, timed, workspace_not_names  # noqa: F401  (process_documents: surface)
from kmb.corpus.decontaminate import decontaminate_sentences, read_contaminants
from kmb.corpus.raw_input import checked_raw_files, new_document_batches, raw_rows
from kmb.corpus.removed import RemovedLog
from kmb.corpus.sentence_split import DEFAULT_BACKEND, DEFAULT_MAX_PIECE_CHARS
from kmb.errors import KmbError
from kmb.storage import CORPUS_DOCUMENTS, CORPUS_SIGNATURES, SENTENCES, ParquetSink, part_name
from kmb.workspace import Workspace

KSS_BACKENDS = ("punct", "mecab", "pecab")
KSS_BACKENDS = ("punct", "mecab", "pecab")
# Staged sentences carry a row id (build order) for "keep the first occurrence".
STAGED_SENTENCES = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(SENTENCES))
STAGED_SENTENCES = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(SENTENCES))
STAGED_DOCUMENTS = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(CORPUS_DOCUMENTS))
STAGED_DOCUMENTS = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(CORPUS_DOCUMENTS))
# Options that must match the existing corpus for an incremental build to make sense: the split
# assignment, and the MinHash signatures, which are only comparable under one hash and length.
_FIXED_SETTINGS = ("seed", "valid_ratio", "num_perm", "shingle_hash")
_FIXED_SETTINGS = ("seed", "valid_ratio", "num_perm", "shingle_hash")
# What a corpus whose report predates a fixed setting was built with.
_SETTING_BEFORE_RECORDED = {"num_perm": dedup.DEFAULT_NUM_PERM, "shingle_hash": "sha1"}

DEFAULT_SEED = 42
DEFAULT_SEED = 42
DEFAULT_VALID_RATIO = 0.1  # the paper: 90% train, 10% validation
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


# --- split assignment -------------------------------------------------------------------------
def assign_split(doc_id: str, seed: int, valid_ratio: float) -> str:
    digest = hashlib.md5(f"{seed}:{doc_id}".encode()).digest()
    return "valid" if int.from_bytes(digest[:8], "big") / 2**64 < valid_ratio else "train"


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
    raw_files = checked_raw_files(workspace)
    contaminants = read_contaminants(config.decontaminate)  # every file checked before any work
    if not config.deidentify_clinical and not config.deidentify and progress is not None:
        progress(
            "kmb: warning: clinical notes are NOT de-identified (--keep-clinical-identifiers): their "
            "identifiers go into the sentences, term counts, vocab and models"
        )
    root = workspace.root
    with build_lock(root):
        recover(root)
        corpus = workspace.corpus
        previous = read_report(corpus)
        incremental = not config.rebuild and previous is not None and has_parts(corpus / "documents")
        config = _settle_fixed_settings(config, previous if incremental else None, corpus)
        build_dir = root / f".corpus-build-{uuid.uuid4().hex[:8]}"
        build_dir.mkdir()
        try:
            existing = corpus if incremental else None
            deid_on = config.deidentify or config.deidentify_clinical
            not_names = workspace_not_names(workspace.terms) if deid_on else frozenset()
            report = _build_into(build_dir, existing, raw_files, config, progress, contaminants, not_names)
            report["deidentification"]["terms_as_not_names"] = len(not_names)
            add_run_facts(report, config, incremental, previous, started)
            if incremental and report["documents"]["read"] == 0 and not contaminants:
                shutil.rmtree(build_dir)  # nothing new: leave the corpus exactly as it is
                report["totals"] = previous.get("totals", {})
                return BuildReport(report)
            if report["totals"]["documents"] == 0 and report["documents"]["read"] == 0:
                raise KmbError(
                    f"the raw tables hold no documents ({len(raw_files)} file(s), 0 rows)", path=root / "raw"
                )
            write_json(build_dir / REPORT_NAME, report)
            swap_in(build_dir, corpus)
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


def _build_into(
    build_dir: Path,
    existing: Path | None,
    raw_files: list[Path],
    config: BuildConfig,
    progress,
    contaminants=(),
    not_names: frozenset[str] = frozenset(),
) -> dict:
    """The build as a sequence of steps, each counting and timing what it does."""
    import duckdb

    stage = build_dir / "stage"
    stage.mkdir()
    if existing is not None:
        for table in ("sentences", "documents", "signatures", "removed"):
            link_tree(existing / table, build_dir / table)
    con = duckdb.connect(str(stage / "scratch.duckdb"))
    removed_log = RemovedLog(build_dir / "removed")
    try:
        dedup.configure_duckdb(con, stage / "duckdb-tmp", config.duckdb_memory)
        documents = DocumentDedup(config.near_threshold, config.num_perm, stage)
        seen = _load_seen(existing, documents)
        tally = Tally(progress, max(raw_rows(raw_files) - len(seen), 0))
        batches = _timed_iter(new_document_batches(raw_files, seen, config.batch_docs), tally.seconds, "read")
        results = run_parallel(batches, config, tally.seconds, not_names)
        _stage_documents(results, config, stage, build_dir, documents, tally, removed_log)
        tally.show(final=True)
        with tally.timed("dedup"):
            new_part, kept_sentences = _dedup_sentences(con, stage, build_dir, existing)
        with tally.timed("write"):
            documents_written = _finish_documents(con, stage, build_dir, new_part)
        with tally.timed("decontaminate"):  # the whole corpus, existing sentences too
            decontamination = (
                decontaminate_sentences(build_dir / "sentences", contaminants, removed_log) if contaminants else None
            )
        with tally.timed("write"):
            removed = removed_log.close()
            totals = _totals(con, build_dir)
    except BaseException:
        removed_log.abort()
        raise
    finally:
        con.close()
    shutil.rmtree(stage, ignore_errors=True)
    report = report_data(config, tally, documents_written, kept_sentences, totals, documents.near_pairs)
    report["decontamination"] = decontamination
    report["removed"] = removed  # what corpus/removed/ got from this build, per rule
    return report


def _timed_iter(items: Iterable, seconds: Counter, step: str) -> Iterator:
    """Yield from ``items``, adding the time spent producing each item to ``seconds[step]``."""
    items = iter(items)
    while True:
        with timed(seconds, step):
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
    if has_parts(existing / "signatures"):
        for part in sorted((existing / "signatures").glob("*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches(10_000, columns=CORPUS_SIGNATURES.names):
                for doc_id, md5, minhash in zip(*(batch.column(i).to_pylist() for i in range(3))):
                    documents.add_kept(doc_id, md5, _unpack(minhash))
    return seen


def _stage_documents(
    results: Iterable[dict],
    config: BuildConfig,
    stage: Path,
    build_dir: Path,
    documents: DocumentDedup,
    tally: Tally,
    removed_log: RemovedLog,
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
            for sent_idx, text, rule in result["removed"]:
                removed_log.add(doc["doc_id"], doc["source"], rule, sent_idx, text)
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


def _dedup_sentences(con, stage: Path, build_dir: Path, existing: Path | None) -> dict:
    existing_glob = (
        parts_glob(existing / "sentences") if existing is not None and has_parts(existing / "sentences") else None
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
        [parts_glob(build_dir / "sentences")],
    ).fetchone()
    return {"documents": sentences[3], "sentences": sentences[0], "train": sentences[1], "valid": sentences[2]}


def _unpack(minhash: bytes):
    import numpy as np

    return np.frombuffer(minhash, dtype="<u4").astype("uint32")
