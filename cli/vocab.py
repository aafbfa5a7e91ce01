"""`kmb vocab`: build the extended medical vocab, inspect tokenization, extend a model's embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary, group
from kmb.vocab.build import BuildConfig

app = group("Build the extended medical vocab, inspect tokenization, extend a model's embeddings.")
BUILD = BuildConfig  # the defaults, written once


# The options of `build`, one alias each (so the signature reads as a table).
BaseVocabOpt = Annotated[
    Path,
    typer.Option(
        "--base-vocab",
        help="The base vocab: a vocab.txt or a local model directory holding one (e.g. KR-BERT's), or a directory with a BPE/Unigram tokenizer.json (terms become added tokens).",
    ),
]
MinCountOpt = Annotated[
    int, typer.Option("--min-count", help="Drop terms seen fewer times than this in the train split (paper: 3).")
]
ExtraOpt = Annotated[
    Path | None,
    typer.Option("--extra", help="Extra term list added after the top-N cut, one term per line (paper: 1,629 words)."),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Output tokenizer directory (default <workspace>/vocab/medical).")
]
ContinuationOpt = Annotated[
    bool,
    typer.Option("--continuation", help="Also add ##term forms so terms inside compounds match (not in the paper)."),
]
PadToMultipleOpt = Annotated[
    int,
    typer.Option(
        "--pad-to-multiple",
        help="Pad the vocab with [unusedN] to a multiple of this, e.g. 64 (0 = off, the paper's way).",
    ),
]
BidirectionalOpt = Annotated[
    bool,
    typer.Option(
        "--bidirectional",
        help="Record KR-BERT's bidirectional WordPiece as this tokenizer's splitting (default forward).",
    ),
]
CoverageSentencesOpt = Annotated[
    int, typer.Option("--coverage-sentences", help="Validation sentences read for the coverage report (0 = skip).")
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace --out even if it holds another kind of kmb output (a folder kmb did not write is never replaced).",
    ),
]


@app.command("build")
def build(
    base_vocab: BaseVocabOpt,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    min_count: MinCountOpt = BUILD.min_count,
    top: Annotated[int, typer.Option("--top", help="Keep this many most frequent terms (paper: 10,000).")] = BUILD.top,
    extra: ExtraOpt = BUILD.extra,
    out: OutOpt = None,
    continuation: ContinuationOpt = BUILD.continuation,
    pad_to_multiple: PadToMultipleOpt = BUILD.pad_to_multiple,
    bidirectional: BidirectionalOpt = BUILD.bidirectional,
    coverage_sentences: CoverageSentencesOpt = BUILD.coverage_sentences,
    force: ForceOpt = False,
) -> None:
    """Build the extended medical vocab (the paper's procedure, each step counted) and print the report."""
    from kmb.vocab.build import build_vocab
    from kmb.workspace import Workspace

    config = BuildConfig(
        min_count=min_count,
        top=top,
        extra=extra,
        continuation=continuation,
        pad_to_multiple=pad_to_multiple,
        bidirectional=bidirectional,
        coverage_sentences=coverage_sentences,
    )
    report = build_vocab(Workspace.open(workspace), base_vocab, out, config, force=force)
    kind = "" if "wordpiece" in report else f" ({report['tokenizer']})"  # terms added as whole tokens
    echo_summary(f"vocab build{kind} -> {report['out']}", report["steps"])
    if report["rejected"]:
        shown = ", ".join(f"{r['term']} ({r['reason']})" for r in report["rejected"][:10])
        more = len(report["rejected"]) - 10
        why = "WordPiece cannot produce them" if "wordpiece" in report else "white space inside a token"
        typer.echo(f"rejected ({why}): {shown}" + (f", ... {more} more in build_report.json" if more > 0 else ""))
    coverage = report["coverage"]
    rows = {f"{k} ({side})": v for side in ("before", "after") for k, v in coverage[side].items()}
    echo_summary(
        f"coverage ({coverage['terms measured']} counted terms, {coverage['sentences measured']} "
        f"{coverage['sentences split']} sentences)",
        rows,
    )


@app.command("tokenize")
def tokenize(
    texts: Annotated[
        list[str], typer.Argument(help="Texts to tokenize; one output line each, tokens separated by single spaces.")
    ],
    vocab: Annotated[Path, typer.Option("--vocab", help="Tokenizer directory (vocab.txt and/or tokenizer.json).")],
    bidirectional: Annotated[
        bool | None,
        typer.Option(
            "--bidirectional/--forward",
            help="KR-BERT's bidirectional or plain forward WordPiece (default: what the directory records).",
        ),
    ] = None,
) -> None:
    """Show how a tokenizer splits each TEXT."""
    from kmb.vocab.tokenizers import tokenize_texts

    for line in tokenize_texts(vocab, texts, bidirectional=bidirectional):
        typer.echo(line)


@app.command("extend-model")
def extend_model(
    model: Annotated[
        Path,
        typer.Option(
            "--model", help="Base model directory (Hugging Face format, any masked-LM family, with its tokenizer)."
        ),
    ],
    vocab: Annotated[Path, typer.Option("--vocab", help="Extended tokenizer directory from `kmb vocab build`.")],
    out: Annotated[Path, typer.Option("--out", help="Output model directory (safetensors + the new tokenizer).")],
    init: Annotated[
        str,
        typer.Option(
            "--init",
            help="New embeddings: normal (N(0, initializer_range), the paper's way; the default) or subword-mean (mean of the base pieces; recommended).",
        ),
    ] = "normal",
    seed: Annotated[int, typer.Option("--seed", help="Random seed for --init normal (0 or more).")] = 0,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace --out even if it holds another kind of kmb output (a folder kmb did not write is never replaced).",
        ),
    ] = False,
) -> None:
    """Resize a masked LM's token embeddings (and tied MLM decoder and output bias) to an extended vocab."""
    from kmb.vocab.extend import extend_model as extend

    echo_summary("extended model", extend(model, vocab, out, init=init, seed=seed, force=force))
