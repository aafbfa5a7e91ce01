"""The `kmb` command line, laid out as Typer's docs lay out a bigger app: one module per command
group, each a Typer sub-app, put together here.

    cli/crawl.py      kmb crawl naver-health | kci | replay-server | parse naver
    cli/deid.py       kmb deid run | eval | sample
    cli/corpus.py     kmb corpus add | build | stats | export | overlap
    cli/terms.py      kmb terms import | list | count
    cli/vocab.py      kmb vocab build | tokenize | extend-model
    cli/pretrain.py   kmb pretrain
    cli/evaluate.py   kmb evaluate make-pairs | mlm | nsp | ner | sts | report
    cli/workspace.py  kmb quickstart | views
    cli/common.py     the --workspace option and the end-of-command summary

A command parses its options into the stage's options dataclass (whose defaults the option
defaults are: written once, in the dataclass), calls one library function and prints the summary
it returns. Errors a user can cause arrive as :class:`kmb.errors.KmbError` and are printed by
:func:`main` as one line with exit code 1, as are faults of the disk or the workspace (a full
disk, a read-only folder, a damaged file: :mod:`kmb.faults`); anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kmb import __version__
from kmb.cli import corpus, crawl, deid, evaluate, pretrain, terms, vocab, workspace
from kmb.errors import KmbError

app = typer.Typer(
    name="kmb",
    help="Build and measure a Korean medical BERT: crawl -> corpus -> vocab -> pretrain -> evaluate.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    add_completion=False,
)
app.add_typer(crawl.app, name="crawl")
app.add_typer(deid.app, name="deid")
app.add_typer(corpus.app, name="corpus")
app.add_typer(terms.app, name="terms")
app.add_typer(vocab.app, name="vocab")
app.command("pretrain")(pretrain.pretrain)
app.add_typer(evaluate.app, name="evaluate")
app.command("quickstart")(workspace.quickstart)
app.command("views")(workspace.views)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kmb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Build and measure a Korean medical BERT: crawl -> corpus -> vocab -> pretrain -> evaluate."""


def main() -> None:
    try:
        app()
    except KmbError as exc:
        typer.echo(f"kmb: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a fault of the disk or the workspace is one line; a bug is re-raised
        from kmb.faults import as_kmb_error

        error = as_kmb_error(exc)
        if error is None:
            raise
        typer.echo(f"kmb: error: {error}", err=True)
        sys.exit(1)
