"""De-identification benchmark: kmb's detector against the obvious alternatives, in one run.

On made-up labelled notes (``kmb.deid.synthetic_notes``; every identifier generated) and, when
given, a labelled file of one's own (``--gold``), in one run:

1. quality per type (span-level recall, precision, leaked identifiers, kept look-alikes, scored by
   ``kmb.deid.scoring.Scorer`` for every tool alike) and speed in MB/s on one core, for
   - kmb (``kmb.deid.detect.deidentify``),
   - the obvious alternative: a handful of plain ``re.sub`` patterns (phones, resident numbers,
     e-mails, "<surname><1-2 syllables>님/씨/환자"),
   - Presidio's Korean pattern recognizers (KR_RRN, KR_FRN) with its e-mail, phone, URL, IP and
     card recognizers, and ``korean-pii``, where ``--alt-python`` has them installed (run there in
     a child process on the same notes: ``pip install presidio-analyzer korean-pii`` into any venv);
2. the share of ``kmb corpus build``'s time that the de-identification step takes on clinical notes
   (the build's own per-step timings; the issue's goal is at most 10%).

    .venv/bin/python benchmarks/bench_deid.py --quick
    .venv/bin/python benchmarks/bench_deid.py --notes 5000 --alt-python /tmp/pvenv/bin/python
    .venv/bin/python benchmarks/bench_deid.py --gold my_annotated_notes.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The obvious alternative: what one writes in an afternoon.
PLAIN_PATTERNS = [
    ("PHONE", re.compile(r"01[016789]-?\d{3,4}-?\d{4}|0\d{1,2}-\d{3,4}-\d{4}")),
    ("RRN", re.compile(r"\d{6}-?[1-8]\d{6}")),
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "NAME",
        re.compile(
            r"[김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허남심노하곽성차주우구민유진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹][가-힣]{1,2}(?=\s?(?:님|씨|환자))"
        ),
    ),
]

# Run with --alt-python: Presidio's and korean-pii's spans for each note, and their seconds.
ALT_SCRIPT = r"""
import json, sys, time
notes = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
out = {}
try:
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer, IpRecognizer,
        KrFrnRecognizer, KrRrnRecognizer, PhoneRecognizer, UrlRecognizer)
    kinds = {"KR_RRN": "RRN", "KR_FRN": "RRN", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "URL": "URL",
             "IP_ADDRESS": "IP_ADDRESS", "CREDIT_CARD": "CARD"}
    recognizers = [KrRrnRecognizer(), KrFrnRecognizer(), EmailRecognizer(), PhoneRecognizer(supported_regions=["KR"]),
                   UrlRecognizer(), IpRecognizer(), CreditCardRecognizer()]
    started, spans = time.perf_counter(), []
    for text in notes:
        found = []
        for r in recognizers:
            found += [(x.start, x.end, kinds.get(x.entity_type, x.entity_type)) for x in r.analyze(text, r.supported_entities, None)]
        spans.append(found)
    out["presidio"] = {"seconds": time.perf_counter() - started, "spans": spans}
except ImportError as exc:
    out["presidio"] = {"missing": str(exc)}
try:
    import korean_pii
    kinds = {"rrn": "RRN", "phone": "PHONE", "email": "EMAIL", "card": "CARD", "account": "ACCOUNT"}
    started = time.perf_counter()
    spans = [[(d.start, d.end, kinds.get(d.type, d.type.upper())) for d in korean_pii.detect(text)] for text in notes]
    out["korean-pii"] = {"seconds": time.perf_counter() - started, "spans": spans}
except ImportError as exc:
    out["korean-pii"] = {"missing": str(exc)}
print(json.dumps(out))
"""


def plain_spans(text: str) -> list[tuple[int, int, str]]:
    spans = [(m.start(), m.end(), kind) for kind, pattern in PLAIN_PATTERNS for m in pattern.finditer(text)]
    return _non_overlapping(spans)


def _non_overlapping(spans):
    kept = []
    for span in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def _replaced(text: str, spans) -> str:
    pieces, last = [], 0
    for start, end, kind in spans:
        pieces += [text[last:start], f"[{kind}]"]
        last = end
    return "".join(pieces + [text[last:]])


def score(notes: list[dict], spans_per_note: list) -> dict:
    from kmb.deid.scoring import Scorer

    scorer = Scorer(samples=0)
    for number, (note, spans) in enumerate(zip(notes, spans_per_note), 1):
        gold = [(s["start"], s["end"], s["type"]) for s in note["phi"]]
        spans = _non_overlapping([tuple(s) for s in spans])
        keep = [(k["start"], k["end"]) for k in note.get("keep", [])]
        scorer.add(number, note["text"], gold, spans, _replaced(note["text"], spans), keep)
    return scorer.report()


def timed(function, texts: list[str], repeat: int) -> tuple[list, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = [function(text) for text in texts]
        best = min(best, time.perf_counter() - started)
    return result, best


def print_quality(name: str, report: dict, megabytes: float, seconds: float | None) -> None:
    per_type = report["per_type"]
    cells = [
        f"{k} R {v['recall'] if v['recall'] is not None else '-'} P {v['precision'] if v['precision'] is not None else '-'}"
        for k, v in per_type.items()
        if v["gold"]
    ]
    overall = report["overall"]
    speed = f"{megabytes / seconds:.2f} MB/s" if seconds else "-"
    kept = report["look_alikes"]["kept_share"]
    print(
        f"  {name:<11} recall {overall['recall']}  precision {overall['precision']}  leaked {overall['leaked']}"
        f"  look-alikes kept {kept}  {speed}"
    )
    print(f"  {'':<11} " + "; ".join(cells))


def quality_and_speed(notes: list[dict], label: str, alt_python: str | None, repeat: int) -> None:
    from kmb.deid.detect import find_identifiers

    texts = [n["text"] for n in notes]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"\n== {label}: {len(notes):,} notes, {megabytes:.2f} MB")
    find_identifiers(texts[0])  # patterns compiled before timing
    kmb_spans, kmb_seconds = timed(find_identifiers, texts, repeat)
    plain, plain_seconds = timed(plain_spans, texts, repeat)
    kmb_report, plain_report = score(notes, kmb_spans), score(notes, plain)
    print_quality("kmb", kmb_report, megabytes, kmb_seconds)
    print_quality("plain re", plain_report, megabytes, plain_seconds)
    if alt_python:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as handle:
            handle.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
        proc = subprocess.run([alt_python, "-c", ALT_SCRIPT, handle.name], capture_output=True, text=True)
        Path(handle.name).unlink()
        if proc.returncode != 0:
            print(f"  (--alt-python failed: {proc.stderr.strip().splitlines()[-1:]})")
        else:
            for name, result in json.loads(proc.stdout).items():
                if "missing" in result:
                    print(f"  {name:<11} not installed in --alt-python ({result['missing']})")
                    continue
                print_quality(name, score(notes, result["spans"]), megabytes, result["seconds"])
                print(
                    f"RESULT deid_{name.replace('-', '_')}_recall: {score(notes, result['spans'])['overall']['recall']} "
                    f"(kmb {kmb_report['overall']['recall']})"
                )
    tag = "synthetic" if label.startswith("made-up") else "gold"
    print(f"RESULT deid_{tag}_recall: {kmb_report['overall']['recall']} (plain re {plain_report['overall']['recall']})")
    print(
        f"RESULT deid_{tag}_mb_per_s: {megabytes / kmb_seconds:.2f} MB/s per core "
        f"(plain re.sub patterns {megabytes / plain_seconds:.2f} MB/s) ratio={plain_seconds / kmb_seconds:.2f}x"
    )


WIKINEWS = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikinews" / "wikinews.csv"


def build_share(notes: int, workers: int) -> None:
    """kmb corpus build: the de-identification step's share of the build's step seconds, on the
    made-up clinical notes (short and dense with identifiers: the worst case) and, with
    ``--deidentify``, on real prose (Korean Wikinews from ../shared/data, when present)."""
    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.corpus.local_files import AddOptions, add_paths
    from kmb.deid.synthetic_notes import write_notes
    from kmb.workspace import Workspace

    cases = [("clinical notes (made up)", "clinical", None, "text")]
    if WIKINEWS.is_file():
        cases.append(("Korean Wikinews, --deidentify", "news", WIKINEWS, "내용"))
    else:
        print(f"(real prose skipped: {WIKINEWS} is absent)")
    for label, source, path, column in cases:
        with tempfile.TemporaryDirectory() as tmp:
            if path is None:
                path = Path(tmp) / "notes.jsonl"
                write_notes(path, notes, seed=9)
            ws = Workspace.open(Path(tmp) / "ws")
            add_paths(ws, [path], AddOptions(source=source, text_column=column))
            report = build_corpus(ws, BuildConfig(workers=workers, deidentify=source != "clinical")).data
        seconds = report["seconds_per_step"]
        total = sum(seconds.values())
        share = seconds["deidentify"] / total if total else 0.0
        print(
            f"\n== kmb corpus build, {label}: {report['documents']['read']:,} documents, {workers} worker(s): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
        )
        tag = "clinical" if source == "clinical" else "prose"
        print(f"RESULT deid_share_of_corpus_build_{tag}: {share:.1%} of the build's step seconds (goal: at most 10%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 1 minute)")
    parser.add_argument("--notes", type=int, default=3000, help="made-up notes to measure on")
    parser.add_argument("--gold", type=Path, help="also measure on this labelled .jsonl (text, phi, keep)")
    parser.add_argument("--alt-python", help="a Python with presidio-analyzer and/or korean-pii installed")
    parser.add_argument("--build-notes", type=int, default=2000, help="clinical notes for the corpus-build share")
    parser.add_argument("--workers", type=int, default=1, help="corpus build workers")
    args = parser.parse_args()
    from kmb.deid.synthetic_notes import make_notes

    notes = args.notes if not args.quick else 500
    quality_and_speed(
        list(make_notes(notes, seed=42)), "made-up labelled notes", args.alt_python, 1 if args.quick else 3
    )
    if args.gold:
        gold = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
        quality_and_speed(gold, f"gold file {args.gold}", args.alt_python, 1 if args.quick else 3)
    build_share(300 if args.quick else args.build_notes, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
