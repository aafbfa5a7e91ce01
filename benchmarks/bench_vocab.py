"""Benchmark the vocab stage against the obvious alternatives, in the same run.

1. `kmb terms count` (Aho-Corasick in worker processes, DuckDB aggregation) against the best
   plain DuckDB query we found for the same counts. Word-start mode: split sentences into words,
   expand each word into its prefixes and hash-join them with the term table (only valid for
   one-word terms: a term with a space or punctuation inside is never found this way, while
   Aho-Corasick finds it). `--anywhere` mode (on a tenth of the sentences): expand every
   position into substrings up to the longest term and hash-join. Both run on the same generated
   corpus (Hangul words from a seeded generator; no punctuation, so "word start" means the same
   for both) and their counts are compared.
2. KR-BERT's bidirectional WordPiece (kmb.vocab.bidirectional, pure Python with a word cache)
   against the HF tokenizers Rust forward WordPiece, in tokens per second over the same real
   Korean text (KorSTS + Wikinews from ../shared/data when present, else generated text).

    python benchmarks/bench_vocab.py --quick                       # < 60 s
    python benchmarks/bench_vocab.py                               # 70k terms x 1M sentences
    python benchmarks/bench_vocab.py --sentences 6000000           # the issue's target size
    python benchmarks/bench_vocab.py --vocab /path/to/KR-BERT/vocab.txt   # your own base vocab

Prints `RESULT <name>: <value> <unit> (<comparison>) ratio=<x>` lines.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
# Common Hangul syllables for generated words (our own choice).
SYLLABLES = list(
    "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추쿠투푸후기니디리미비시이지치키티피히"
    "간난단란만반산안잔찬칸탄판한강낭당랑망방상앙장창캉탕팡항경녕덕령명병성영정청혈압염증암통약환자병원의사검진료"
)
PARTICLES = ["", "", "", "은", "는", "이", "가", "을", "를", "의", "에", "으로", "과", "와", "도"]


def make_terms(n: int, rng: random.Random) -> list[str]:
    """Real KCD names (Hangul only) first (when ../shared/data is there), then generated words."""
    terms: dict[str, None] = {}
    kcd = SHARED / "kcd" / "kcd_book.tsv"
    if kcd.is_file():
        with open(kcd, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                name = row["ko"].strip()
                # Hangul-only names: no punctuation, so a word start is the same for both methods.
                if name and all(0xAC00 <= ord(ch) <= 0xD7A3 for ch in name):
                    terms.setdefault(name, None)
    terms = dict(list(terms.items())[: n // 2])
    while len(terms) < n:
        terms.setdefault("".join(rng.choices(SYLLABLES, k=rng.randint(2, 5))), None)
    return list(terms)[:n]


def write_corpus(ws, terms: list[str], n_sentences: int, seed: int) -> None:
    """Generated sentences (8-14 words; ~30% are terms, often with a particle) -> corpus/sentences."""
    from kmb.storage import SENTENCES, ParquetSink

    rng = np.random.default_rng(seed)
    py_rng = random.Random(seed)
    fillers = ["".join(py_rng.choices(SYLLABLES, k=py_rng.randint(1, 4))) for _ in range(20_000)]
    # Zipf-like term use: a few terms are very frequent, most are rare.
    term_weights = 1.0 / np.arange(1, len(terms) + 1)
    term_weights /= term_weights.sum()
    chunk = 100_000
    with ParquetSink(ws.corpus / "sentences" / "part-bench.parquet", SENTENCES) as sink:
        for start in range(0, n_sentences, chunk):
            size = min(chunk, n_sentences - start)
            n_words = rng.integers(8, 15, size)
            total = int(n_words.sum())
            is_term = rng.random(total) < 0.3
            term_idx = rng.choice(len(terms), size=total, p=term_weights)
            filler_idx = rng.integers(0, len(fillers), total)
            particle_idx = rng.integers(0, len(PARTICLES), total)
            words = [
                (terms[t] + PARTICLES[p]) if it else fillers[f]
                for it, t, f, p in zip(is_term.tolist(), term_idx.tolist(), filler_idx.tolist(), particle_idx.tolist())
            ]
            texts, pos = [], 0
            for k in n_words.tolist():
                texts.append(" ".join(words[pos : pos + k]))
                pos += k
            doc_ids = [f"bench:{(start + i) // 20}" for i in range(size)]
            import pyarrow as pa

            sink.write_table(
                pa.table(
                    {
                        "doc_id": doc_ids,
                        "source": ["bench"] * size,
                        "sent_idx": pa.array([(start + i) % 20 for i in range(size)], pa.int32()),
                        "text": texts,
                        "n_chars": pa.array([len(t) for t in texts], pa.int32()),
                        "n_words": pa.array(n_words, pa.int32()),
                        "split": ["train"] * size,
                    }
                )
            )


def duckdb_term_join(ws, terms: list[str], matches_sql: str) -> dict[str, tuple[int, int]]:
    """Count and doc frequency per term in plain DuckDB: ``matches_sql`` turns the train
    sentences (``s``: doc_id, text) into candidate strings (``cand``: doc_id, term) that are
    hash-joined with the terms; ``{max_len}`` in it is the longest term's length."""
    import duckdb
    import pyarrow as pa

    max_len = max(len(t) for t in terms)
    glob = (ws.corpus / "sentences" / "*.parquet").as_posix()
    con = duckdb.connect()
    con.execute(f"set threads to {os.cpu_count() or 1}")
    con.register("term_table", pa.table({"term": terms}))
    rows = con.sql(
        f"""
        with s as (select doc_id, text from read_parquet('{glob}') where split = 'train'),
        {matches_sql.format(max_len=max_len)}
        select term, count(*) as count, count(distinct doc_id) as doc_freq
        from cand join term_table using (term)
        group by term
        """
    ).fetchall()
    con.close()
    return {term: (count, docs) for term, count, docs in rows}


def duckdb_join_counts(ws, terms: list[str]) -> dict[str, tuple[int, int]]:
    """The best plain-SQL way we found: words -> prefixes -> hash join with the terms."""
    return duckdb_term_join(
        ws,
        terms,
        """words as (select doc_id, unnest(string_split(text, ' ')) as w from s),
        prefixes as (select doc_id, w, unnest(range(1, least(length(w), {max_len}) + 1)) as k from words),
        cand as (select doc_id, left(w, k::int) as term from prefixes)""",
    )


def duckdb_substring_join_counts(ws, terms: list[str]) -> dict[str, tuple[int, int]]:
    """`--anywhere` in plain SQL: every substring up to the longest term, hash-joined with the terms."""
    return duckdb_term_join(
        ws,
        terms,
        """starts as (select doc_id, text, unnest(range(1, length(text) + 1)) as i from s),
        cand as (select doc_id, substring(text, i::int,
            unnest(range(1, least({max_len}, length(text) - i + 1) + 1))::int) as term from starts)""",
    )


def bench_anywhere(n_terms: int, n_sentences: int, workers: int, seed: int) -> list[str]:
    from kmb.vocab.term_counts import CountConfig, count_terms
    from kmb.workspace import Workspace

    terms = make_terms(n_terms, random.Random(seed))
    with tempfile.TemporaryDirectory(prefix="kmb-bench-vocab-") as tmp:
        ws = Workspace.open(Path(tmp) / "ws")
        write_corpus(ws, terms, n_sentences, seed)
        start = time.perf_counter()
        count_terms(
            terms, ws.corpus / "sentences", ws.terms / "term_freq.parquet", CountConfig(workers=workers, anywhere=True)
        )
        ours = time.perf_counter() - start
        start = time.perf_counter()
        theirs_counts = duckdb_substring_join_counts(ws, terms)
        theirs = time.perf_counter() - start
        import pyarrow.parquet as pq

        ours_counts = {
            r["term"]: (r["count"], r["doc_freq"])
            for r in pq.read_table(ws.terms / "term_freq.parquet").to_pylist()
            if r["count"]
        }
        agree = ours_counts == theirs_counts
    print(f"# --anywhere: kmb {ours:.2f} s, DuckDB substring join {theirs:.2f} s, agree={agree}", flush=True)
    return [
        f"RESULT terms_count_anywhere_seconds: {ours:.2f} s for {len(terms):,} terms x {n_sentences:,} sentences "
        f"(DuckDB substring join {theirs:.2f} s; counts agree={agree}) ratio={theirs / ours:.2f}x"
    ]


def bench_term_counts(n_terms: int, n_sentences: int, workers: int, seed: int) -> list[str]:
    from kmb.vocab.term_counts import CountConfig, count_terms
    from kmb.workspace import Workspace

    rng = random.Random(seed)
    terms = make_terms(n_terms, rng)
    with tempfile.TemporaryDirectory(prefix="kmb-bench-vocab-") as tmp:
        ws = Workspace.open(Path(tmp) / "ws")
        start = time.perf_counter()
        write_corpus(ws, terms, n_sentences, seed)
        print(
            f"# corpus: {n_sentences:,} generated sentences, {len(terms):,} terms ({time.perf_counter() - start:.1f} s to write)",
            flush=True,
        )

        start = time.perf_counter()
        summary = count_terms(
            terms, ws.corpus / "sentences", ws.terms / "term_freq.parquet", CountConfig(workers=workers)
        )
        ours = time.perf_counter() - start
        print(
            f"# kmb terms count: {ours:.2f} s ({summary['occurrences']:,} occurrences, {workers or os.cpu_count()} workers)",
            flush=True,
        )

        start = time.perf_counter()
        theirs_counts = duckdb_join_counts(ws, terms)
        theirs = time.perf_counter() - start
        print(f"# duckdb prefix join: {theirs:.2f} s", flush=True)

        import pyarrow.parquet as pq

        table = pq.read_table(ws.terms / "term_freq.parquet").to_pylist()
        ours_counts = {r["term"]: (r["count"], r["doc_freq"]) for r in table if r["count"]}
        agree = ours_counts == theirs_counts
        print(f"# counts agree with the DuckDB join: {agree}", flush=True)
        if not agree:
            diff = [t for t in set(ours_counts) | set(theirs_counts) if ours_counts.get(t) != theirs_counts.get(t)][:5]
            print(f"# first differences: {[(t, ours_counts.get(t), theirs_counts.get(t)) for t in diff]}")
    rate = n_sentences / ours
    return [
        f"RESULT terms_count_seconds: {ours:.2f} s for {len(terms):,} terms x {n_sentences:,} sentences "
        f"(DuckDB prefix join {theirs:.2f} s; counts agree={agree}) ratio={theirs / ours:.2f}x",
        f"RESULT terms_count_rate: {rate:,.0f} sentences/s (DuckDB join {n_sentences / theirs:,.0f}) ratio={theirs / ours:.2f}x",
    ]


def real_korean_text(rng: random.Random) -> list[str]:
    """Real Korean sentences from ../shared/data (KorSTS, Wikinews) when there, else generated."""
    texts: list[str] = []
    korsts = SHARED / "korsts"
    if korsts.is_dir():
        for path in sorted(korsts.glob("*.tsv")):
            with open(path, encoding="utf-8") as fh:
                next(fh, None)
                for line in fh:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) >= 7:
                        texts += [parts[5], parts[6]]
    wiki = SHARED / "wikinews" / "wikinews.csv"
    if wiki.is_file():
        csv.field_size_limit(1 << 24)
        with open(wiki, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                texts += [p.strip() for p in (row.get("내용") or "").split("\n") if p.strip()]
    if not texts:
        texts = [" ".join("".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(12)) for _ in range(5000)]
    return texts


def bench_bidirectional(vocab_path: Path, n_texts: int, seed: int, threads: int) -> list[str]:
    from kmb.vocab.bidirectional import BidirectionalWordPiece, basic_words, read_vocab_file
    from kmb.vocab.tokenizers import bidirectional_tokenizer, forward_tokenizer_from_tokens

    rng = random.Random(seed)
    tokens = read_vocab_file(vocab_path)
    base = real_korean_text(rng)
    # Each line once: repeating the text would flatter the word cache.
    texts = base[:n_texts]
    source = "KorSTS+Wikinews, each line once" if (SHARED / "korsts").is_dir() else "generated"
    print(f"# text: {len(texts):,} lines ({source}), vocab {vocab_path} ({len(tokens):,} tokens)", flush=True)

    rust = forward_tokenizer_from_tokens(tokens).backend_tokenizer
    rust.encode_batch(texts[:1000], add_special_tokens=False)  # warm up the thread pool
    start = time.perf_counter()
    rust_tokens = sum(len(e.ids) for e in rust.encode_batch(texts, add_special_tokens=False))
    rust_seconds = time.perf_counter() - start

    basic_words("warm up")  # builds the Unicode tables once per process (~0.2 s), not per text
    wordpiece = BidirectionalWordPiece({t: i for i, t in enumerate(tokens)})  # cold word cache
    start = time.perf_counter()
    bi_tokens = sum(len(wordpiece.encode(t)) for t in texts)
    bi_seconds = time.perf_counter() - start

    api_texts = texts[: max(1, len(texts) // 4)]
    tok = bidirectional_tokenizer(vocab_path)
    start = time.perf_counter()
    api_tokens = sum(len(ids) - 2 for ids in tok(api_texts, truncation=True, max_length=512)["input_ids"])
    api_seconds = time.perf_counter() - start

    rust_rate, bi_rate, api_rate = rust_tokens / rust_seconds, bi_tokens / bi_seconds, api_tokens / api_seconds
    print(f"# rust forward: {rust_tokens:,} tokens in {rust_seconds:.2f} s on {threads} threads", flush=True)
    print(f"# bidirectional (encode): {bi_tokens:,} tokens in {bi_seconds:.2f} s, 1 process", flush=True)
    print(f"# bidirectional (transformers call API): {api_tokens:,} tokens in {api_seconds:.2f} s", flush=True)
    return [
        f"RESULT bidirectional_tokens_per_s: {bi_rate:,.0f} tokens/s (Rust forward WordPiece {rust_rate:,.0f} tokens/s) ratio={bi_rate / rust_rate:.2f}x",
        f"RESULT bidirectional_api_tokens_per_s: {api_rate:,.0f} tokens/s via tok(texts) (Rust forward {rust_rate:,.0f}) ratio={api_rate / rust_rate:.2f}x",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s), for benchmarks/run_all.py")
    parser.add_argument("--terms", type=int, default=70_000, help="terms to count (default 70,000)")
    parser.add_argument(
        "--sentences", type=int, default=1_000_000, help="generated train sentences (issue target: 6,000,000)"
    )
    parser.add_argument(
        "--texts", type=int, default=200_000, help="at most this many lines tokenized in the tokenizer benchmark"
    )
    parser.add_argument("--workers", type=int, default=0, help="term-count worker processes (0 = one per core)")
    parser.add_argument(
        "--vocab",
        type=Path,
        default=REPO / "samples" / "vocab" / "base_vocab.txt",
        help="base vocab.txt for the tokenizer benchmark",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for the generated data")
    args = parser.parse_args()
    if args.quick:
        args.terms, args.sentences, args.texts = 20_000, 150_000, 40_000
    threads = int(os.environ.get("RAYON_NUM_THREADS", os.cpu_count() or 1))

    lines = bench_term_counts(args.terms, args.sentences, args.workers, args.seed)
    lines += bench_anywhere(args.terms, max(1, args.sentences // 10), args.workers, args.seed)
    lines += bench_bidirectional(args.vocab, args.texts, args.seed, threads)
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
