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
# kmb crawl: collect documents (issue: foundation + NAVER; KCI in the sources issue)
# ================================================================================================
crawl_app = typer.Typer(help="Collect documents: NAVER health news, KCI journal articles; parse saved pages.", no_args_is_help=True)
app.add_typer(crawl_app, name="crawl")
crawl_parse_app = typer.Typer(help="Parse saved pages offline, printing one JSON object per page.", no_args_is_help=True)
crawl_app.add_typer(crawl_parse_app, name="parse")

# --- crawl: naver-health, parse naver (begin) ---
# --- crawl: naver-health, parse naver (end) ---

# --- crawl: kci (begin) ---
# --- crawl: kci (end) ---


# ================================================================================================
# kmb corpus: local files in, clean sentence corpus out
# ================================================================================================
corpus_app = typer.Typer(help="Add local files; build, inspect and export the sentence corpus.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

# --- corpus: add (begin) ---
# --- corpus: add (end) ---

# --- corpus: build, stats, export (begin) ---
# --- corpus: build, stats, export (end) ---


# ================================================================================================
# kmb terms: medical term lists
# ================================================================================================
terms_app = typer.Typer(help="Import medical term lists, count them in the corpus, list them.", no_args_is_help=True)
app.add_typer(terms_app, name="terms")

# --- terms: import, list (begin) ---
# --- terms: import, list (end) ---

# --- terms: count (begin) ---
# --- terms: count (end) ---


# ================================================================================================
# kmb vocab: extended vocabulary, tokenizers, embedding extension
# ================================================================================================
vocab_app = typer.Typer(help="Build the extended medical vocab, inspect tokenization, extend a model's embeddings.", no_args_is_help=True)
app.add_typer(vocab_app, name="vocab")

# --- vocab: build, tokenize, extend-model (begin) ---
# --- vocab: build, tokenize, extend-model (end) ---


# ================================================================================================
# kmb pretrain: continued MLM + NSP pretraining
# ================================================================================================
# --- pretrain (begin) ---
# --- pretrain (end) ---


# ================================================================================================
# kmb evaluate: intrinsic MLM/NSP, extrinsic NER/STS, report
# ================================================================================================
evaluate_app = typer.Typer(help="Evaluate and compare models: MLM, NSP, NER, STS, and the report.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

# --- evaluate (begin) ---
# --- evaluate (end) ---


# ================================================================================================
# kmb quickstart / kmb workspace
# ================================================================================================
# --- quickstart (begin) ---
# --- quickstart (end) ---


@app.command("views")
def views_command(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """(Re)create the DuckDB views in <workspace>/kmb.duckdb over the Parquet that exists now."""
    from kmb.corpus.workspace import Workspace

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
