"""`kmb corpus`: add local files; build, inspect and export the sentence corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_error_line, echo_summary, group
from kmb.corpus.build import BuildConfig
from kmb.corpus.document_filters import DocumentFilterConfig
from kmb.corpus.filters import FilterConfig
from kmb.corpus.local_files import AddOptions
from kmb.corpus.overlap import OverlapOptions

app = group("Add local files; build, inspect and export the sentence corpus.")
ADD, BUILD, FILTERS, OVERLAP = AddOptions, BuildConfig, FilterConfig, OverlapOptions  # the defaults, written once


@app.command("add")
def add(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files and folders: .txt (UTF-8/CP949/EUC-KR/UTF-16), .pdf, JATS .xml, .jsonl, .csv."),
    ],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            "-s",
            help="What these documents are: textbook, article, news, clinical (de-identified by every build) or other (raw/<source>/).",
        ),
    ] = ADD.source,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Field holding the text in .jsonl/.csv files.")
    ] = ADD.text_column,
    title_column: Annotated[
        str, typer.Option("--title-column", help="Field holding the title in .jsonl/.csv files (optional).")
    ] = ADD.title_column,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="Field of .jsonl/.csv files whose value becomes the document id (<source>:<value>), e.g. the hospital's note id.",
        ),
    ] = ADD.id_column,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify", help="Remove identifiers at import, so that not even raw/ holds them (docs/deid.md)."
        ),
    ] = ADD.deidentify,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Add local files as documents; re-adding the same files adds nothing new."""
    from kmb.corpus.local_files import add_paths
    from kmb.workspace import Workspace

    options = AddOptions(
        source=source, text_column=text_column, title_column=title_column, id_column=id_column, deidentify=deidentify
    )
    summary = add_paths(Workspace.open(workspace), paths, options)
    for line in summary.skipped_lines():
        echo_error_line(line)
    summary.raise_if_nothing_used()
    echo_summary(f"corpus add ({summary.source})", summary.rows())


DocumentFiltersOpt = Annotated[
    bool,
    typer.Option(
        "--document-filters/--no-document-filters",
        help="Drop repetitive or non-prose web and news documents (FineWeb2's Korean rules; never papers, "
        "textbooks or clinical notes; docs/corpus.md), or keep every document.",
    ),
]


# The options of `build`, one alias each (so the signature reads as a table).
RebuildOpt = Annotated[bool, typer.Option("--rebuild", help="Start over instead of adding only new raw documents.")]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        help="Seed of the train/valid split by document (same seed, same split). Default 42, or the existing corpus's seed."
    ),
]
ValidRatioOpt = Annotated[
    float | None,
    typer.Option(
        help="Share of documents in the validation split. Default 0.1 (the paper's 90/10), or the existing corpus's ratio."
    ),
]
WorkersOpt = Annotated[
    int, typer.Option(help="Worker processes for normalising, cleaning and splitting; 0 = all cores.")
]
BackendOpt = Annotated[
    str,
    typer.Option(
        help="kss backend for the text the fast path cannot split: punct (measured best, docs/corpus.md), mecab or pecab."
    ),
]
FastPathOpt = Annotated[
    bool,
    typer.Option(
        "--fast-path/--kss-only",
        help="Split unambiguous boundaries without kss (default) or send everything to kss.",
    ),
]
NearThresholdOpt = Annotated[
    float, typer.Option(help="MinHash Jaccard similarity at which a document is a near-duplicate.")
]
MinCharsOpt = Annotated[int, typer.Option(help="Drop sentences shorter than this many characters.")]
MaxCharsOpt = Annotated[int, typer.Option(help="Drop sentences longer than this many characters.")]
MinHangulOpt = Annotated[
    float, typer.Option(help="Drop sentences whose share of Hangul among non-space characters is lower.")
]
DeidentifyOpt = Annotated[
    bool,
    typer.Option(
        "--deidentify", help="De-identify the documents of every source, not only clinical notes (docs/deid.md)."
    ),
]
KeepClinicalIdentifiersOpt = Annotated[
    bool,
    typer.Option(
        "--keep-clinical-identifiers",
        help="Do NOT de-identify clinical notes (they are by default); prints a warning.",
    ),
]
DecontaminateOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--decontaminate",
        help="An evaluation file (any format `kmb corpus overlap` reads; repeatable): every corpus sentence matching one of its items is removed, existing sentences too.",
    ),
]


@app.command("build")
def build(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    rebuild: RebuildOpt = BUILD.rebuild,
    seed: SeedOpt = BUILD.seed,
    valid_ratio: ValidRatioOpt = BUILD.valid_ratio,
    workers: WorkersOpt = BUILD.workers,
    backend: BackendOpt = BUILD.backend,
    fast_path: FastPathOpt = BUILD.fast_path,
    near_threshold: NearThresholdOpt = BUILD.near_threshold,
    min_chars: MinCharsOpt = FILTERS.min_chars,
    max_chars: MaxCharsOpt = FILTERS.max_chars,
    min_hangul: MinHangulOpt = FILTERS.min_hangul_share,
    document_filters: DocumentFiltersOpt = True,
    deidentify: DeidentifyOpt = BUILD.deidentify,
    keep_clinical_identifiers: KeepClinicalIdentifiersOpt = False,
    decontaminate: DecontaminateOpt = None,
) -> None:
    """Build the clean, deduplicated sentence corpus from every raw/<source>/ table (incremental)."""
    from kmb.corpus.build import build_corpus
    from kmb.workspace import Workspace

    config = BuildConfig(
        seed=seed,
        valid_ratio=valid_ratio,
        workers=workers,
        backend=backend,
        fast_path=fast_path,
        near_threshold=near_threshold,
        rebuild=rebuild,
        deidentify=deidentify,
        deidentify_clinical=not keep_clinical_identifiers,
        filters=FilterConfig(min_chars=min_chars, max_chars=max_chars, min_hangul_share=min_hangul),
        document_filters=DocumentFilterConfig(enabled=document_filters),
        decontaminate=tuple(str(p) for p in decontaminate or ()),
    )
    report = build_corpus(Workspace.open(workspace), config, progress=echo_error_line)
    echo_summary("corpus build", report.summary())


@app.command("removed")
def removed(
    rule: Annotated[
        str | None, typer.Option("--rule", help="Show a sample of what this rule removed (default: only the counts).")
    ] = None,
    sample: Annotated[int, typer.Option("--sample", help="How many removed documents or sentences to show.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the sample (the same seed, the same sample).")] = 0,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """What the build's filters and --decontaminate removed (corpus/removed/): counts per rule, a sample."""
    from kmb.corpus.removed import removed_sample
    from kmb.workspace import Workspace

    result = removed_sample(Workspace.open(workspace).corpus, rule, sample, seed)
    rows = {name: f"{count:,}" for name, count in result["rules"].items()} or {"removed": "nothing"}
    for row in result["sample"]:
        where = "document" if row["sent_idx"] is None else f"sentence {row['sent_idx']}"
        cut = "" if row["n_chars"] == len(row["text"]) else f" [cut at {len(row['text']):,} of {row['n_chars']:,}]"
        typer.echo(f"  {row['doc_id']} ({row['source']}, {where}){cut}: {row['text'][:300]}")
    echo_summary(f"corpus removed{f' ({rule})' if rule else ''}", rows)


@app.command("stats")
def stats(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    plots: Annotated[
        Path | None, typer.Option(help="Folder for the histogram PNGs (default <workspace>/corpus/stats).")
    ] = None,
) -> None:
    """Documents, sentences, words and characters per source and split; filter, dedup and decontamination counts; histograms."""
    from kmb.corpus.stats import corpus_stats
    from kmb.workspace import Workspace

    result = corpus_stats(Workspace.open(workspace), plots)
    rows = {
        f"{r['source']} / {r['split']}": f"{r['documents']:,} documents, {r['sentences']:,} sentences, "
        f"{r['words']:,} words, {r['characters']:,} characters"
        for r in result["by_source_split"]
    }
    rows["documents"] = ", ".join(f"{k} {v:,}" for k, v in result["documents"].items())
    rows["cleaning"] = ", ".join(f"{k} {v:,}" for k, v in result["cleaning"].items() if v) or "-"
    rows["filters"] = ", ".join(f"{k} {v:,}" for k, v in result["filters"].items() if v) or "-"
    rows["duplicate sentences"] = f"{result['duplicate_sentences']:,}"
    rows["document filters"] = _document_filter_counts(result["document_filters"])
    rows["decontaminated"] = _decontamination_counts(result["decontamination"])
    rows["histograms"] = ", ".join(result["plots"])
    echo_summary("corpus stats", rows)


def _document_filter_counts(counts: dict | None) -> str:
    if counts is None:
        return "off (--no-document-filters)"
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "0 documents dropped"


def _decontamination_counts(decontamination: dict | None) -> str:
    if not decontamination:
        return "- (the last build had no --decontaminate)"
    files = ", ".join(
        f"{Path(p).name}: {v['items']:,} items, {v['sentences removed']:,} removed"
        for p, v in decontamination["files"].items()
    )
    return f"{decontamination['sentences removed']:,} of {decontamination['sentences scanned']:,} sentences removed ({files})"


@app.command("export")
def export(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="txt: one sentence per line, blank line between documents; jsonl: one JSON object per sentence.",
        ),
    ] = "txt",
    split: Annotated[str, typer.Option(help="Which split to export: train, valid or all.")] = "train",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file (default <workspace>/corpus/export/<split>.<format>)."),
    ] = None,
) -> None:
    """Export the sentence corpus as text for other tools (e.g. Google BERT's create_pretraining_data)."""
    from kmb.corpus.export import export_corpus
    from kmb.workspace import Workspace

    echo_summary("corpus export", export_corpus(Workspace.open(workspace), output, format, split))


@app.command("overlap")
def overlap(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Evaluation files: what `kmb evaluate` reads (NER, STS, classification), plain text (one item per line) or JSON lines with a text field."
        ),
    ],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (from the content and suffix), kmbert, conll, klue-ner, korsts, medsts, klue-sts, tsv, csv, jsonl (text[, text_pair]), klue-nli or text (one item per line); one format for every file.",
        ),
    ] = OVERLAP.format,
    ngram: Annotated[
        int,
        typer.Option(
            "--ngram",
            help="Characters (spaces removed) an item must share in one run with a corpus sentence to count as a copy inside it (docs/corpus.md).",
        ),
    ] = OVERLAP.ngram,
    sample: Annotated[
        int, typer.Option("--sample", help="Overlapping items shown per file, with the corpus sentence each matched.")
    ] = OVERLAP.sample,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object (per file: items, overlapping items, sample) instead of a table."
        ),
    ] = False,
) -> None:
    """Count the items of evaluation files that occur in the corpus (exact, spacing changed, or a long shared span); read-only."""
    import json

    from kmb.corpus.overlap import corpus_overlap
    from kmb.workspace import Workspace

    # Read-only: the workspace is not opened (which would create and tidy its folders).
    ws = Workspace(workspace.expanduser().resolve())
    report = corpus_overlap(ws, paths, OverlapOptions(format=fmt, ngram=ngram, sample=sample))
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(report.table()))
