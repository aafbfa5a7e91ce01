"""Evaluation overlap benchmark: `kmb corpus overlap` (kmb.corpus.overlap) in two parts.

1. Speed (``speed``): N generated corpus sentences (default 1M, written as corpus/sentences parts)
   against M evaluation items (default 10k: 3k copies of corpus sentences, exact, with changed
   spacing and cut out of a sentence, and the rest new sentences), by ``corpus_overlap``; vs the
   obvious alternative, a Python ``item in sentences`` per item over a list of the corpus
   sentences, timed on a smaller size (--alt-sentences x --alt-items) and scaled to N x M (it is
   linear in both). The alternative finds only exact copies; kmb also finds the other two kinds.
2. The span length (``choose-n``): a corpus built by ``build_corpus`` from the real Wikinews
   articles in ../shared/data, plus a part of planted copies of KorSTS (train + dev) and KLUE-NER
   sentences (exact, changed spacing, inside a longer sentence, cut and given another ending);
   for each n, how many planted copies are found and how many ordinary (unplanted) items are
   flagged. The numbers are in docs/corpus.md ("Evaluation overlap").

    .venv/bin/python benchmarks/bench_overlap.py --quick     # 200k sentences, 2k items; < 60 s
    .venv/bin/python benchmarks/bench_overlap.py             # 1M sentences, 10k items
    .venv/bin/python benchmarks/bench_overlap.py --skip speed
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
SYLLABLES = [chr(0xAC00 + i) for i in range(0, 11172, 7)]  # 1,596 Hangul syllables
PART_ROWS = 250_000


def _words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(count)]


def generated_sentences(n: int, seed: int) -> list[str]:
    """Sentences of 6-12 words drawn from a 20,000-word random vocabulary, ending in 다."""
    rng = random.Random(seed)
    vocab = _words(rng, 20_000)
    return [" ".join(rng.choices(vocab, k=rng.randint(6, 12))) + "다." for _ in range(n)]


def write_corpus(ws, n: int, seed: int = 1) -> None:
    """n generated sentences as SENTENCES parts of ``PART_ROWS`` rows (generated part by part)."""
    from kmb.storage import SENTENCES, write_rows

    for part, start in enumerate(range(0, n, PART_ROWS)):
        texts = generated_sentences(min(PART_ROWS, n - start), seed + part)
        rows = (
            {"doc_id": f"g:{start + i // 10}", "source": "news", "sent_idx": i % 10, "text": t, "split": "train"}
            for i, t in enumerate(texts)
        )
        write_rows(ws.corpus / "sentences" / f"part-{part:03d}.parquet", rows, SENTENCES)


def change_spacing(text: str) -> str:
    """Join the first two words, split a later long word in two: same characters, other spacing."""
    words = text.split()
    if len(words) >= 2:
        words[:2] = [words[0] + words[1]]
    for i in range(len(words) - 1, 0, -1):
        if len(words[i]) >= 3:
            words[i] = words[i][:2] + " " + words[i][2:]
            break
    return " ".join(words)


def make_items(ws, n_items: int, copies: int, seed: int = 5) -> tuple[list[str], int]:
    """Items: ``copies`` taken from the corpus (a third exact, a third respaced, a third a run of
    words from inside a sentence), the rest new generated sentences. Returns (items, copies)."""
    import pyarrow.parquet as pq

    from kmb.corpus.overlap import NGRAM_CHARS

    rng = random.Random(seed)
    first = sorted((ws.corpus / "sentences").glob("*.parquet"))[0]
    pool = pq.read_table(first, columns=["text"]).column(0).to_pylist()
    # Cut-out copies must keep a span of NGRAM_CHARS: sentences long enough without their ends.
    pool = [t for t in pool if len("".join(t.split()[1:-1])) >= NGRAM_CHARS + 2]
    picked = rng.sample(pool, copies)
    items = []
    for i, text in enumerate(picked):
        if i % 3 == 0:
            items.append(text)
        elif i % 3 == 1:
            items.append(change_spacing(text))
        else:
            words = text.split()
            items.append(" ".join(words[1:-1]))  # inside the sentence, shorter at both ends
    items += generated_sentences(n_items - copies, seed=10_000 + seed)
    return items, copies


def bench_speed(n_sentences: int, n_items: int, alt_sentences: int, alt_items: int, tmp: Path) -> None:
    from kmb.corpus.overlap import OverlapOptions, corpus_overlap
    from kmb.workspace import Workspace

    ws = Workspace.open(tmp / "speed")
    start = time.perf_counter()
    write_corpus(ws, n_sentences)
    print(f"  generated {n_sentences:,} corpus sentences in {time.perf_counter() - start:.1f} s", flush=True)
    copies = max(3, n_items * 3 // 10)
    items, copies = make_items(ws, n_items, copies)
    eval_file = tmp / "items.txt"
    eval_file.write_text("\n".join(items) + "\n", encoding="utf-8")

    start = time.perf_counter()
    report = corpus_overlap(ws, [eval_file], OverlapOptions(format="text"))
    ours_s = time.perf_counter() - start
    found = report.files[0]["overlapping"]
    print(f"  kmb: {found:,} of {n_items:,} items overlap ({copies:,} planted), {report.files[0]['by_kind']}")

    # The same through the command, in a child process: its peak RSS (the corpus is streamed).
    import resource
    import subprocess

    start = time.perf_counter()
    command = [sys.executable, "-m", "kmb.cli", "corpus", "overlap", str(eval_file), "-w", str(ws.root)]
    subprocess.run(command + ["--format", "text", "--json"], check=True, capture_output=True)
    cli_s = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"  kmb corpus overlap (a child process, imports included): {cli_s:.1f} s, peak RSS {peak_gb:.2f} GB")

    # The obvious alternative on a smaller size: a list of the corpus sentences, `in` per item.
    import pyarrow.parquet as pq

    first = sorted((ws.corpus / "sentences").glob("*.parquet"))[0]
    corpus_list = pq.read_table(first, columns=["text"]).column(0).to_pylist()[:alt_sentences]
    probe = random.Random(7).sample(items, alt_items)  # the same mix of copies and new sentences
    start = time.perf_counter()
    alt_found = sum(item in corpus_list for item in probe)
    alt_s = time.perf_counter() - start
    scaled = alt_s * (n_sentences / len(corpus_list)) * (n_items / len(probe))
    print(
        f"  plain `in` over a list: {alt_found} of {len(probe):,} items (exact only) against "
        f"{len(corpus_list):,} sentences in {alt_s:.2f} s, scaled to {n_sentences:,} x {n_items:,}: {scaled:.0f} s"
    )
    print(
        f"RESULT corpus_overlap_speed: {n_sentences:,} corpus sentences x {n_items:,} items in {ours_s:.1f} s "
        f"({n_sentences / ours_s:,.0f} sentences/s; {found:,} found, {copies:,} planted; plain `in` per item over a "
        f"list: {scaled:.0f} s scaled from {len(corpus_list):,} x {len(probe):,}, exact copies only; the command "
        f"{cli_s:.1f} s, peak RSS {peak_gb:.2f} GB) "
        f"ratio={scaled / ours_s:.0f}x"
    )
    assert found == copies, f"{found} found, {copies} planted"

    # --decontaminate's step on the same corpus and items: every part streamed, the matching
    # sentences dropped (parts rewritten); then overlap on the result must find nothing.
    import shutil

    from kmb.corpus.decontaminate import decontaminate_sentences, read_contaminants

    folder = tmp / "decontaminated"
    shutil.copytree(ws.corpus / "sentences", folder)
    start = time.perf_counter()
    counts = decontaminate_sentences(folder, read_contaminants([eval_file]))
    decon_s = time.perf_counter() - start
    shutil.rmtree(ws.corpus / "sentences")
    shutil.move(str(folder), ws.corpus / "sentences")
    left = corpus_overlap(ws, [eval_file], OverlapOptions(format="text")).files[0]["overlapping"]
    print(
        f"RESULT corpus_decontaminate_speed: {n_sentences:,} corpus sentences x {n_items:,} items in {decon_s:.1f} s "
        f"({counts['sentences removed']:,} sentences removed, {left} items left by overlap afterwards; goal: under "
        f"60 s) ratio={scaled / decon_s:.0f}x"
    )
    assert left == 0, f"{left} items still overlap after decontamination"


# --- choosing n on real data ---------------------------------------------------------------------
_MARK = re.compile(r"<([^<>:]+):[A-Z]{2}>")


def klue_spaced(path: Path) -> dict[str, str]:
    """KLUE-NER sentences with their spacing (from the marked ``## id<TAB>`` lines), by spaceless text."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## ") and "\t" in line:
            sentence = _MARK.sub(r"\1", line.split("\t", 1)[1])
            out["".join(sentence.split())] = sentence
    return out


def wikinews_corpus(ws, workers: int) -> list[str]:
    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.storage import DOCUMENTS, write_rows

    with open(SHARED / "wikinews" / "wikinews.csv", encoding="utf-8", newline="") as handle:
        rows = [
            {"doc_id": f"wikinews:{i}", "source": "news", "title": r["제목"], "text": r["내용"]}
            for i, r in enumerate(csv.DictReader(handle))
        ]
    write_rows(ws.raw("news") / "part-1.parquet", rows, DOCUMENTS)
    build_corpus(ws, BuildConfig(workers=workers))
    import pyarrow.parquet as pq

    return [t for part in ws.sentence_files() for t in pq.read_table(part, columns=["text"]).column(0).to_pylist()]


def plant(text: str, kind: str, rng: random.Random, ordinary: list[str]) -> tuple[str, str]:
    """One planted copy of ``text`` (exact, respaced, inside a longer sentence, or cut short) and
    the part of ``text`` it shares."""
    core = text.rstrip(".!?\"' ")
    other = rng.choice(ordinary).split()
    if kind == "exact":
        return text, text
    if kind == "spacing":
        return change_spacing(text), text
    if kind == "inside":
        return " ".join(other[:3]) + " " + core + "라고 " + " ".join(other[-3:]), core
    words = core.split()  # cut: the first 60% of the words, then another sentence's ending
    kept = " ".join(words[: max(1, round(len(words) * 0.6))])
    return kept + " " + " ".join(other[-4:]), kept


def bench_choose_n(workers: int, tmp: Path, sizes: list[int], per_set: int) -> None:
    from kmb.corpus.overlap import OverlapIndex, read_eval_items, scan_corpus, spaceless
    from kmb.storage import SENTENCES, write_rows
    from kmb.workspace import Workspace

    ws = Workspace.open(tmp / "choose")
    ordinary = wikinews_corpus(ws, workers)
    files = [
        read_eval_items(SHARED / "korsts" / "sts-train.tsv"),
        read_eval_items(SHARED / "korsts" / "sts-dev.tsv"),
        read_eval_items(SHARED / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv"),
    ]
    spaced = klue_spaced(SHARED / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv")
    rng = random.Random(3)
    kinds = ("exact", "spacing", "inside", "cut")
    planted, rows, shared = {}, [], {}  # spaceless source text -> kind, -> shared characters
    for file_no, eval_file in enumerate(files):
        chosen = rng.sample(eval_file.items, per_set if file_no != 1 else per_set // 2)
        for i, item in enumerate(chosen):
            side = rng.randrange(len(item.texts))
            source = item.texts[side] if file_no != 2 else spaced.get(item.texts[side], item.texts[side])
            kind = kinds[i % len(kinds)]
            if spaceless(source) in planted:
                continue
            planted[spaceless(source)] = kind
            rows.append({"doc_id": f"planted:{len(rows)}", "source": "planted", "sent_idx": 0, "split": "train"})
            rows[-1]["text"], part = plant(source, kind, rng, ordinary)
            shared[spaceless(source)] = len(spaceless(part))
    write_rows(ws.corpus / "sentences" / "planted.parquet", rows, SENTENCES)
    items = [((f, it.number), it.texts) for f, ef in enumerate(files) for it in ef.items]
    kind_of, shared_of = {}, {}
    for key, texts in items:
        for text in texts:
            if spaceless(text) in planted:
                kind_of[key], shared_of[key] = planted[spaceless(text)], shared[spaceless(text)]
    totals = {k: sum(v == k for v in kind_of.values()) for k in kinds}
    unplanted = len(items) - len(kind_of)
    print(f"  corpus: {len(ordinary):,} Wikinews sentences + {len(rows)} planted; items: {len(items):,}")
    print(f"  planted items by kind: {totals}; ordinary items: {unplanted:,}")
    planted_part = ws.corpus / "sentences" / "planted.parquet"
    wiki_parts = [p for p in ws.sentence_files() if p != planted_part]
    print(
        "  | n | exact | spacing | inside | cut | inside+cut sharing >= n chars | ordinary items flagged by Wikinews |"
    )
    for size in sizes:
        copies_index, wiki_index = OverlapIndex(ngram=size), OverlapIndex(ngram=size)
        copies_index.add(items)
        wiki_index.add(items)
        scan_corpus([planted_part], copies_index)
        scan_corpus(wiki_parts, wiki_index)
        found = {k: sum(kind_of.get(key) == k for key in copies_index.matches) for k in kinds}
        false = [key for key in wiki_index.matches if key not in kind_of]
        cells = " | ".join(f"{found[k]}/{totals[k]}" for k in kinds)
        long = [k for k in kind_of if kind_of[k] in ("inside", "cut") and shared_of[k] >= size]
        long_found = sum(k in copies_index.matches for k in long)
        print(
            f"  | {size} | {cells} | {long_found}/{len(long)} | {len(false)} ({len(false) / unplanted:.2%}) |",
            flush=True,
        )
        for key in false[:3]:
            m = wiki_index.matches[key]
            print(f"      false flag n={size} [{m.kind}] {wiki_index.texts[key][m.side]!r} ~ {m.span!r}")
        copies = sum(found[k] for k in ("inside", "cut"))
        print(
            f"RESULT corpus_overlap_ngram_{size}: {copies}/{totals['inside'] + totals['cut']} inside/cut copies found, "
            f"{len(false)} of {unplanted:,} ordinary items flagged"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k sentences, 2k items, fewer n")
    parser.add_argument("--sentences", type=int, default=1_000_000, help="generated corpus sentences")
    parser.add_argument("--items", type=int, default=10_000, help="evaluation items")
    parser.add_argument("--alt-sentences", type=int, default=100_000, help="corpus size for the plain `in` check")
    parser.add_argument("--alt-items", type=int, default=500, help="items for the plain `in` check")
    parser.add_argument("--ngrams", default="8,10,12,14,16,18,20,25,30,40", help="span lengths to measure")
    parser.add_argument("--planted", type=int, default=400, help="planted copies per evaluation set (dev: half)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma-separated: speed, choose-n")
    args = parser.parse_args()
    if args.quick:
        args.sentences, args.items, args.alt_sentences, args.alt_items = 200_000, 2_000, 50_000, 200
        args.ngrams = "10,14,20,30"
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory(prefix="kmb-bench-overlap-") as tmp:
        if "speed" not in skip:
            bench_speed(args.sentences, args.items, args.alt_sentences, args.alt_items, Path(tmp))
        if "choose-n" not in skip:
            if not SHARED.is_dir():
                print(f"  choose-n skipped: {SHARED} is absent")
            else:
                sizes = [int(s) for s in args.ngrams.split(",")]
                bench_choose_n(args.workers, Path(tmp), sizes, args.planted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
