"""`kmb quickstart` (every stage on the bundled sample) and `kmb views` (the DuckDB views)."""

from __future__ import annotations

from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary
from kmb.quickstart import DEFAULT_EPOCHS, DEFAULT_SEED


def quickstart(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    epochs: Annotated[
        float, typer.Option("--epochs", help="Pretraining epochs over the sample's pairs (a tiny model needs many).")
    ] = DEFAULT_EPOCHS,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every stage.")] = DEFAULT_SEED,
) -> None:
    """Run every stage on the bundled sample, offline: crawl, corpus, vocab, pretrain, evaluate, report."""
    from kmb.quickstart import run_quickstart

    summary = run_quickstart(workspace, pretrain_epochs=epochs, seed=seed, echo=typer.echo)
    typer.echo("\n" + summary.pop("report text"))
    echo_summary("kmb quickstart: done", summary)


def views(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """(Re)create the DuckDB views in <workspace>/kmb.duckdb over the Parquet that exists now."""
    from kmb.workspace import Workspace

    ws = Workspace.open(workspace)
    made = ws.refresh_views()
    echo_summary(f"views in {ws.duckdb_path}", {name: "ok" for name in made} or {"(none)": "no tables yet"})
