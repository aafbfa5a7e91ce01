"""Benchmark the sources stage: encoding detection, PDF extraction, local-file add, term import.

Each comparison runs both sides in the same process on the same inputs:

1. encoding detection: kmb's ordered codecs (BOM, strict UTF-8, plausibility-checked CP949)
   vs charset-normalizer's statistical detection, on our textbook samples in five encodings;
   speed and how many files each decodes to the right text;
2. PDF text: pypdf (what kmb uses) vs pdfplumber, on multi-page PDFs we make, speed and whether
   the extracted text is identical;
3. `kmb corpus add` docs/s vs the floor of just reading and decoding the same files;
4. `kmb terms import` rows/s vs the floor of just reading the same TSV with csv.reader (the real
   KCD list when ../shared/data is present, else our sample list repeated).

    .venv/bin/python benchmarks/bench_sources.py            # default sizes
    .venv/bin/python benchmarks/bench_sources.py --quick    # small sizes, well under a minute
"""

from __future__ import annotations

import argparse
import codecs
import csv
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from kmb.corpus.local_files import AddOptions, add_paths  # noqa: E402
from kmb.corpus.text_encoding import UndecodableText, decode_korean_text  # noqa: E402
from kmb.crawlers.pdf_text import extract_pages, extract_pages_pdfplumber, write_text_pdf  # noqa: E402
from kmb.vocab.term_lists import import_terms  # noqa: E402
from kmb.workspace import Workspace  # noqa: E402

SAMPLES = REPO / "samples" / "textbooks"
KCD = REPO.parent / "shared" / "data" / "kcd" / "kcd_book.tsv"
ENCODINGS = ["utf-8", "utf-8-sig", "cp949", "utf-16", "euc-kr"]


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def sample_texts() -> list[str]:
    texts = []
    for path in sorted(SAMPLES.glob("*.txt")):
        texts.append(decode_korean_text(path.read_bytes())[0])
    return texts


def bench_encodings(n_files: int, repeat: int) -> None:
    from charset_normalizer import from_bytes

    texts = sample_texts()
    files = []
    for i in range(n_files):
        text = texts[i % len(texts)]
        enc = ENCODINGS[i % len(ENCODINGS)]
        files.append((text, text.encode(enc) if enc != "utf-8-sig" else codecs.BOM_UTF8 + text.encode("utf-8")))

    def ours():
        right = 0
        for text, data in files:
            try:
                right += decode_korean_text(data)[0] == text
            except UndecodableText:
                pass
        return right

    def theirs():
        right = 0
        for text, data in files:
            best = from_bytes(data).best()
            right += best is not None and str(best).lstrip("\ufeff") == text
        return right

    t_ours, t_theirs = best_of(ours, repeat), best_of(theirs, repeat)
    ok_ours, ok_theirs = ours(), theirs()
    print(
        f"RESULT encoding detection: {n_files / t_ours:,.0f} files/s, {ok_ours}/{n_files} right "
        f"(charset-normalizer {n_files / t_theirs:,.0f} files/s, {ok_theirs}/{n_files} right) ratio={t_theirs / t_ours:.1f}x"
    )


def bench_pdf(n_pages: int, repeat: int, tmp: Path) -> None:
    lines = [line for text in sample_texts() for line in text.splitlines() if line][:30]
    pages = [lines[(i * 7) % len(lines) :][:25] or lines[:25] for i in range(n_pages)]
    pdf = write_text_pdf(tmp / "bench.pdf", pages, header="kmb 벤치마크 교과서")
    t_pypdf = best_of(lambda: extract_pages(pdf), repeat)
    t_plumber = best_of(lambda: extract_pages_pdfplumber(pdf), repeat)
    same = extract_pages(pdf) == extract_pages_pdfplumber(pdf)
    print(
        f"RESULT pdf text (pypdf): {n_pages / t_pypdf:,.1f} pages/s, text identical to pdfplumber: {same} "
        f"(pdfplumber {n_pages / t_plumber:,.1f} pages/s) ratio={t_plumber / t_pypdf:.1f}x"
    )


def bench_add(n_files: int, tmp: Path) -> None:
    folder = tmp / "books"
    folder.mkdir()
    sources = sorted(SAMPLES.glob("*.txt"))
    for i in range(n_files):
        shutil.copy(sources[i % len(sources)], folder / f"book_{i:05d}.txt")  # doc_id includes the path

    def floor():
        for path in sorted(folder.iterdir()):
            decode_korean_text(path.read_bytes())

    t_floor = best_of(floor, 1)
    ws = Workspace.open(tmp / "ws-add")
    start = time.perf_counter()
    summary = add_paths(ws, [folder], AddOptions(source="textbook"))
    t_add = time.perf_counter() - start
    start = time.perf_counter()
    again = add_paths(ws, [folder], AddOptions(source="textbook"))
    t_again = time.perf_counter() - start
    print(
        f"RESULT corpus add: {summary.added / t_add:,.0f} docs/s ({n_files} files; re-add of the same folder {n_files / t_again:,.0f} files/s, "
        f"{again.added} added; read+decode only {n_files / t_floor:,.0f} files/s, the floor) ratio={t_floor / t_add:.2f}x"
    )


def bench_terms(repeat_rows: int, tmp: Path) -> None:
    if KCD.exists():
        path, source, label = KCD, "kcd", "KCD 22,551 rows"
    else:
        sample = (REPO / "samples" / "terms" / "medical_terms.tsv").read_text(encoding="utf-8").splitlines()
        body = [f"{line.split(chr(9))[0]}{i}\t\t" for i in range(repeat_rows // len(sample) + 1) for line in sample[1:]]
        path, source, label = tmp / "terms.tsv", "custom", f"sample x{repeat_rows // len(sample) + 1}"
        path.write_text("term\tenglish\tcategory\n" + "\n".join(body) + "\n", encoding="utf-8")

    def floor():
        with open(path, encoding="utf-8", newline="") as fh:
            return sum(1 for _ in csv.reader(fh, dialect="excel-tab")) - 1

    rows = floor()
    t_floor = best_of(floor, 3)
    times = []
    for i in range(3):
        ws = Workspace.open(tmp / f"ws-terms-{i}")
        start = time.perf_counter()
        summary = import_terms(ws, path, source)
        times.append(time.perf_counter() - start)
    t_import = statistics.median(times)
    print(
        f"RESULT terms import: {rows / t_import:,.0f} rows/s ({label}, {summary.kept} terms; csv.reader read only "
        f"{rows / t_floor:,.0f} rows/s, the floor) ratio={t_floor / t_import:.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s)")
    parser.add_argument("--files", type=int, default=None, help="files for encoding detection and corpus add")
    parser.add_argument("--pages", type=int, default=None, help="PDF pages")
    args = parser.parse_args()
    files = args.files or (60 if args.quick else 600)
    pages = args.pages or (10 if args.quick else 60)
    with tempfile.TemporaryDirectory(prefix="kmb-bench-sources-") as tmp_name:
        tmp = Path(tmp_name)
        bench_encodings(files, 1 if args.quick else 3)
        bench_pdf(pages, 1 if args.quick else 3, tmp)
        bench_add(files, tmp)
        bench_terms(5000 if args.quick else 50000, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
