"""Corpus build benchmark: sentence splitting, exact sentence dedup, the whole build.

On a generated Korean health-news-like corpus (kmb.corpus.sample_news, with planted exact and near
duplicates), in one run:

1. kss backends on the tricky cases (accuracy) and on the corpus (plain kss speed, one process);
2. sentence splitting: kmb's splitter (cheap boundaries + kss where needed) in a process pool vs
   plain ``kss.split_sentences`` called per document in a process pool of the same size, same
   backend, same text: throughput ratio and sentence-boundary agreement;
3. exact sentence dedup: kmb's DuckDB query (min row id per md5_number) over N generated sentence
   rows vs the obvious in-memory alternative (load the table, keep a dict of seen texts), each in
   its own process: time and peak RSS;
   near duplicates: kmb's numpy MinHash signatures vs datasketch's ``MinHash.update_batch``, and
   kmb's near-duplicate index vs datasketch's ``MinHashLSH`` (with a dict of signatures for the
   Jaccard check) on N signatures: speed and bytes per kept document;
4. end to end: ``build_corpus`` sentences/s with the fast path vs ``--kss-only``;
5. real-text scale: documents recombined from the real Wikinews sentences in ../shared/data (one
   word of each sentence swapped, 3% exact copies planted; our own generator, below), built end to
   end by ``build_corpus`` in a child process (time per step, peak RSS of the build process and
   its workers together) vs plain
   ``kss.split_sentences`` per document in a process pool of the same size on the same documents;
   boundary agreement, with a sample of the disagreements printed for a person to judge.

    .venv/bin/python benchmarks/bench_corpus.py --quick      # < 60 s
    .venv/bin/python benchmarks/bench_corpus.py              # 2,000 documents, 6M dedup rows
    .venv/bin/python benchmarks/bench_corpus.py --documents 5000 --dedup-rows 2000000 --workers 2
    .venv/bin/python benchmarks/bench_corpus.py --skip backends,split,dedup,near,build --real-documents 20000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path


# --- worker functions (module level so that spawned workers can import them) -------------------
def _warm(backend: str) -> None:
    """Import plain kss and kmb's kss loader before any timing, in each worker."""
    from kss import split_sentences

    from kmb.corpus.sentence_split import SentenceSplitter

    split_sentences("워밍업 문장이다. 두 번째 문장이다.", backend=backend, num_workers=1)
    SentenceSplitter(backend, fast_path=False).split("워밍업 문장이다. 두 번째 문장이다.")


def _split_kmb(args):
    texts, backend = args
    from kmb.corpus.sentence_split import SentenceSplitter

    splitter = SentenceSplitter(backend)
    return [splitter.split(t).sentences for t in texts]


def _split_plain(args):
    """The obvious way: kss.split_sentences per document (its paragraphs as a list)."""
    texts, backend = args
    from kss import split_sentences

    out = []
    for text in texts:
        paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
        result = split_sentences(paragraphs, backend=backend, num_workers=1)
        if len(paragraphs) == 1:
            result = [result]
        out.append([s.strip() for sentences in result for s in sentences if s.strip()])
    return out


# --- helpers ------------------------------------------------------------------------------------
def documents(n: int, seed: int = 1) -> list[str]:
    from kmb.corpus.cleaning import clean
    from kmb.corpus.normalise import normalise
    from kmb.corpus.sample_news import generate

    return [clean(normalise(d.text), "naver_health")[0] for d in generate(n, seed=seed)]


def pool_run(texts: list[str], backend: str, workers: int, chunk: int = 16) -> dict:
    """Both splitters in one pool of spawned workers, kss imported in each before any timing."""
    context = get_context("spawn")
    batches = [(texts[i : i + chunk], backend) for i in range(0, len(texts), chunk)]
    out = {}
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_warm, initargs=(backend,)) as pool:
        list(pool.map(_warm, [backend] * workers))
        for name, fn in (("plain", _split_plain), ("kmb", _split_kmb)):
            start = time.perf_counter()
            docs = [doc for batch in pool.map(fn, batches) for doc in batch]
            out[name] = (docs, time.perf_counter() - start)
    return out


def bench_backends(texts: list[str]) -> None:
    from kmb.corpus.sample_news import TRICKY
    from kmb.corpus.sentence_split import SentenceSplitter

    for backend in ("punct", "mecab"):
        plain = SentenceSplitter(backend, fast_path=False, accelerate_kss=False)
        right = sum(plain.split(t).sentences == want for t, want in TRICKY)
        start = time.perf_counter()
        n = sum(len(plain.split(t).sentences) for t in texts)
        rate = n / (time.perf_counter() - start)
        print(
            f"RESULT kss_backend_{backend}: {right}/{len(TRICKY)} tricky cases right, plain kss "
            f"{rate:.0f} sentences/s in one process"
        )


def real_news(path: Path, limit: int) -> list[str]:
    """Article bodies from the Korean Wikinews CSV in ../shared/data (used by path, never copied)."""
    import csv

    from kmb.corpus.normalise import normalise

    with open(path, newline="", encoding="utf-8") as fh:
        return [normalise(row["내용"]) for _, row in zip(range(limit), csv.DictReader(fh))]


def bench_split(texts: list[str], backend: str, workers: int, label: str = "") -> None:
    from kmb.corpus.sentence_split import boundary_agreement, cheap_pieces, is_plain_piece

    runs = pool_run(texts, backend, workers)
    (plain, plain_s), (ours, ours_s) = runs["plain"], runs["kmb"]
    n = sum(map(len, plain))
    agreement = boundary_agreement(ours, plain)
    fast = kss = 0  # where the time goes: pieces that need no analysis vs pieces kss must see
    for text in texts:
        for paragraph in text.split("\n"):
            for piece in cheap_pieces(paragraph.strip()):
                if is_plain_piece(piece, backend):
                    fast += 1
                else:
                    kss += 1
    print(
        f"  split: {len(texts)} documents, {n} sentences; pieces without kss {fast}, with kss {kss} "
        f"({kss / max(fast + kss, 1):.0%} of pieces need kss)"
    )
    print(
        f"RESULT split_throughput{label}: {sum(map(len, ours)) / ours_s:.0f} sentences/s "
        f"(plain kss pool {n / plain_s:.0f} sentences/s, backend {backend}, {workers} workers) "
        f"ratio={plain_s / ours_s:.2f}"
    )
    print(
        f"RESULT split_agreement{label}: {agreement:.2%} sentence-boundary agreement with plain kss "
        f"(Jaccard of sentence ends) ratio={agreement:.4f}"
    )


def make_dedup_input(path: Path, rows: int) -> None:
    """Generated sentence rows (about 10% duplicates) written through the project's ParquetSink."""
    import duckdb

    from kmb.corpus.build import STAGED_SENTENCES
    from kmb.storage import ParquetSink

    words = [
        "고혈압",
        "당뇨병",
        "독감",
        "수면",
        "비만",
        "치매",
        "천식",
        "위염",
        "환자",
        "연구팀",
        "병원",
        "검사",
        "치료",
        "예방",
        "운동",
        "식단",
        "증상",
        "위험",
        "결과",
        "효과",
        "관리",
        "접종",
        "약물",
        "의료진",
    ]
    distinct = int(rows * 0.9)
    con = duckdb.connect()
    query = f"""
        select i as row_id, 'd' || (i // 12) as doc_id, 'naver_health' as source, (i % 12)::int as sent_idx,
               list_element({words}, (hash(k) % 24)::int + 1) || ' ' || list_element({words}, (hash(k * 7) % 24)::int + 1)
               || ' ' || (k % 99991)::varchar || '명의 ' || list_element({words}, (hash(k * 13) % 24)::int + 1)
               || ' 결과가 ' || (k // 99991)::varchar || '% 늘었다는 연구가 발표됐다.' as text,
               0 as n_chars, 0 as n_words, 'train' as split
        from (select i, case when i % 10 = 9 then hash(i) % {distinct} else i * 9 // 10 end as k
              from range({rows}) t(i))
    """
    with ParquetSink(path, STAGED_SENTENCES) as sink:
        for batch in con.sql(query).to_arrow_reader(100_000):
            sink.write_table(batch)


def dedup_child(path: str, method: str, out: str) -> None:
    """Run one dedup method in this process; print seconds, kept rows and peak RSS as JSON."""
    start = time.perf_counter()
    if method == "duckdb":
        import duckdb

        from kmb.corpus.dedup import configure_duckdb, dedup_sentences_sql
        from kmb.storage import SENTENCES, ParquetSink

        con = duckdb.connect()
        configure_duckdb(con, Path(out).parent / "duckdb-tmp")
        kept = 0
        with ParquetSink(out, SENTENCES) as sink:
            dedup_query, params = dedup_sentences_sql(path, None)
            query = f"select {', '.join(SENTENCES.names)} from ({dedup_query})"
            for batch in con.sql(query, params=params).to_arrow_reader(64_000):
                sink.write_table(batch)
                kept += batch.num_rows
    else:  # the obvious alternative: whole table in memory, a dict of texts seen
        import pyarrow.parquet as pq

        from kmb.storage import SENTENCES, write_table

        table = pq.read_table(path)
        seen: dict[str, int] = {}
        keep = []
        for i, text in enumerate(table.column("text").to_pylist()):
            if text not in seen:
                seen[text] = i
                keep.append(i)
        write_table(out, table.take(keep).select(SENTENCES.names), SENTENCES)
        kept = len(keep)
    seconds = time.perf_counter() - start
    peak_gb = _peak_rss_gb()
    print(json.dumps({"seconds": seconds, "kept": kept, "peak_gb": peak_gb}))


def _status_kb(pid: int | str, field: str) -> int:
    """A memory field (VmRSS, VmHWM...) of /proc/<pid>/status in KB; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_rss_gb() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss would carry over the parent's from
    # before exec (Linux keeps it across execve).
    kb = _status_kb("self", "VmHWM")
    return kb / 1024**2 if kb else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def bench_dedup(rows: int, tmp: Path) -> None:
    path = tmp / "staged.parquet"
    start = time.perf_counter()
    make_dedup_input(path, rows)
    print(f"  dedup: generated {rows:,} sentence rows in {time.perf_counter() - start:.1f} s")
    results = {}
    for method in ("duckdb", "python-dict"):
        proc = subprocess.run(
            [sys.executable, __file__, "--dedup-child", str(path), method, str(tmp / f"{method}.parquet")],
            capture_output=True,
            text=True,
            check=True,
        )
        results[method] = json.loads(proc.stdout.strip().splitlines()[-1])
    d, p = results["duckdb"], results["python-dict"]
    assert d["kept"] == p["kept"], (d, p)
    print(
        f"RESULT exact_dedup: {rows:,} rows in {d['seconds']:.1f} s, peak RSS {d['peak_gb']:.2f} GB, "
        f"{d['kept']:,} kept (in-memory dict: {p['seconds']:.1f} s, {p['peak_gb']:.2f} GB) "
        f"ratio={p['seconds'] / d['seconds']:.2f}"
    )
    print(
        f"RESULT exact_dedup_memory: {d['peak_gb']:.2f} GB peak RSS (in-memory dict {p['peak_gb']:.2f} GB) "
        f"ratio={p['peak_gb'] / d['peak_gb']:.2f}"
    )


def bench_near_dedup(texts: list[str], index_docs: int) -> None:
    """MinHash signatures and the near-duplicate index against datasketch's, in one run."""
    import tracemalloc

    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from kmb.corpus.dedup import NearDuplicateIndex, char_shingles, minhash_signature

    minhash_signature(texts[0])  # permutations drawn before timing, as in a build worker
    start = time.perf_counter()
    for text in texts:
        minhash_signature(text)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        MinHash(num_perm=128, scheme="affine32").update_batch(char_shingles(text))
    theirs_s = time.perf_counter() - start
    print(
        f"RESULT minhash_signatures: {len(texts) / ours_s:.0f} documents/s (datasketch MinHash.update_batch "
        f"{len(texts) / theirs_s:.0f}/s) ratio={theirs_s / ours_s:.2f}"
    )

    signatures = np.random.default_rng(0).integers(0, 2**32, size=(index_docs, 128), dtype=np.uint32)

    def ours(sig, i, index):
        index.find_or_add(f"doc:{i}", sig)  # as the build calls it

    kept: dict[str, np.ndarray] = {}  # datasketch's LSH keeps no signatures: the Jaccard check needs them

    def theirs(sig, i, index):
        minhash = MinHash(num_perm=128, hashvalues=sig, scheme="affine32")
        if not any(np.mean(kept[k] == sig) >= 0.8 for k in index.query(minhash)):
            index.insert(f"doc:{i}", minhash)
            kept[f"doc:{i}"] = sig.copy()

    runs = {}
    for name, make, step in (
        ("kmb", NearDuplicateIndex, ours),
        ("datasketch", lambda: MinHashLSH(threshold=0.8, num_perm=128, weights=(0.2, 0.8)), theirs),
    ):
        index = make()
        kept.clear()
        start = time.perf_counter()
        for i, sig in enumerate(signatures):
            step(sig, i, index)
        seconds = time.perf_counter() - start
        del index
        kept.clear()
        tracemalloc.start()
        index = make()
        for i, sig in enumerate(signatures):  # again, traced (slower): what the index holds
            step(sig, i, index)
        per_doc = tracemalloc.get_traced_memory()[0] / index_docs
        tracemalloc.stop()
        runs[name] = (seconds, per_doc)
    (ours_s, ours_b), (theirs_s, theirs_b) = runs["kmb"], runs["datasketch"]
    print(
        f"RESULT near_dedup_index: {index_docs:,} find+add in {ours_s:.1f} s (datasketch MinHashLSH "
        f"{theirs_s:.1f} s) ratio={theirs_s / ours_s:.2f}"
    )
    print(
        f"RESULT near_dedup_memory: {ours_b:.0f} bytes per kept document (datasketch MinHashLSH and a "
        f"dict of signatures {theirs_b:.0f}) ratio={theirs_b / ours_b:.2f}"
    )


def _clear_kss_cache() -> None:
    try:
        from kss._modules.sentences.split_sentences import _split_sentences

        _split_sentences.cache_clear()
    except (ImportError, AttributeError):
        pass


def bench_end_to_end(n_docs: int, workers: int, tmp: Path) -> None:
    import datasketch  # noqa: F401  (imported once here, so that neither timed build pays for it)

    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.corpus.sample_news import generate
    from kmb.storage import DOCUMENTS, ParquetSink
    from kmb.workspace import Workspace

    if workers <= 1:
        _warm("punct")  # in-process: import kss before timing, as the pool runs do in their workers
    rates = {}
    for fast_path in (True, False):
        ws = Workspace.open(tmp / f"ws-{fast_path}")
        with ParquetSink(ws.raw("naver_health") / "part-1.parquet", DOCUMENTS) as sink:
            for doc in generate(n_docs, seed=5):
                sink.write_row({"doc_id": doc.doc_id, "source": "naver_health", "text": doc.text})
        _clear_kss_cache()  # kss memoises paragraphs: the second build must not profit from the first
        start = time.perf_counter()
        report = build_corpus(ws, BuildConfig(workers=workers, fast_path=fast_path)).data
        seconds = time.perf_counter() - start
        rates[fast_path] = report["sentences"]["kept"] / seconds
        d = report["documents"]
        print(
            f"  build (fast_path={fast_path}): {d['read']} documents, {report['sentences']['kept']} sentences "
            f"kept in {seconds:.1f} s ({workers} worker(s), start-up included); dropped {d['dropped']}"
        )
    print(
        f"RESULT end_to_end: {rates[True]:.0f} sentences/s kept (kss-only build {rates[False]:.0f} sentences/s, "
        f"{workers} workers) ratio={rates[True] / rates[False]:.2f}"
    )


# --- real-text scale ------------------------------------------------------------------------------
_PAIRS = {"(": ")", "[": "]", "“": "”", "‘": "’", "「": "」", "『": "』", "<": ">", "《": "》", "〈": "〉"}


def _balanced(segment: str) -> bool:
    """Brackets and quotes closed inside the segment (a segment cut out of a quotation is not)."""
    stack = []
    for ch in segment:
        if ch in _PAIRS:
            stack.append(_PAIRS[ch])
        elif ch in _PAIRS.values() and (not stack or stack.pop() != ch):
            return False
    return not stack and segment.count('"') % 2 == 0


def recombined_documents(path: Path, n: int, seed: int = 0, copy_share: float = 0.03):
    """``n`` documents of 1-4 paragraphs of 2-6 real Wikinews sentences each, one word of every
    sentence swapped for a random word of the articles (so most sentences are new strings), and
    ``copy_share`` exact copies of earlier documents. Yields (doc_id, text); only the source
    sentences are held in memory, never the documents."""
    from kmb.corpus.normalise import normalise

    segments = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for line in normalise(row["내용"]).split("\n"):
                segments.extend(s for s in re.split(r"(?<=[.?!])\s+", line) if len(s) > 5 and _balanced(s))
    words = sorted({w for s in segments for w in s.split()})
    rng = random.Random(seed)
    copies_of: list[str] = []  # a bounded reservoir of earlier documents to copy from
    for i in range(n):
        if copies_of and rng.random() < copy_share:
            yield f"real:{i}", rng.choice(copies_of)
            continue
        paragraphs = []
        for _ in range(rng.randint(1, 4)):
            sentences = []
            for _ in range(rng.randint(2, 6)):
                tokens = rng.choice(segments).split()
                tokens[rng.randrange(len(tokens))] = rng.choice(words)
                sentences.append(" ".join(tokens))
            paragraphs.append(" ".join(sentences))
        text = "\n".join(paragraphs)
        if len(copies_of) < 500:
            copies_of.append(text)
        else:
            copies_of[rng.randrange(500)] = text
        yield f"real:{i}", text


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def build_child(workspace: str, workers: str, out: str) -> None:
    """``build_corpus`` on a prepared workspace in this process; writes its report and peak RSS.

    The workers' own ``ru_maxrss`` cannot be used: Linux carries into it the RSS of the build
    process they were forked from, before exec. So a thread samples the RSS of this process and of
    its workers every 0.1 s, and the peak of their sum is the build's peak."""
    import threading

    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.workspace import Workspace

    peaks = {"total_kb": 0, "worker_kb": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            workers_kb = [_status_kb(c, "VmRSS") for c in _children(os.getpid())]
            peaks["worker_kb"] = max([peaks["worker_kb"], *workers_kb])
            peaks["total_kb"] = max(peaks["total_kb"], _status_kb(os.getpid(), "VmRSS") + sum(workers_kb))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    report = build_corpus(Workspace.open(workspace), BuildConfig(workers=int(workers))).data
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    Path(out).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "report": report,
                "main_gb": _peak_rss_gb(),
                "worker_gb": peaks["worker_kb"] / 1024**2,
                "total_gb": max(peaks["total_kb"] / 1024**2, _peak_rss_gb()),
            },
            default=str,
        )
    )


def _disagreements(ours: list[list[str]], reference: list[list[str]], k: int = 5) -> list[tuple[str, str]]:
    """Up to ``k`` places where the sentence ends differ: (kmb's sentence, kss's sentence)."""
    from kmb.corpus.sentence_split import boundary_offsets

    out = []
    for a, b in zip(ours, reference):
        if boundary_offsets(a) != boundary_offsets(b):
            only_a = [s for s in a if s not in b]
            only_b = [s for s in b if s not in a]
            if only_a and only_b:
                out.append((only_a[0], only_b[0]))
        if len(out) >= k:
            break
    return out


def bench_real_scale(path: Path, n_docs: int, workers: int, tmp: Path, compare_docs: int) -> None:
    from kmb.corpus.cleaning import clean
    from kmb.corpus.normalise import normalise
    from kmb.corpus.sentence_split import boundary_agreement
    from kmb.storage import DOCUMENTS, ParquetSink
    from kmb.workspace import Workspace

    ws = Workspace.open(tmp / "ws-real")
    raw = ws.raw("news") / "part-1.parquet"
    chars = 0
    with ParquetSink(raw, DOCUMENTS) as sink:
        for doc_id, text in recombined_documents(path, n_docs):
            sink.write_row({"doc_id": doc_id, "source": "news", "text": text})
            chars += len(text)
    print(
        f"  real-text scale: {n_docs:,} recombined Wikinews documents, {raw.stat().st_size / 1e6:.1f} MB "
        f"Parquet, {chars:,} characters"
    )
    out = tmp / "build-child.json"
    subprocess.run([sys.executable, __file__, "--build-child", str(ws.root), str(workers), str(out)], check=True)
    child = json.loads(out.read_text())
    report, seconds = child["report"], child["seconds"]
    split = report["splitting"]
    kmb_rate = split["sentences"] / seconds
    print(
        f"  build: {split['sentences']:,} sentences split ({split['fast_pieces']:,} fast pieces, "
        f"{split['kss_pieces']:,} to kss) in {seconds:.1f} s, kept {report['sentences']['kept']:,}; "
        f"dropped {report['documents']['dropped']}"
    )
    print(
        "  seconds per step (worker steps summed over workers): "
        + ", ".join(f"{k} {v:.1f}" for k, v in report["seconds_per_step"].items())
    )
    # Plain kss and kmb's splitter on the same cleaned documents, one warmed pool (a prefix of the
    # corpus when --real-compare is smaller: plain kss on 20,000 documents takes hours).
    texts = [clean(normalise(t), "news")[0] for _, t in recombined_documents(path, min(compare_docs, n_docs))]
    runs = pool_run(texts, "punct", workers)
    (plain, plain_s), (ours, ours_s) = runs["plain"], runs["kmb"]
    plain_rate = sum(map(len, plain)) / plain_s
    agreement = boundary_agreement(ours, plain)
    peak = child["total_gb"]
    print(
        f"RESULT real_scale_end_to_end: {kmb_rate:.0f} sentences/s end to end, {n_docs:,} documents "
        f"(plain kss pool {plain_rate:.0f} sentences/s on the first {len(texts):,}, backend punct, "
        f"{workers} workers; kmb splitter alone {sum(map(len, ours)) / ours_s:.0f}/s) ratio={kmb_rate / plain_rate:.2f}"
    )
    print(
        f"RESULT real_scale_agreement: {agreement:.2%} sentence-boundary agreement with plain kss on "
        f"{len(texts):,} documents ratio={agreement:.4f}"
    )
    print(
        f"RESULT real_scale_memory: {peak:.2f} GB peak RSS, build process and workers together (build "
        f"process alone {child['main_gb']:.2f} GB, largest worker {child['worker_gb']:.2f} GB) "
        f"ratio={peak / 2.0:.2f} of the 2 GB ceiling"
    )
    for mine, theirs in _disagreements(ours, plain):
        print(f"  differs: kmb  {mine[-90:]!r}\n           kss  {theirs[-90:]!r}")


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--dedup-child":
        dedup_child(*sys.argv[2:])
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "--build-child":
        build_child(*sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--documents", type=int, default=None, help="documents for splitting and the build (default 2000)"
    )
    parser.add_argument("--dedup-rows", type=int, default=None, help="sentence rows for the dedup (default 6,000,000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default all cores)")
    parser.add_argument("--backend", default="punct", help="kss backend for both splitters")
    parser.add_argument(
        "--real-news",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared/data/wikinews/wikinews.csv",
        help="Korean Wikinews CSV for a second splitting run on real text (skipped if absent or --quick)",
    )
    parser.add_argument(
        "--real-documents",
        type=int,
        default=None,
        help="recombined real-text documents for the scale row (default 2000; not with --quick)",
    )
    parser.add_argument(
        "--real-compare",
        type=int,
        default=1000,
        help="how many of them plain kss also splits, for the ratio and agreement (default 1000)",
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: backends,split,dedup,near,build,real"
    )
    args = parser.parse_args()
    n_docs = args.documents or (120 if args.quick else 2000)
    dedup_rows = args.dedup_rows or (300_000 if args.quick else 6_000_000)
    skip = set(filter(None, args.skip.split(",")))

    texts = documents(n_docs)
    print(f"corpus: {len(texts)} generated documents, {sum(map(len, texts)):,} characters; {args.workers} workers")
    with tempfile.TemporaryDirectory(prefix="kmb-bench-corpus-") as tmp:
        tmp = Path(tmp)
        if "backends" not in skip:
            bench_backends(texts[: 20 if args.quick else 100])
        if "split" not in skip:
            bench_split(texts, args.backend, args.workers)
            if not args.quick and args.real_news.is_file():
                bench_split(real_news(args.real_news, 644), args.backend, args.workers, "_wikinews")
        if "dedup" not in skip:
            bench_dedup(dedup_rows, tmp)
        if "near" not in skip:
            bench_near_dedup(texts, 10_000 if args.quick else 100_000)
        if "build" not in skip:
            # --quick builds in this process (kss is already imported): no pool start-up to wait for.
            bench_end_to_end(300 if args.quick else n_docs, 1 if args.quick else args.workers, tmp)
        if "real" not in skip and not args.quick and args.real_news.is_file():
            real_docs = args.real_documents or 2000
            bench_real_scale(args.real_news, real_docs, args.workers, tmp, min(args.real_compare, real_docs))
        elif "real" not in skip and not args.quick:
            print(f"  real-text scale: skipped, {args.real_news} is not there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
