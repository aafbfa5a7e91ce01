"""The `kmb` command line: parse options, call one library function, print a summary.

One Typer sub-app per command group (crawl, corpus, terms, vocab, evaluate) plus the commands
`pretrain` and `quickstart`. No logic lives here that a test would want to call: each command
hands its options to a function of the stage's module. Errors a user can cause arrive as
:class:`kmb.errors.KmbError` and are printed as one line with a non-zero exit.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from kmb import __version__
from kmb.errors import KmbError

app = typer.Typer(
    name="kmb",
    help="Build and measure a Korean medical BERT: crawl -> corpus -> vocab -> pretrain -> evaluate.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    add_completion=False,
)

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="KMB_WORKSPACE",
        help="Workspace directory holding every stage's files (env KMB_WORKSPACE).",
    ),
]
DEFAULT_WORKSPACE = Path("kmb-workspace")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kmb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Build and measure a Korean medical BERT: crawl -> corpus -> vocab -> pretrain -> evaluate."""


def echo_summary(title: str, rows: dict) -> None:
    """Print an end-of-command summary as aligned `key  value` lines."""
    typer.echo(title)
    width = max((len(str(k)) for k in rows), default=0)
    for key, value in rows.items():
        typer.echo(f"  {str(key).ljust(width)}  {value}")


# ================================================================================================
# kmb crawl: collect documents (NAVER health news, KCI journal articles)
# ================================================================================================
crawl_app = typer.Typer(help="Collect documents: NAVER health news, KCI journal articles; parse saved pages.", no_args_is_help=True)
app.add_typer(crawl_app, name="crawl")
crawl_parse_app = typer.Typer(help="Parse saved pages offline, printing one JSON object per page.", no_args_is_help=True)
crawl_app.add_typer(crawl_parse_app, name="parse")

@crawl_app.command("naver-health")
def crawl_naver_health_command(
    start: Annotated[str, typer.Option(help="First day to crawl (YYYY-MM-DD, Korea time); the paper's range starts here.")] = "2010-01-01",
    end: Annotated[str, typer.Option(help="Last day to crawl (YYYY-MM-DD), inclusive.")] = "2020-12-31",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    base_url: Annotated[str, typer.Option(help="Site to crawl: NAVER News, or a mirror such as `kmb crawl replay-server`.")] = "https://news.naver.com",
    list_pages: Annotated[str, typer.Option(help="List-page generation: old (list.naver, until 2024), new (breakingnews + JSON), auto (old, then new when a day lists nothing).")] = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Go on from an interrupted crawl: skip finished days, keep Scrapy's JOBDIR in the workspace.")] = False,
    keep_html: Annotated[bool, typer.Option("--keep-html", help="Store each article's raw HTML too (column html), to re-parse without re-crawling.")] = False,
    max_articles: Annotated[int, typer.Option(help="Stop after requesting this many articles (0: no limit).")] = 0,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots", help="Do not obey robots.txt. Only with the site's written permission; prints a warning.")] = False,
    delay: Annotated[float, typer.Option(help="Seconds between requests to one site (AutoThrottle may wait longer). Below 1 only for local mirrors and tests.")] = 1.0,
    flush_every: Annotated[int, typer.Option(help="Write a Parquet part every N items; a kill loses at most these, --resume fetches them again.")] = 100,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Scrapy's INFO log.")] = False,
) -> None:
    """Crawl NAVER News > 생활/문화 > 건강정보 into <workspace>/raw/naver_health (Parquet)."""
    from kmb.crawlers.naver_crawl import NaverCrawlOptions, crawl_naver_health

    report = crawl_naver_health(
        NaverCrawlOptions(
            start=start, end=end, workspace=workspace, base_url=base_url, list_pages=list_pages, resume=resume,
            keep_html=keep_html, max_articles=max_articles, ignore_robots=ignore_robots, delay=delay,
            flush_every=flush_every, log_level="INFO" if verbose else "WARNING",
        )
    )
    echo_summary("naver-health crawl", report.rows())


@crawl_app.command("replay-server")
def crawl_replay_server_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: chosen by the OS).")] = 0,
    disallow_all: Annotated[bool, typer.Option("--disallow-all", help="Serve robots.txt 'Disallow: /' like NAVER does.")] = False,
) -> None:
    """Serve the bundled NAVER replay site on 127.0.0.1 until Ctrl-C (prints its URL for --base-url)."""
    from kmb.crawlers.replay_server import serve_replay_site

    serve_replay_site(port, disallow_all)


@crawl_parse_app.command("naver")
def crawl_parse_naver_command(
    files: Annotated[list[Path], typer.Argument(help="Saved NAVER article pages (either layout, UTF-8 or EUC-KR).")],
    url: Annotated[Optional[str], typer.Option(help="The page's URL (default: its og:url); only with one FILE.")] = None,
    keep_html: Annotated[bool, typer.Option("--keep-html", help="Include the page's HTML in the JSON.")] = False,
) -> None:
    """Parse saved article pages offline; print one JSON object per page (the Parquet row's fields)."""
    from kmb.crawlers.naver_pages import saved_pages_json

    for line in saved_pages_json(files, url=url, keep_html=keep_html):
        typer.echo(line)


@crawl_app.command("kci")
def crawl_kci_command(
    endpoint: Annotated[str, typer.Option("--endpoint", help="OAI-PMH base URL (KCI's, a mirror's, or a local test server's).")] = "https://open.kci.go.kr/oai/request",
    journals: Annotated[Optional[Path], typer.Option("--journals", help="File of ISSNs or journal names, one per line; default: articles whose KCI subject is medical.")] = None,
    years: Annotated[str, typer.Option("--years", help="Publication years to keep, FROM-TO (the paper: 2010-2020); 'all' keeps every year.")] = "2010-2020",
    from_date: Annotated[Optional[str], typer.Option("--from", help="OAI 'from': repository update date YYYY-MM-DD (not publication date).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="OAI 'until': repository update date YYYY-MM-DD.")] = None,
    metadata_prefix: Annotated[str, typer.Option("--format", help="Metadata format to ask for: oai_kci (KCI's, with Korean and English abstracts) or oai_dc.")] = "oai_kci",
    set_spec: Annotated[str, typer.Option("--set", help="OAI set: ARTI (KCI articles); '' for none.")] = "ARTI",
    max_records: Annotated[Optional[int], typer.Option("--max-records", help="Stop after keeping this many articles.")] = None,
    delay: Annotated[float, typer.Option("--delay", help="Seconds between requests (be polite to KCI).")] = 1.0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last harvest in this workspace from its saved resumption token.")] = False,
    fulltext: Annotated[bool, typer.Option("--fulltext", help="For open-access records, fetch the record's URL and, when it is a PDF, add its text (references, headers, page numbers removed).")] = False,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Documents per Parquet part; a resume point is saved after each part.")] = 500,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Harvest Korean journal-article abstracts from KCI over OAI-PMH into raw/kci/."""
    from kmb.crawlers.kci_harvest import KciCrawlOptions, crawl_kci

    report = crawl_kci(
        KciCrawlOptions(
            endpoint=endpoint, journals=journals, years=years, from_date=from_date, until=until, metadata_prefix=metadata_prefix,
            set_spec=set_spec, max_records=max_records, delay=delay, resume=resume, fulltext=fulltext,
            checkpoint_every=checkpoint_every, workspace=workspace,
        )
    )
    echo_summary(f"crawl kci ({endpoint})", report.rows())


# ================================================================================================
# kmb corpus: local files in, clean sentence corpus out
# ================================================================================================
corpus_app = typer.Typer(help="Add local files; build, inspect and export the sentence corpus.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

@corpus_app.command("add")
def corpus_add_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders: .txt (UTF-8/CP949/EUC-KR/UTF-16), .pdf, JATS .xml, .jsonl, .csv.")],
    source: Annotated[str, typer.Option("--source", "-s", help="What these documents are: textbook, article, news or other (raw/<source>/).")] = "other",
    text_column: Annotated[str, typer.Option("--text-column", help="Field holding the text in .jsonl/.csv files.")] = "text",
    title_column: Annotated[str, typer.Option("--title-column", help="Field holding the title in .jsonl/.csv files (optional).")] = "title",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Add local files as documents; re-adding the same files adds nothing new."""
    from kmb.corpus.local_files import AddOptions, add_paths, add_verdict
    from kmb.workspace import Workspace

    s = add_paths(Workspace.open(workspace), paths, AddOptions(source=source, text_column=text_column, title_column=title_column))
    skipped, error = add_verdict(s)
    for line in skipped:
        typer.echo(line, err=True)
    if error is not None:
        raise error
    echo_summary(f"corpus add ({s.source})", {"files": s.files, "ignored (other file types)": s.ignored, "added": s.added, "unchanged": s.unchanged,
                                               "rejected": len(s.rejected), **{f"  {k}": v for k, v in sorted(s.by_format.items())},
                                               "written": s.part or "(nothing new)"})

@corpus_app.command("build")
def corpus_build_command(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over instead of adding only new raw documents.")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the train/valid split by document (same seed, same split). Default 42, or the existing corpus's seed.")] = None,
    valid_ratio: Annotated[Optional[float], typer.Option(help="Share of documents in the validation split. Default 0.1 (the paper's 90/10), or the existing corpus's ratio.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes for normalising, cleaning and splitting; 0 = all cores.")] = 0,
    backend: Annotated[str, typer.Option(help="kss backend for the text the fast path cannot split: punct (measured best, docs/corpus.md), mecab or pecab.")] = "punct",
    fast_path: Annotated[bool, typer.Option("--fast-path/--kss-only", help="Split unambiguous boundaries without kss (default) or send everything to kss.")] = True,
    near_threshold: Annotated[float, typer.Option(help="MinHash Jaccard similarity at which a document is a near-duplicate.")] = 0.8,
    min_chars: Annotated[int, typer.Option(help="Drop sentences shorter than this many characters.")] = 8,
    max_chars: Annotated[int, typer.Option(help="Drop sentences longer than this many characters.")] = 1000,
    min_hangul: Annotated[float, typer.Option(help="Drop sentences whose share of Hangul among non-space characters is lower.")] = 0.4,
) -> None:
    """Build the clean, deduplicated sentence corpus from every raw/<source>/ table (incremental)."""
    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.corpus.filters import FilterConfig
    from kmb.workspace import Workspace

    config = BuildConfig(
        seed=seed, valid_ratio=valid_ratio, workers=workers, backend=backend, fast_path=fast_path,
        near_threshold=near_threshold, rebuild=rebuild,
        filters=FilterConfig(min_chars=min_chars, max_chars=max_chars, min_hangul_share=min_hangul),
    )
    report = build_corpus(Workspace.open(workspace), config, progress=lambda line: typer.echo(line, err=True))
    echo_summary("corpus build", report.summary())


@corpus_app.command("stats")
def corpus_stats_command(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    plots: Annotated[Optional[Path], typer.Option(help="Folder for the histogram PNGs (default <workspace>/corpus/stats).")] = None,
) -> None:
    """Documents, sentences, words and characters per source and split; filter/dedup counts; histograms."""
    from kmb.corpus.stats import corpus_stats
    from kmb.workspace import Workspace

    stats = corpus_stats(Workspace.open(workspace), plots)
    rows = {f"{r['source']} / {r['split']}": f"{r['documents']:,} documents, {r['sentences']:,} sentences, "
            f"{r['words']:,} words, {r['characters']:,} characters" for r in stats["by_source_split"]}
    rows["documents"] = ", ".join(f"{k} {v:,}" for k, v in stats["documents"].items())
    rows["cleaning"] = ", ".join(f"{k} {v:,}" for k, v in stats["cleaning"].items() if v) or "-"
    rows["filters"] = ", ".join(f"{k} {v:,}" for k, v in stats["filters"].items() if v) or "-"
    rows["duplicate sentences"] = f"{stats['duplicate_sentences']:,}"
    rows["histograms"] = ", ".join(stats["plots"])
    echo_summary("corpus stats", rows)


@corpus_app.command("export")
def corpus_export_command(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    format: Annotated[str, typer.Option("--format", help="txt: one sentence per line, blank line between documents; jsonl: one JSON object per sentence.")] = "txt",
    split: Annotated[str, typer.Option(help="Which split to export: train, valid or all.")] = "train",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file (default <workspace>/corpus/export/<split>.<format>).")] = None,
) -> None:
    """Export the sentence corpus as text for other tools (e.g. Google BERT's create_pretraining_data)."""
    from kmb.corpus.export import export_corpus
    from kmb.workspace import Workspace

    ws = Workspace.open(workspace)
    output = output or ws.corpus / "export" / f"{split}.{format}"
    echo_summary("corpus export", export_corpus(ws, output, format, split))


# ================================================================================================
# kmb terms: medical term lists
# ================================================================================================
terms_app = typer.Typer(help="Import medical term lists, count them in the corpus, list them.", no_args_is_help=True)
app.add_typer(terms_app, name="terms")

@terms_app.command("import")
def terms_import_command(
    file: Annotated[Path, typer.Argument(help="Term list: .csv, .tsv, .xlsx, or .txt with one term per line.")],
    source: Annotated[str, typer.Option("--source", "-s", help="Which list this is: kamje, mfds, kcd or custom.")] = "custom",
    column: Annotated[Optional[str], typer.Option("--column", "-c", help="Header of the term column (default per source; KCD: ko).")] = None,
    english_column: Annotated[Optional[str], typer.Option("--english-column", help="Header of the English name column (default per source; KCD: en).")] = None,
    category_column: Annotated[Optional[str], typer.Option("--category-column", help="Header of a category/code column (default per source; KCD: kcd).")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Characters that separate synonyms in one cell (default ';|,', KCD none; '' for none).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Import a medical term list into the one merged terms table (terms/terms.parquet)."""
    from kmb.workspace import Workspace
    from kmb.vocab.term_lists import import_terms

    s = import_terms(Workspace.open(workspace), file, source, column, english_column, category_column, split)
    rows = {"file": s.file, "column": s.column, "rows read": s.rows, "terms kept": s.kept, "new in table": s.new_terms,
            "already in another source": s.also_in_other_sources}
    rows.update({f"dropped ({rule})": n for rule, n in sorted(s.dropped.items())})
    rows.update({"table terms": s.table_terms, **{f"  from {k}": v for k, v in s.per_source.items()}, "  in several sources": s.overlapping})
    echo_summary(f"terms import ({s.source})", rows)


@terms_app.command("list")
def terms_list_command(
    source: Annotated[Optional[str], typer.Option("--source", "-s", help="Only terms from this source list.")] = None,
    contains: Annotated[Optional[str], typer.Option("--contains", help="Only terms containing this text.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many terms to print (0 or more).")] = 20,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Print terms from the merged table and how many each source gave (also the DuckDB view `terms`)."""
    from kmb.workspace import Workspace
    from kmb.vocab.term_lists import list_terms

    rows, counts = list_terms(Workspace.open(workspace), source, contains, limit)
    for row in rows:
        extra = "; ".join(x for x in (row["english"], row["gloss"] and f"({row['gloss']})") if x)
        typer.echo(f"{row['term']}\t{','.join(row['sources'])}\t{extra}")
    echo_summary("terms table", counts)

@terms_app.command("count")
def terms_count_command(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    anywhere: Annotated[
        bool, typer.Option("--anywhere", help="Count every substring occurrence, not only matches that start a word (overcounts short terms).")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes; 0 = one per CPU core, 1 = no extra process.")] = 0,
    batch_rows: Annotated[int, typer.Option("--batch-rows", help="Sentences per batch handed to a worker (at least 1).")] = 20_000,
) -> None:
    """Count every term of the terms table in the train split (occurrences and documents) -> terms/term_freq.parquet."""
    from kmb.workspace import Workspace
    from kmb.vocab.term_counts import CountConfig, count_workspace_terms

    def progress(sentences: int) -> None:
        sys.stderr.write(f"\r  {sentences:,} sentences counted")
        sys.stderr.flush()

    config = CountConfig(anywhere=anywhere, workers=workers, batch_rows=batch_rows)
    summary = count_workspace_terms(Workspace.open(workspace), config, progress=progress)
    sys.stderr.write("\n")
    echo_summary("term counts", summary)




# ================================================================================================
# kmb vocab: extended vocabulary, tokenizers, embedding extension
# ================================================================================================
vocab_app = typer.Typer(help="Build the extended medical vocab, inspect tokenization, extend a model's embeddings.", no_args_is_help=True)
app.add_typer(vocab_app, name="vocab")

@vocab_app.command("build")
def vocab_build_command(
    base_vocab: Annotated[Path, typer.Option("--base-vocab", help="The base vocab: a vocab.txt or a local model directory holding one (e.g. KR-BERT's), or a directory with a BPE/Unigram tokenizer.json (terms become added tokens).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    min_count: Annotated[int, typer.Option("--min-count", help="Drop terms seen fewer times than this in the train split (paper: 3).")] = 3,
    top: Annotated[int, typer.Option("--top", help="Keep this many most frequent terms (paper: 10,000).")] = 10_000,
    extra: Annotated[Optional[Path], typer.Option("--extra", help="Extra term list added after the top-N cut, one term per line (paper: 1,629 words).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output tokenizer directory (default <workspace>/vocab/medical).")] = None,
    continuation: Annotated[bool, typer.Option("--continuation", help="Also add ##term forms so terms inside compounds match (not in the paper).")] = False,
    pad_to_multiple: Annotated[int, typer.Option("--pad-to-multiple", help="Pad the vocab with [unusedN] to a multiple of this, e.g. 64 (0 = off, the paper's way).")] = 0,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Record KR-BERT's bidirectional WordPiece as this tokenizer's splitting (default forward).")] = False,
    coverage_sentences: Annotated[int, typer.Option("--coverage-sentences", help="Validation sentences read for the coverage report (0 = skip).")] = 100_000,
) -> None:
    """Build the extended medical vocab (the paper's procedure, each step counted) and print the report."""
    from kmb.workspace import Workspace
    from kmb.vocab.build import BuildConfig, build_vocab

    config = BuildConfig(
        min_count=min_count, top=top, extra=extra, continuation=continuation,
        pad_to_multiple=pad_to_multiple, bidirectional=bidirectional, coverage_sentences=coverage_sentences,
    )
    ws = Workspace.open(workspace)
    report = build_vocab(ws, base_vocab, out or ws.vocab("medical"), config)
    kind = "" if "wordpiece" in report else f" ({report['tokenizer']})"  # terms added as whole tokens
    echo_summary(f"vocab build{kind} -> {report['out']}", report["steps"])
    if report["rejected"]:
        shown = ", ".join(f"{r['term']} ({r['reason']})" for r in report["rejected"][:10])
        more = len(report["rejected"]) - 10
        why = "WordPiece cannot produce them" if "wordpiece" in report else "white space inside a token"
        typer.echo(f"rejected ({why}): {shown}" + (f", ... {more} more in build_report.json" if more > 0 else ""))
    coverage = report["coverage"]
    rows = {f"{k} ({side})": v for side in ("before", "after") for k, v in coverage[side].items()}
    echo_summary(f"coverage ({coverage['terms measured']} counted terms, {coverage['sentences measured']} {coverage['sentences split']} sentences)", rows)


@vocab_app.command("tokenize")
def vocab_tokenize_command(
    texts: Annotated[list[str], typer.Argument(help="Texts to tokenize; one output line each, tokens separated by single spaces.")],
    vocab: Annotated[Path, typer.Option("--vocab", help="Tokenizer directory (vocab.txt and/or tokenizer.json).")],
    bidirectional: Annotated[
        Optional[bool], typer.Option("--bidirectional/--forward", help="KR-BERT's bidirectional or plain forward WordPiece (default: what the directory records).")
    ] = None,
) -> None:
    """Show how a tokenizer splits each TEXT."""
    from kmb.vocab.tokenizers import load_tokenizer

    tok = load_tokenizer(vocab, bidirectional=bidirectional)
    for text in texts:
        typer.echo(" ".join(tok.tokenize(text)))


@vocab_app.command("extend-model")
def vocab_extend_model_command(
    model: Annotated[Path, typer.Option("--model", help="Base model directory (Hugging Face format, any masked-LM family, with its tokenizer).")],
    vocab: Annotated[Path, typer.Option("--vocab", help="Extended tokenizer directory from `kmb vocab build`.")],
    out: Annotated[Path, typer.Option("--out", help="Output model directory (safetensors + the new tokenizer).")],
    init: Annotated[str, typer.Option("--init", help="New embeddings: normal (N(0, initializer_range), the paper's way; the default) or subword-mean (mean of the base pieces; recommended).")] = "normal",
    seed: Annotated[int, typer.Option("--seed", help="Random seed for --init normal (0 or more).")] = 0,
) -> None:
    """Resize a masked LM's token embeddings (and tied MLM decoder and output bias) to an extended vocab."""
    from kmb.vocab.extend import extend_model

    echo_summary("extended model", extend_model(model, vocab, out, init=init, seed=seed))




# ================================================================================================
# kmb pretrain: continued MLM + NSP (BERT) or MLM pretraining of a Korean encoder
# ================================================================================================


@app.command("pretrain")
def pretrain_command(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    base_model: Annotated[Optional[str], typer.Option("--base-model", help="Start model: a local directory or a hub id that AutoModelForMaskedLM loads, BERT, RoBERTa, XLM-R, ModernBERT, ... (default: KR-BERT, snunlp/KR-BERT-char16424).")] = None,
    config: Annotated[Optional[str], typer.Option("--config", help="Train from scratch with this size instead: tiny, small or base.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Tokenizer directory, or 'workspace' for the workspace's newest vocab/<name>/ (default: the base model's own; with --config, the workspace's vocab).")] = None,
    recipe: Annotated[str, typer.Option("--recipe", help="Values of the options not given: paper (lr 1e-6, no warmup, static masking, normal init of new embeddings) or modern (lr 2e-5, 6% warmup, dynamic masking, subword-mean init). An option you give wins.")] = "paper",
    objective: Annotated[str, typer.Option("--objective", help="auto (MLM + NSP when the base has an NSP head, as BERT's BertForPreTraining, or no head at all; MLM alone otherwise), mlm or mlm+nsp (BERT only).")] = "auto",
    whole_word_masking: Annotated[bool, typer.Option("--whole-word-masking", help="Mask every piece of a chosen eojeol (white-space word) together, for both objectives.")] = False,
    report_to: Annotated[str, typer.Option("--report-to", help="none, or tensorboard: the Trainer's logs and the validation metrics as TensorBoard scalars in pretrain/<name>/runs/ (pip install 'kmb[tensorboard]').")] = "none",
    output: Annotated[str, typer.Option("--output", help="Name of the result: models/<name>/ (and pretrain/<name>/ for shards, checkpoints, curves).")] = "km-bert",
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the training pairs.")] = 1.0,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Stop after this many optimizer steps (overrides --epochs; -1: off).")] = -1,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per optimizer step over all processes (the paper: 32).")] = 32,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Micro-batches accumulated per optimizer step.")] = 1,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate of AdamW (default from --recipe: paper 1e-6, modern 2e-5).")] = None,
    warmup: Annotated[Optional[float], typer.Option("--warmup", help="Linear warmup: steps, or a fraction of all steps when < 1 (default from --recipe: paper 0, modern 0.06).")] = None,
    max_length: Annotated[int, typer.Option("--max-length", help="Tokens per pair, [CLS] A [SEP] B [SEP] (the paper: 128).")] = 128,
    seed: Annotated[int, typer.Option("--seed", help="Seed for pairs, masks, order and initialisation.")] = 42,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in pretrain/<name>/checkpoints.")] = False,
    eval_steps: Annotated[Optional[int], typer.Option("--eval-steps", help="Also evaluate every N steps (always at each epoch end).")] = None,
    save_steps: Annotated[int, typer.Option("--save-steps", help="Write a checkpoint every N steps.")] = 500,
    logging_steps: Annotated[int, typer.Option("--logging-steps", help="Log the training loss every N steps.")] = 10,
    static_masking: Annotated[Optional[bool], typer.Option("--static-masking/--dynamic-masking", help="Fixed masks for every epoch (the paper) or fresh ones each epoch (default from --recipe: paper static, modern dynamic).")] = None,
    precision: Annotated[str, typer.Option("--precision", help="auto (bf16 where supported, fp16 on older GPUs, else fp32), fp32, bf16 or fp16.")] = "auto",
    no_group_by_length: Annotated[bool, typer.Option("--no-group-by-length", help="Do not batch pairs of similar length together.")] = False,
    init: Annotated[Optional[str], typer.Option("--init", help="Embedding init of new tokens of an extended vocab: normal (the paper) or subword-mean (default from --recipe: paper normal, modern subword-mean).")] = None,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Override the model's hidden and attention dropout.")] = None,
    max_eval_pairs: Annotated[Optional[int], typer.Option("--max-eval-pairs", help="Score at most this many validation pairs per evaluation.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Data-loading processes that mask pairs (default: 0 on CPU, up to 4 on a GPU).")] = None,
    compile_model: Annotated[bool, typer.Option("--compile", help="torch.compile the model (GPU; about a minute of compiling first).")] = False,
    compile_mode: Annotated[str, typer.Option("--compile-mode", help="torch.compile mode: default, reduce-overhead (CUDA graphs) or max-autotune; implies --compile.")] = "default",
    profile_steps: Annotated[int, typer.Option("--profile-steps", help="Profile this many training steps with torch.profiler: a trace and the costliest operations in pretrain/<name>/profile/ (0: off).")] = 0,
) -> None:
    """Continue pretraining of a Korean encoder on the corpus: MLM + NSP for a BERT, MLM for other families (builds the pair or segment shards when missing or stale)."""
    import os

    from kmb.training.pretrain import PretrainConfig, run_pretraining

    cfg = PretrainConfig(
        workspace=workspace, output=output, base_model=base_model, config=config, tokenizer=tokenizer, recipe=recipe,
        epochs=epochs, max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr, warmup=warmup,
        max_length=max_length, seed=seed, resume=resume, eval_steps=eval_steps, save_steps=save_steps,
        logging_steps=logging_steps, static_masking=static_masking, precision=precision,
        group_by_length=not no_group_by_length, init=init, dropout=dropout, max_eval_pairs=max_eval_pairs,
        workers=workers, compile=compile_model, compile_mode=compile_mode,
        profile_steps=profile_steps, objective=objective, whole_word_masking=whole_word_masking, report_to=report_to,
    )
    summary = run_pretraining(cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        echo_summary("kmb pretrain", summary)




# ================================================================================================
# kmb evaluate: intrinsic MLM/NSP, extrinsic NER/STS, report
# ================================================================================================
evaluate_app = typer.Typer(help="Evaluate and compare models: MLM, NSP, NER, STS, and the report.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

EvalModelsOpt = Annotated[
    list[str],
    typer.Option(
        "--model",
        "-m",
        help="Model to evaluate (repeat for several): a Hugging Face BERT directory, a name under "
        "<workspace>/models/, or LABEL=PATH to set the name shown in tables.",
    ),
]
EvalSeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (masks, NotNext pairs, folds, dev split, training).")]
EvalDeviceOpt = Annotated[Optional[str], typer.Option("--device", help="torch device (default: cuda when available, else cpu).")]
EvalGridOpt = Annotated[
    str,
    typer.Option("--grid", help="Hyper-parameter grid: 'paper' = lr {2e-5,3e-5,5e-5} x epochs {2,3,4}; 'quick' = one setting (5e-5, 2 epochs); or explicit LR:EPOCHS[,LR:EPOCHS...]."),
]
EvalBatchOpt = Annotated[int, typer.Option("--batch-size", help="Batch size (paper: 32).")]
EvalMaxLenOpt = Annotated[int, typer.Option("--max-length", help="Maximum tokens per input, [CLS] and [SEP] included (paper: 128).")]
EvalDevFractionOpt = Annotated[float, typer.Option("--dev-fraction", help="Share of the training data cut off as the dev split that picks the grid setting.")]
# Options several evaluate commands share: (name, type, default), each group gathered into one config.
FINETUNE_OPTIONS = (
    ("grid", EvalGridOpt, "paper"),
    ("seed", EvalSeedOpt, 42),
    ("batch_size", EvalBatchOpt, 32),
    ("max_length", EvalMaxLenOpt, 128),
    ("dev_fraction", EvalDevFractionOpt, 0.1),
    ("device", EvalDeviceOpt, None),
)
INTRINSIC_OPTIONS = (
    ("seed", EvalSeedOpt, 42),
    ("batch_size", Annotated[int, typer.Option("--batch-size", help="Pairs per forward pass.")], 64),
    ("max_length", EvalMaxLenOpt, 128),
    ("device", EvalDeviceOpt, None),
)


def _with_shared_options(options, config_class: str):
    """Give a command a group of shared options; it receives them as ``config``, one instance of
    ``config_class`` (``module:Class`` under kmb.evaluation, imported only when the command runs)."""
    import functools
    import inspect

    names = [name for name, _, _ in options]

    def decorate(command):
        @functools.wraps(command)
        def wrapper(**given):
            import importlib

            module, cls = config_class.split(":")
            config = getattr(importlib.import_module(f"kmb.evaluation.{module}"), cls)(**{n: given.pop(n) for n in names})
            return command(config=config, **given)

        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "config"]
        shared = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=t, default=d) for n, t, d in options]
        wrapper.__signature__ = inspect.Signature(own + shared)
        wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
        del wrapper.__wrapped__  # typer reads the signature above, not the command's own
        return wrapper

    return decorate


def _eval_out_option(default: str):
    return typer.Option("--out", help=f"Run name: results go to <workspace>/eval/NAME/ (default {default}).")


def _echo(summary) -> None:
    echo_summary(summary.title, summary.rows)


@evaluate_app.command("make-pairs")
def evaluate_make_pairs(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    out: Annotated[Optional[Path], typer.Option("--out", help="PAIRS TSV to write (default <workspace>/eval/pairs.tsv).")] = None,
    split: Annotated[str, typer.Option("--split", help="Corpus split to draw from: valid, train, or all.")] = "valid",
    min_chars: Annotated[int, typer.Option("--min-chars", help="Each sentence needs at least this many characters.")] = 20,
    per_type: Annotated[int, typer.Option("--per-type", help="Pairs per corpus type (paper: 294).")] = 294,
    seed: EvalSeedOpt = 42,
) -> None:
    """Draw consecutive-sentence pairs (type, sentence1, sentence2) from the corpus for mlm/nsp."""
    from kmb.evaluation.commands import make_pairs_command

    _echo(make_pairs_command(workspace, out, split, min_chars, per_type, seed))


@evaluate_app.command("mlm")
@_with_shared_options(INTRINSIC_OPTIONS, "intrinsic:IntrinsicConfig")
def evaluate_mlm(
    model: EvalModelsOpt,
    data: Annotated[Path, typer.Option("--data", help="PAIRS TSV (type, sentence1, sentence2), e.g. from `kmb evaluate make-pairs`.")],
    config,
    repeats: Annotated[int, typer.Option("--repeats", help="Maskings per pair, each with a different seed (paper: 100).")] = 100,
    out: Annotated[str, _eval_out_option("mlm")] = "mlm",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Masked-token accuracy with the pretraining masking rule, repeated; per model and corpus type."""
    from dataclasses import replace

    from kmb.evaluation.commands import mlm_command

    _echo(mlm_command(workspace, model, out, data, replace(config, repeats=repeats), typer.echo))


@evaluate_app.command("nsp")
@_with_shared_options(INTRINSIC_OPTIONS, "intrinsic:IntrinsicConfig")
def evaluate_nsp(
    model: EvalModelsOpt,
    data: Annotated[Path, typer.Option("--data", help="PAIRS TSV (type, sentence1, sentence2): the IsNext pairs; NotNext pairs are drawn from them.")],
    config,
    out: Annotated[str, _eval_out_option("nsp")] = "nsp",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Next-sentence accuracy at threshold 0.5 per label and type (paper Table 2, Fig. 4); n/a without an NSP head."""
    from kmb.evaluation.commands import nsp_command

    _echo(nsp_command(workspace, model, out, data, config, typer.echo))


@evaluate_app.command("ner")
@_with_shared_options(FINETUNE_OPTIONS, "finetune:FinetuneConfig")
def evaluate_ner(
    model: EvalModelsOpt,
    data: Annotated[Path, typer.Option("--data", help="One NER file (folds made by document), or a directory of folds: train1..k / eval1..k, or train_<name>N with eval_/test_/dev_<name>N.")],
    config,
    fmt: Annotated[str, typer.Option("--format", help="kmbert (WORD MASK TAG), klue (character TSV) or conll (WORD TAG).")] = "kmbert",
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds when --data is one file (paper: 5).")] = 5,
    scheme: Annotated[str, typer.Option("--scheme", help="bio: IOB2 on each word's first sub-token, seqeval entity F1 + word-level F1; paper: the KM-BERT authors' merged classes on every sub-token, word-level F1 only.")] = "bio",
    drop_leaks: Annotated[bool, typer.Option("--drop-leaks", help="Remove from each fold's training data the sentences that repeat one of its test sentences.")] = False,
    out: Annotated[str, _eval_out_option("ner")] = "ner",
    predictions_out: Annotated[Optional[Path], typer.Option("--predictions-out", help="Write WORD<TAB>GOLD<TAB>PRED for every test word (FILE.<model>.ext for several models).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Fine-tune token classification with k-fold CV; seqeval entity F1, the paper's word-level macro F1, leaks per fold."""
    from kmb.evaluation.commands import ner_command

    _echo(ner_command(workspace, model, out, data, fmt=fmt, folds=folds, scheme=scheme, drop_leaks=drop_leaks, config=config,
                      predictions_out=predictions_out, progress=typer.echo))


@evaluate_app.command("sts")
@_with_shared_options(FINETUNE_OPTIONS, "finetune:FinetuneConfig")
def evaluate_sts(
    model: EvalModelsOpt,
    train: Annotated[Path, typer.Option("--train", help="Training pairs file (a dev split is cut from it).")],
    test: Annotated[Path, typer.Option("--test", help="Test pairs file (only predicted, never used to choose).")],
    config,
    fmt: Annotated[str, typer.Option("--format", help="korsts (TSV), medsts (KM-BERT's cp949 CSV) or klue (KLUE-STS JSON).")] = "korsts",
    six_class: Annotated[bool, typer.Option("--six-class/--no-six-class", help="Also run KM-BERT's 6-class variant on scores rounded half up.")] = True,
    out: Annotated[str, _eval_out_option("sts")] = "sts",
    predictions_out: Annotated[Optional[Path], typer.Option("--predictions-out", help="Write GOLD<TAB>PRED<TAB>SENTENCE1<TAB>SENTENCE2 per test pair (regression head).")] = None,
    max_train: Annotated[Optional[int], typer.Option("--max-train", help="Use only the first N training pairs (quick runs).")] = None,
    max_test: Annotated[Optional[int], typer.Option("--max-test", help="Use only the first N test pairs (quick runs).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Fine-tune a regression head (MSE) on sentence pairs; Pearson and Spearman on the test set."""
    from kmb.evaluation.commands import sts_command

    _echo(sts_command(workspace, model, out, train, test, fmt=fmt, six_class=six_class, config=config, predictions_out=predictions_out,
                      max_train=max_train, max_test=max_test, progress=typer.echo))


@evaluate_app.command("report")
def evaluate_report(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Gather every result under <workspace>/eval/ into eval/report.md (paper's tables) and print it."""
    from kmb.evaluation.commands import report_command

    text, path = report_command(workspace)
    typer.echo(text)
    typer.echo(f"report written to {path}")


# ================================================================================================
# kmb quickstart / kmb workspace
# ================================================================================================


@app.command("quickstart")
def quickstart_command(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    epochs: Annotated[float, typer.Option("--epochs", help="Pretraining epochs over the sample's pairs (a tiny model needs many).")] = 40.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every stage.")] = 42,
) -> None:
    """Run every stage on the bundled sample, offline: crawl, corpus, vocab, pretrain, evaluate, report."""
    from kmb.quickstart import run_quickstart

    summary = run_quickstart(workspace, pretrain_epochs=epochs, seed=seed, echo=typer.echo)
    report = Path(summary["report"])
    typer.echo("\n" + report.read_text(encoding="utf-8") if report.is_file() else "")
    echo_summary("kmb quickstart: done", summary)


@app.command("views")
def views_command(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """(Re)create the DuckDB views in <workspace>/kmb.duckdb over the Parquet that exists now."""
    from kmb.workspace import Workspace

    ws = Workspace.open(workspace)
    made = ws.refresh_views()
    echo_summary(f"views in {ws.duckdb_path}", {name: "ok" for name in made} or {"(none)": "no tables yet"})


def main() -> None:
    try:
        app()
    except KmbError as exc:
        typer.echo(f"kmb: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
