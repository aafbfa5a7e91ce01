"""`kmb corpus stats`: what the corpus holds, what each build step removed, length histograms.

Counts come from DuckDB queries over ``corpus/sentences`` and ``corpus/documents`` (never a Python
list of the corpus); the per-rule cleaning, document-filter, sentence-filter and dedup counts come
from ``corpus/report.json`` (summed over the incremental runs it records), and so does what the last
build's ``--decontaminate`` removed. Histograms are computed as binned counts in SQL and
drawn with matplotlib's Agg backend into PNG files.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from kmb.storage import atomic_path
from kmb.workspace import Workspace

HISTOGRAMS = {
    # name: (SQL expression over a sentences row, bin width, upper clip, x label)
    "sentence_chars": ("n_chars", 10, 400, "characters per sentence"),
    "sentence_words": ("n_words", 2, 100, "words (eojeol) per sentence"),
}


def corpus_stats(workspace: Workspace, plots_dir: Path | None = None) -> dict:
    """Return the statistics as a dict; write histogram PNGs into ``plots_dir`` (default corpus/stats)."""
    import duckdb

    corpus = workspace.corpus
    sentences = {"sentences": (corpus / "sentences" / "*.parquet").as_posix()}  # bound, never pasted
    documents_glob = {"documents": (corpus / "documents" / "*.parquet").as_posix()}
    workspace.sentence_files()  # the one "build the corpus first" error
    con = duckdb.connect()
    try:
        per_source = con.sql(
            """select source, split, count(distinct doc_id) as documents, count(*) as sentences,
                      sum(n_words) as words, sum(n_chars) as characters
               from read_parquet($sentences) group by all order by source, split""",
            params=sentences,
        ).fetchall()
        documents = con.sql(
            """select coalesce(dropped, 'kept') as status, count(*) from read_parquet($documents)
               group by all order by 2 desc""",
            params=documents_glob,
        ).fetchall()
        histograms = {}
        for name, (expr, width, clip, _) in HISTOGRAMS.items():
            histograms[name] = con.sql(
                f"""select least({expr}, {clip}) // {width} * {width} as bin, count(*)
                    from read_parquet($sentences) group by bin order by bin""",
                params=sentences,
            ).fetchall()
        histograms["document_sentences"] = con.sql(
            """select least(n, 100) // 2 * 2 as bin, count(*) from (
                   select count(*) as n from read_parquet($sentences) group by doc_id)
               group by bin order by bin""",
            params=sentences,
        ).fetchall()
    finally:
        con.close()

    report = _read_report(corpus)
    stats = {
        "by_source_split": [
            dict(zip(("source", "split", "documents", "sentences", "words", "characters"), row)) for row in per_source
        ],
        "documents": dict(documents),
        "cleaning": _sum_over_runs(report, "cleaning"),
        "filters": _sum_over_runs(report, "filters"),
        "duplicate_sentences": _sum_over_runs(report, "sentence_dedup").get("duplicates_dropped", 0),
        # documents dropped per document-filter rule, summed over the runs; None: the last build ran
        # with --no-document-filters
        "document_filters": _sum_over_runs(report, "document_filters") if _document_filters_on(report) else None,
        # what the last build's --decontaminate removed from the whole corpus (None: not asked)
        "decontamination": report.get("decontamination"),
        "plots": [],
    }
    plots_dir = Path(plots_dir) if plots_dir else corpus / "stats"
    labels = {name: spec[3] for name, spec in HISTOGRAMS.items()}
    labels["document_sentences"] = "sentences per document"
    for name, rows in histograms.items():
        stats["plots"].append(str(_plot(plots_dir / f"{name}.png", rows, labels[name])))
    return stats


def _read_report(corpus: Path) -> dict:
    path = corpus / "report.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _document_filters_on(report: dict) -> bool:
    return bool((report.get("settings") or {}).get("document_filters", {}).get("enabled", True))


def _sum_over_runs(report: dict, key: str) -> dict:
    total: Counter = Counter()
    for run in [report] + list(report.get("previous_runs") or []):
        total.update({k: v for k, v in (run.get(key) or {}).items() if isinstance(v, (int, float))})
    return dict(total)


def _plot(path: Path, rows: list[tuple], xlabel: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    bins = [r[0] for r in rows]
    counts = [r[1] for r in rows]
    width = (bins[1] - bins[0]) if len(bins) > 1 else 1
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    ax.bar(bins, counts, width=width * 0.9, align="edge", color="#3b6ea5")
    ax.set_xlabel(xlabel + " (last bin: at least)")
    ax.set_ylabel("count")
    ax.set_title(f"{xlabel}: {sum(counts):,} in all")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
