"""What every command group shares: the workspace option and the end-of-command summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


def echo_summary(title: str, rows: dict) -> None:
    """Print an end-of-command summary as aligned `key  value` lines."""
    typer.echo(title)
    width = max((len(str(k)) for k in rows), default=0)
    for key, value in rows.items():
        typer.echo(f"  {str(key).ljust(width)}  {value}")


def echo_error_line(line: str) -> None:
    typer.echo(line, err=True)


def group(help_text: str) -> typer.Typer:
    """A command group (`kmb corpus ...`): no arguments shows its help."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)
