"""Document filters (kmb.corpus.document_filters): what each rule removes, and the step's share of a build.

1. On real and sample text, the share of documents each rule would remove (every rule on, whatever
   the source; the build itself skips papers, textbooks and clinical notes): Korean Wikinews
   (../shared/data/wikinews, when present), generated health news (kmb.corpus.sample_news), the
   bundled samples/textbooks and samples/kci abstracts; then planted spam (one line repeated 6-12
   times) as a check that the rules catch what they are for.
2. speed against the obvious way, every n-gram of every document counted (what datatrove does);
3. ``kmb corpus build`` on Korean Wikinews (source news; generated news when it is absent): the
   document_filter step's share of the build's step seconds (goal: at most 10%) and of its wall time.

    .venv/bin/python benchmarks/bench_document_filters.py     # ~10 s; --quick is the same
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIKINEWS = REPO.parent / "shared" / "data" / "wikinews"


def wikinews_texts() -> list[str]:
    if not (WIKINEWS / "wikinews.csv").is_file():
        return []
    with open(WIKINEWS / "wikinews.csv", newline="", encoding="utf-8") as fh:
        return [row["내용"] for row in csv.DictReader(fh)]


def textbook_texts() -> list[str]:
    from kmb.corpus.text_encoding import decode_korean_text

    return [decode_korean_text(p.read_bytes())[0] for p in sorted((REPO / "samples" / "textbooks").glob("*.txt"))]


def kci_texts() -> list[str]:
    from kmb.crawlers.kci_oai import parse_response

    page = parse_response((REPO / "samples" / "kci" / "records.xml").read_bytes())
    return [r.abstract_ko or r.abstract_en or "" for r in page.records if not r.deleted]


def spam_texts(n: int, seed: int = 5) -> list[str]:
    from kmb.corpus.sample_news import generate

    rng = random.Random(seed)
    sentences = [s.rstrip(".") + "." for d in generate(40, seed=seed) for s in d.text.split("\n")[2].split(". ")]
    out = []
    for i in range(n):
        line = " ".join(rng.sample(sentences, rng.randint(1, 2)))
        out.append(("\n" if i % 2 == 0 else " ").join([line] * rng.randint(6, 12)))
    return out


def rule_shares(label: str, texts: list[str], source: str) -> None:
    from kmb.corpus import cleaning
    from kmb.corpus.document_filters import document_reject_reason
    from kmb.corpus.normalise import normalise

    cleaned = [cleaning.clean(t, source)[0] for t in (normalise(t) for t in texts) if t]
    cleaned = [t for t in cleaned if t]
    start = time.perf_counter()
    reasons = Counter(document_reject_reason(t) for t in cleaned)
    seconds = time.perf_counter() - start
    removed = sum(v for k, v in reasons.items() if k)
    rules = ", ".join(f"{k} {v} ({v / len(cleaned):.1%})" for k, v in reasons.most_common() if k) or "none"
    print(
        f"{label}: {len(cleaned):,} documents, removed {removed} ({removed / max(len(cleaned), 1):.1%}): {rules}; "
        f"{seconds * 1000 / max(len(cleaned), 1):.2f} ms/document"
    )


def counted_out(text: str) -> str | None:
    """The n-gram rules the obvious way: every n-gram of the text counted, for every rule."""
    from kmb.corpus.document_filters import DocumentFilterConfig

    config, words = DocumentFilterConfig(), text.split()
    if len(words) < config.min_ngram_words:
        return None
    for n, share in config.top_n_grams:
        gram, count = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)).most_common(1)[0]
        if count >= 2 and len(" ".join(gram)) * count / len(text) > share:
            return f"top_{n}_gram"
    for n, share in config.dup_n_grams:
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        first, chars, idx = {}, 0, 0
        for i, gram in enumerate(grams):
            first.setdefault(gram, i)
        while idx < len(grams):
            repeat = first[grams[idx]] < idx
            chars += len(" ".join(grams[idx])) if repeat else 0
            idx += n if repeat else 1
        if chars / len(text) > share:
            return f"dup_{n}_gram"
    return None


def speed(label: str, texts: list[str]) -> None:
    from kmb.corpus.document_filters import DocumentFilterConfig, document_reject_reason
    from kmb.corpus.normalise import normalise

    texts = [" ".join(normalise(t).split()) for t in texts]  # one line: only the n-gram rules decide
    only_ngrams = DocumentFilterConfig(dup_line_frac=None, dup_line_char_frac=None, min_stopwords=0)
    times = {}
    for name, rule in (("kmb", lambda t: document_reject_reason(t, only_ngrams)), ("counted", counted_out)):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            verdicts = [rule(t) for t in texts]
            best = min(best, time.perf_counter() - start)
        times[name] = (best * 1000 / len(texts), verdicts)
    assert times["kmb"][1] == times["counted"][1], "the shortcuts changed a verdict"
    ours, theirs = times["kmb"][0], times["counted"][0]
    print(
        f"RESULT document_filter_ngram_speed: {ours:.3f} ms/document on {label} (every n-gram counted: "
        f"{theirs:.3f} ms/document, same verdicts) ratio={theirs / ours:.2f}"
    )


def build_share(texts: list[str], workers: int) -> None:
    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.storage import DOCUMENTS, write_rows
    from kmb.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "ws")
        rows = [{"doc_id": f"wikinews:{i}", "source": "news", "text": t} for i, t in enumerate(texts)]
        write_rows(ws.raw("news") / "part-1.parquet", rows, DOCUMENTS)
        report = build_corpus(ws, BuildConfig(workers=workers)).data
    seconds = report["seconds_per_step"]
    total = sum(seconds.values())
    print(
        f"\n== kmb corpus build, source news: {report['documents']['read']:,} documents, {workers} worker(s), "
        f"{report['seconds']:.1f} s wall: " + ", ".join(f"{k} {v:.3f} s" for k, v in seconds.items())
    )
    print(f"document filters dropped: {report['documents']['dropped']['document_filter']}")
    print(
        f"RESULT document_filter_share_of_corpus_build: {seconds['document_filter'] / total:.2%} of the step "
        f"seconds, {seconds['document_filter'] / report['seconds']:.2%} of the wall time (goal: at most 10%)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="corpus build workers")
    parser.add_argument("--quick", action="store_true", help="accepted for run_all.py; the run is short anyway")
    args = parser.parse_args()
    from kmb.corpus.sample_news import generate

    wikinews = wikinews_texts()
    generated = [d.text for d in generate(2000, seed=1)]
    if wikinews:
        rule_shares("Korean Wikinews (news)", wikinews, "news")
    else:
        print(f"(Korean Wikinews skipped: {WIKINEWS} is absent)")
    rule_shares("generated health news (naver_health)", generated, "naver_health")
    rule_shares("samples/textbooks (if the rules were on)", textbook_texts(), "textbook")
    rule_shares("samples/kci abstracts (if the rules were on)", kci_texts(), "kci")
    rule_shares("planted spam (one line 6-12 times)", spam_texts(500), "news")
    print()
    speed("Korean Wikinews" if wikinews else "generated news", wikinews or generated)
    build_share(wikinews or generated[:1000], args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
