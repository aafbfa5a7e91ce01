"""`kmb terms`: import medical term lists, count them in the corpus, list them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary, group
from kmb.vocab.term_counts import CountConfig

app = group("Import medical term lists, count them in the corpus, list them.")
COUNT = CountConfig  # the defaults, written once


@app.command("import")
def import_list(
    file: Annotated[Path, typer.Argument(help="Term list: .csv, .tsv, .xlsx, or .txt with one term per line.")],
    source: Annotated[
        str, typer.Option("--source", "-s", help="Which list this is: kamje, mfds, kcd or custom.")
    ] = "custom",
    column: Annotated[
        str | None, typer.Option("--column", "-c", help="Header of the term column (default per source; KCD: ko).")
    ] = None,
    english_column: Annotated[
        str | None,
        typer.Option("--english-column", help="Header of the English name column (default per source; KCD: en)."),
    ] = None,
    category_column: Annotated[
        str | None,
        typer.Option("--category-column", help="Header of a category/code column (default per source; KCD: kcd)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split", help="Characters that separate synonyms in one cell (default ';|,', KCD none; '' for none)."
        ),
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Import a medical term list into the one merged terms table (terms/terms.parquet)."""
    from kmb.vocab.term_lists import import_terms
    from kmb.workspace import Workspace

    s = import_terms(Workspace.open(workspace), file, source, column, english_column, category_column, split)
    rows = {
        "file": s.file,
        "column": s.column,
        "rows read": s.rows,
        "terms kept": s.kept,
        "new in table": s.new_terms,
        "already in another source": s.also_in_other_sources,
    }
    rows.update({f"dropped ({rule})": n for rule, n in sorted(s.dropped.items())})
    rows.update(
        {
            "table terms": s.table_terms,
            **{f"  from {k}": v for k, v in s.per_source.items()},
            "  in several sources": s.overlapping,
        }
    )
    echo_summary(f"terms import ({s.source})", rows)


@app.command("list")
def list_terms(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only terms from this source list.")] = None,
    contains: Annotated[str | None, typer.Option("--contains", help="Only terms containing this text.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many terms to print (0 or more).")] = 20,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Print terms from the merged table and how many each source gave (also the DuckDB view `terms`)."""
    from kmb.vocab.term_lists import list_terms as list_table
    from kmb.workspace import Workspace

    rows, counts = list_table(Workspace.open(workspace), source, contains, limit)
    for row in rows:
        extra = "; ".join(x for x in (row["english"], row["gloss"] and f"({row['gloss']})") if x)
        typer.echo(f"{row['term']}\t{','.join(row['sources'])}\t{extra}")
    echo_summary("terms table", counts)


@app.command("count")
def count(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    anywhere: Annotated[
        bool,
        typer.Option(
            "--anywhere",
            help="Count every substring occurrence, not only matches that start a word (overcounts short terms).",
        ),
    ] = COUNT.anywhere,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes; 0 = all cores, 1 = no extra process.")
    ] = COUNT.workers,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", help="Sentences per batch handed to a worker (at least 1).")
    ] = COUNT.batch_rows,
) -> None:
    """Count every term of the terms table in the train split (occurrences and documents) -> terms/term_freq.parquet."""
    from kmb.vocab.term_counts import count_workspace_terms
    from kmb.workspace import Workspace

    shown = []

    def progress(sentences: int) -> None:
        sys.stderr.write(f"\r  {sentences:,} sentences counted")
        sys.stderr.flush()
        shown[:] = [True]

    config = CountConfig(anywhere=anywhere, workers=workers, batch_rows=batch_rows)
    try:
        summary = count_workspace_terms(Workspace.open(workspace), config, progress=progress)
    finally:  # end the progress line, so an error that follows starts a line of its own
        if shown:
            sys.stderr.write("\n")
    echo_summary("term counts", summary)
