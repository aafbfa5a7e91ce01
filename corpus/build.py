"""`kmb corpus build`: raw documents in, a clean, deduplicated sentence corpus out.

The pipeline, one small step each, every step counting what it keeps and drops:

    read new raw documents (DuckDB, one raw file at a time, in batches)
      -> in worker processes: normalise -> clean -> split sentences -> filter sentences
         -> MD5 and MinHash signature of the cleaned text
      -> in this process, in build order: drop empty documents, exact and near-duplicate documents
      -> staged sentences -> exact sentence dedup in DuckDB -> 90/10 split by document
      -> corpus/sentences, corpus/documents, corpus/signatures, corpus/report.json

**Safe against a kill.** Everything is written into ``<workspace>/.corpus-build-<id>/``; for an
incremental build the existing corpus files are hard-linked in first. Only when the new corpus is
complete are the folders swapped (``corpus`` -> ``.corpus-old-<id>``, build -> ``corpus``). A kill at
any moment leaves the previous ``corpus/`` as it was; the next build removes the leftovers, and if a
kill fell between the two renames, puts the old corpus back first.

**Incremental.** A document whose doc_id is already in ``corpus/documents`` (kept or dropped) is
skipped, so re-running after a crawl added documents processes only those; they are deduplicated
against the kept corpus too (document MD5s and MinHash signatures in ``corpus/signatures``,
sentence hashes from ``corpus/sentences``). ``rebuild=True`` starts from nothing.

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
import shutil
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from kmb.corpus import cleaning, dedup, filters
from kmb.corpus.normalise import normalise
from kmb.corpus.sentence_split import DEFAULT_BACKEND, DEFAULT_MAX_PIECE_CHARS, SentenceSplitter
from kmb.storage import CORPUS_DOCUMENTS, CORPUS_SIGNATURES, SENTENCES, ParquetSink, part_name
from kmb.workspace import Workspace
from kmb.errors import KmbError

REPORT_NAME = "report.json"
KSS_BACKENDS = ("punct", "mecab", "pecab")
# Staged sentences carry a row id (build order) for "keep the first occurrence".
STAGED_SENTENCES = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(SENTENCES))
STAGED_DOCUMENTS = pa.schema([pa.field("row_id", pa.int64(), nullable=False)] + list(CORPUS_DOCUMENTS))
# Options that must match the existing corpus for an incremental build to make sense.
_FIXED_SETTINGS = ("seed", "valid_ratio")


DEFAULT_SEED = 42
DEFAULT_VALID_RATIO = 0.1  # the paper: 90% train, 10% validation


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
    filters: filters.FilterConfig = field(default_factory=filters.FilterConfig)
    max_piece_chars: int = DEFAULT_MAX_PIECE_CHARS
    batch_docs: int = 32  # documents per worker task
    rebuild: bool = False
    duckdb_memory: str = "700MB"

    def settings(self) -> dict:
        out = asdict(self)
        out.pop("rebuild")
        out.pop("workers")
        return out


# --- the per-document work, run in worker processes ---------------------------------------------
_splitter: SentenceSplitter | None = None


def _worker_init(backend: str, fast_path: bool, max_piece_chars: int) -> None:
    global _splitter
    _splitter = SentenceSplitter(backend=backend, fast_path=fast_path, max_piece_chars=max_piece_chars)


def process_documents(docs: list[tuple[str, str, str | None]], config: BuildConfig) -> list[dict]:
    """Normalise, clean, split and filter a batch of (doc_id, source, text); one dict per document."""
    wanted = (config.backend, config.fast_path, config.max_piece_chars)
    if _splitter is None or (_splitter.backend, _splitter.fast_path, _splitter.max_piece_chars) != wanted:
        _worker_init(*wanted)  # in-process builds with other settings must not reuse the splitter
    out = []
    for doc_id, source, raw_text in docs:
        result = {"doc_id": doc_id, "source": source, "dropped": None, "clean": Counter(),
                  "filters": Counter(), "split": Counter(), "sentences": []}
        text = normalise(raw_text)
        if text:
            text, result["clean"] = cleaning.clean(text, source)
        if not text:
            result["dropped"] = "empty_text"
            out.append(result)
            continue
        split = _splitter.split(text)
        result["split"] = Counter(sentences=len(split.sentences), fast_pieces=split.fast_pieces,
                                  kss_pieces=split.kss_pieces, too_long_pieces=split.too_long)
        for sent_idx, sentence in enumerate(split.sentences):
            reason = filters.reject_reason(sentence, config.filters)
            if reason:
                result["filters"][reason] += 1
            else:
                result["sentences"].append((sent_idx, sentence))
        if not result["sentences"]:
            result["dropped"] = "no_sentences"
        else:
            result["md5"] = dedup.text_md5(text)
            result["minhash"] = dedup.minhash_signature(text, config.num_perm)
        out.append(result)
    return out


# --- split assignment -------------------------------------------------------------------------
def assign_split(doc_id: str, seed: int, valid_ratio: float) -> str:
    digest = hashlib.md5(f"{seed}:{doc_id}".encode("utf-8")).digest()
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
            "sentences split": d["splitting"]["sentences"],
            "sentences filtered": sum(d["filters"].values()),
            "duplicate sentences": d["sentence_dedup"]["duplicates_dropped"],
            "sentences kept": d["sentences"]["kept"],
            "corpus total": f"{d['totals']['documents']} documents, {d['totals']['sentences']} sentences "
            f"(train {d['totals']['train']}, valid {d['totals']['valid']})",
            "time": f"{d['seconds']:.1f} s ({d['sentences_per_second']:.0f} sentences/s)",
        }


def build_corpus(
    workspace: Workspace,
    config: BuildConfig = BuildConfig(),
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build (or extend) ``workspace``'s corpus from every raw document table. See the module doc."""
    started = time.perf_counter()
    raw_files = _raw_files(workspace)
    if config.valid_ratio is not None and not 0.0 <= config.valid_ratio < 1.0:
        raise KmbError(f"--valid-ratio must be in [0, 1), got {config.valid_ratio}")
    if not 0.0 < config.near_threshold <= 1.0:
        raise KmbError(f"--near-threshold must be in (0, 1], got {config.near_threshold}")
    if config.backend not in KSS_BACKENDS:
        # kss's "fast" backend is left out: its output is not repeatable within a process.
        raise KmbError(f"unknown --backend {config.backend!r}; choose one of {', '.join(KSS_BACKENDS)}")
    root = workspace.root
    with _build_lock(root):
        _recover(root)
        corpus = workspace.corpus
        previous = _read_report(corpus)
        incremental = not config.rebuild and previous is not None and _has_parts(corpus / "documents")
        fixed = {"seed": DEFAULT_SEED, "valid_ratio": DEFAULT_VALID_RATIO}
        if incremental:
            fixed.update({k: previous.get("settings", {}).get(k, v) for k, v in fixed.items()})
        config = replace(config, **{k: v if getattr(config, k) is None else getattr(config, k)
                                    for k, v in fixed.items()})
        if incremental:
            for key in _FIXED_SETTINGS:
                if previous.get("settings", {}).get(key) != getattr(config, key):
                    raise KmbError(
                        f"--{key.replace('_', '-')} {getattr(config, key)} differs from the existing corpus "
                        f"({previous['settings'].get(key)}); use --rebuild to start over",
                        path=corpus / REPORT_NAME,
                    )
        build_dir = root / f".corpus-build-{uuid.uuid4().hex[:8]}"
        build_dir.mkdir()
        try:
            report = _build_into(build_dir, corpus if incremental else None, raw_files, config, progress)
            report["mode"] = "incremental" if incremental else ("rebuild" if config.rebuild else "fresh")
            report["seconds"] = time.perf_counter() - started
            report["sentences_per_second"] = report["splitting"]["sentences"] / max(report["seconds"], 1e-9)
            if previous is not None and incremental:
                report["previous_runs"] = (previous.get("previous_runs") or []) + [
                    {k: previous.get(k) for k in ("built_at", "mode", "documents", "sentences", "cleaning",
                                                  "splitting", "filters", "sentence_dedup")}
                ]
            if incremental and report["documents"]["read"] == 0:
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


def _build_into(build_dir: Path, existing: Path | None, raw_files: list[Path], config: BuildConfig,
                progress) -> dict:
    import duckdb

    stage = build_dir / "stage"
    stage.mkdir()
    if existing is not None:
        for table in ("sentences", "documents", "signatures"):
            _link_tree(existing / table, build_dir / table)
    counts = {
        "documents": Counter(), "dropped": Counter(), "clean": Counter(), "filters": Counter(),
        "split": Counter(),
    }
    near_pairs: list[dict] = []
    con = duckdb.connect(str(stage / "scratch.duckdb"))
    try:
        dedup.configure_duckdb(con, stage / "duckdb-tmp", config.duckdb_memory)
        seen_md5: dict[str, str] = {}
        index = dedup.NearDuplicateIndex(config.near_threshold, config.num_perm)
        con.execute("create table seen (doc_id varchar)")
        if existing is not None:
            if _has_parts(existing / "documents"):
                con.execute(f"insert into seen select doc_id from read_parquet('{_glob(existing / 'documents')}')")
            if _has_parts(existing / "signatures"):
                for part in sorted((existing / "signatures").glob("*.parquet")):
                    for batch in pq.ParquetFile(part).iter_batches(10_000, columns=CORPUS_SIGNATURES.names):
                        for doc_id, md5, minhash in zip(*(batch.column(i).to_pylist() for i in range(3))):
                            seen_md5.setdefault(md5, doc_id)
                            index.add(doc_id, _unpack(minhash))

        row_id = 0
        sentences_seen = 0
        with ParquetSink(stage / "sentences.parquet", STAGED_SENTENCES) as sentence_sink, \
                ParquetSink(stage / "documents.parquet", STAGED_DOCUMENTS) as document_sink, \
                ParquetSink(build_dir / "signatures" / part_name(), CORPUS_SIGNATURES) as signature_sink:
            batches = _new_document_batches(con, raw_files, config.batch_docs)
            for result in _run_parallel(batches, config):
                row_id += 1
                counts["documents"]["read"] += 1
                counts["clean"].update(result["clean"])
                counts["filters"].update(result["filters"])
                counts["split"].update(result["split"])
                doc = {"row_id": row_id, "doc_id": result["doc_id"], "source": result["source"], "split": None,
                       "n_sentences": 0, "n_words": 0, "n_chars": 0, "dropped": result["dropped"],
                       "duplicate_of": None}
                if doc["dropped"] is None:
                    md5, signature = result["md5"], result["minhash"]
                    if md5 in seen_md5:
                        doc["dropped"], doc["duplicate_of"] = "exact_duplicate", seen_md5[md5]
                    else:
                        match = index.find(signature)
                        if match is not None:
                            doc["dropped"], doc["duplicate_of"] = "near_duplicate", match.doc_id
                            near_pairs.append({"doc_id": doc["doc_id"], "duplicate_of": match.doc_id,
                                               "jaccard": round(match.jaccard, 3)})
                        else:
                            seen_md5[md5] = doc["doc_id"]
                            index.add(doc["doc_id"], signature)
                            signature_sink.write_row({"doc_id": doc["doc_id"], "text_md5": md5,
                                                      "minhash": signature.astype("<u4").tobytes()})
                if doc["dropped"] is None:
                    doc["split"] = assign_split(doc["doc_id"], config.seed, config.valid_ratio)
                    for sent_idx, text in result["sentences"]:
                        sentence_sink.write_row({
                            "row_id": row_id * 1_000_000 + sent_idx, "doc_id": doc["doc_id"],
                            "source": doc["source"], "sent_idx": sent_idx, "text": text,
                            "n_chars": len(text), "n_words": len(text.split()), "split": doc["split"],
                        })
                    counts["documents"]["staged_sentences"] += len(result["sentences"])
                else:
                    counts["dropped"][doc["dropped"]] += 1
                document_sink.write_row(doc)
                sentences_seen += result["split"].get("sentences", 0)
                if progress is not None:
                    progress(counts["documents"]["read"], sentences_seen)

        new_part, kept_sentences = _dedup_sentences(con, stage, build_dir, existing)
        documents_written = _finish_documents(con, stage, build_dir, new_part)
        totals = _totals(con, build_dir)
    finally:
        con.close()
    shutil.rmtree(stage, ignore_errors=True)

    dropped_after = documents_written.get("all_sentences_duplicate", 0)
    dropped = {k: counts["dropped"].get(k, 0) for k in
               ("empty_text", "no_sentences", "exact_duplicate", "near_duplicate")}
    dropped["all_sentences_duplicate"] = dropped_after
    staged = counts["documents"]["staged_sentences"]
    return {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": config.settings(),
        "documents": {"read": counts["documents"]["read"], "kept": documents_written.get("kept", 0),
                      "dropped": dropped},
        "cleaning": {name: counts["clean"].get(name, 0) for name in cleaning.ALL_RULE_NAMES},
        "splitting": {k: counts["split"].get(k, 0) for k in ("sentences", "fast_pieces", "kss_pieces",
                                                              "too_long_pieces")},
        "filters": {name: counts["filters"].get(name, 0) for name in filters.FILTER_RULES},
        "sentence_dedup": {"duplicates_dropped": staged - kept_sentences["kept"]},
        "sentences": kept_sentences,
        "near_duplicates": near_pairs[:1000],
        "near_duplicates_total": len(near_pairs),
        "totals": totals,
    }


def _new_document_batches(con, raw_files: list[Path], batch_docs: int) -> Iterator[list[tuple]]:
    """Documents not yet in the corpus, file by file in name order, each file in row order."""
    for path in raw_files:
        names = _check_raw_file(path)
        source_expr = "coalesce(source, ?)" if "source" in names else "?"
        query = f"""
            select doc_id, {source_expr} as source, text from read_parquet(?, file_row_number=true)
            where doc_id is not null and doc_id not in (select doc_id from seen)
            qualify row_number() over (partition by doc_id order by file_row_number) = 1
            order by file_row_number
        """
        reader = con.sql(query, params=[path.parent.name, str(path)]).to_arrow_reader(batch_docs * 8)
        # Materialise this file's batch stream before inserting its ids into `seen`.
        pending: list[tuple] = []
        for batch in reader:
            ids, sources, texts = (batch.column(i).to_pylist() for i in range(3))
            pending.extend(zip(ids, sources, texts))
            while len(pending) >= batch_docs:
                yield pending[:batch_docs]
                pending = pending[batch_docs:]
        if pending:
            yield pending
        con.execute(f"insert into seen select distinct doc_id from read_parquet('{path.as_posix()}') "
                    "where doc_id is not null")


def _run_parallel(batches: Iterable[list[tuple]], config: BuildConfig) -> Iterator[dict]:
    """Process batches in worker processes, in order, with a bounded number in flight."""
    workers = config.workers or os.cpu_count() or 1
    batches = iter(batches)
    first = list(itertools.islice(batches, 2))
    if workers <= 1 or len(first) < 2:  # one batch: starting worker processes would cost more
        for batch in itertools.chain(first, batches):
            yield from process_documents(batch, config)
        return
    batches = itertools.chain(first, batches)
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # DuckDB and Arrow threads do not survive fork
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                             initargs=(config.backend, config.fast_path, config.max_piece_chars)) as pool:
        in_flight = []
        for batch in batches:
            in_flight.append(pool.submit(process_documents, batch, config))
            if len(in_flight) >= workers * 3:
                yield from in_flight.pop(0).result()
        for future in in_flight:
            yield from future.result()


def _dedup_sentences(con, stage: Path, build_dir: Path, existing: Path | None) -> dict:
    existing_glob = _glob(existing / "sentences") if existing is not None and _has_parts(existing / "sentences") else None
    query = dedup.dedup_sentences_sql((stage / "sentences.parquet").as_posix(), existing_glob)
    counts = Counter()
    columns = SENTENCES.names
    part = build_dir / "sentences" / part_name()
    with ParquetSink(part, SENTENCES) as sink:
        reader = con.sql(f"select {', '.join(columns)} from ({query})").to_arrow_reader(64_000)
        for batch in reader:
            sink.write_table(batch)
            splits = batch.column(columns.index("split")).value_counts()
            for item in splits.to_pylist():
                counts[item["values"]] += item["counts"]
    return part, {"kept": sum(counts.values()), "train": counts.get("train", 0), "valid": counts.get("valid", 0)}


def _finish_documents(con, stage: Path, build_dir: Path, new_part: Path) -> Counter:
    """Write the documents part with sentence counts after dedup; returns kept/dropped counts."""
    docs = (stage / "documents.parquet").as_posix()
    query = f"""
        with c as (
            select doc_id, count(*)::int as n, sum(n_words)::bigint as w, sum(n_chars)::bigint as ch
            from read_parquet('{new_part.as_posix()}') group by doc_id
        )
        select d.doc_id, d.source,
               case when d.dropped is null and c.n is not null then d.split end as split,
               coalesce(c.n, 0) as n_sentences, coalesce(c.w, 0) as n_words, coalesce(c.ch, 0) as n_chars,
               case when d.dropped is null and c.n is null then 'all_sentences_duplicate' else d.dropped end
                   as dropped,
               d.duplicate_of
        from read_parquet('{docs}') d left join c using (doc_id) order by d.row_id
    """
    counts = Counter()
    with ParquetSink(build_dir / "documents" / part_name(), CORPUS_DOCUMENTS) as sink:
        for batch in con.sql(query).to_arrow_reader(64_000):
            sink.write_table(batch)
            for value in batch.column(6).to_pylist():
                counts[value or "kept"] += 1
    return counts


def _totals(con, build_dir: Path) -> dict:
    sentences = con.execute(
        f"select count(*), count(*) filter (where split = 'train'), count(*) filter (where split = 'valid'), "
        f"count(distinct doc_id) from read_parquet('{_glob(build_dir / 'sentences')}')"
    ).fetchone()
    return {"documents": sentences[3], "sentences": sentences[0], "train": sentences[1], "valid": sentences[2]}


# --- raw input checks ---------------------------------------------------------------------------
def _raw_files(workspace: Workspace) -> list[Path]:
    raw = workspace.root / "raw"
    files = sorted(raw.glob("*/*.parquet"))
    if not files:
        raise KmbError("no raw document tables (raw/<source>/*.parquet); add documents first with "
                       "`kmb corpus add` or `kmb crawl ...`", path=raw)
    return files


def _check_raw_file(path: Path) -> list[str]:
    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # corrupt or not Parquet at all
        raise KmbError(f"not a readable Parquet file ({exc.__class__.__name__}: {exc})", path=path) from None
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
