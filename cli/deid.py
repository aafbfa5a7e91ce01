"""`kmb deid`: remove identifiers from clinical notes, measure how well, make labelled samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmb.cli.common import echo_error_line, echo_summary, group
from kmb.deid.files import RunOptions

app = group("De-identify clinical notes (names, resident numbers, phones, addresses, ids) and measure it.")
RUN = RunOptions  # the defaults, written once

TextFieldOpt = Annotated[
    str, typer.Option("--text-field", help="Field (JSON lines, Parquet) or column (CSV) holding the text.")
]
TypesOpt = Annotated[
    str | None,
    typer.Option(
        "--types", help="Comma-separated identifier types to remove (default: all but DATE; see docs/deid.md)."
    ),
]
AllDatesOpt = Annotated[
    bool,
    typer.Option(
        "--all-dates",
        help="Also remove dates other than birth dates (kept by default: visit dates carry clinical meaning).",
    ),
]
SurrogatesOpt = Annotated[
    bool,
    typer.Option(
        "--surrogates",
        help="Replace with realistic made-up values (the same within a row) instead of [TYPE] placeholders.",
    ),
]
NotNamesOpt = Annotated[
    Path | None,
    typer.Option("--not-names", help="A word list (one per line), e.g. medical terms, never taken for names."),
]


def _types(value: str | None) -> tuple[str, ...] | None:
    return tuple(t.strip().upper() for t in value.split(",") if t.strip()) if value else None


@app.command("run")
def run(
    source: Annotated[Path, typer.Argument(help="Notes as .jsonl, .csv or .parquet, one note per row.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="The de-identified copy (.jsonl, .csv or .parquet): the same rows, in order, plus a 'phi' field of offsets and types.",
        ),
    ],
    text_field: TextFieldOpt = RUN.text_field,
    workers: Annotated[int, typer.Option(help="Worker processes; 0 = all cores.")] = RUN.workers,
    types: TypesOpt = None,
    all_dates: AllDatesOpt = RUN.all_dates,
    surrogates: SurrogatesOpt = RUN.surrogates,
    not_names: NotNamesOpt = None,
) -> None:
    """Replace every identifier in each row's text; write the rows to --out atomically."""
    from kmb.deid.files import deidentify_file

    options = RunOptions(
        text_field=text_field,
        workers=workers,
        types=_types(types),
        all_dates=all_dates,
        surrogates=surrogates,
        not_names=not_names,
    )
    summary = deidentify_file(source, out, options, progress=echo_error_line)
    echo_summary("deid run", summary.rows_for_display())


@app.command("eval")
def evaluate(
    gold: Annotated[
        Path,
        typer.Argument(
            help="Annotated notes as .jsonl: 'text' and 'phi' [{start, end, type}] (optional 'keep' [{start, end}] look-alikes)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Where to write the full report as JSON (default: <gold>.deid-eval.json beside it)."
        ),
    ] = None,
    text_field: TextFieldOpt = RUN.text_field,
    types: TypesOpt = None,
    all_dates: AllDatesOpt = RUN.all_dates,
    not_names: NotNamesOpt = None,
    samples: Annotated[
        int, typer.Option(help="Misses and false alarms to list (offsets, types and masked context only).")
    ] = 20,
    show_false_alarm_text: Annotated[
        bool,
        typer.Option(
            "--show-false-alarm-text",
            help="Also show what each false alarm flagged (off by default: it may be an identifier the annotator missed).",
        ),
    ] = False,
) -> None:
    """Precision, recall and F1 per type, leaked identifiers and kept look-alikes on annotated notes."""
    from kmb.deid.scoring import score_file

    options = RunOptions(text_field=text_field, types=_types(types), all_dates=all_dates, not_names=not_names)
    report = score_file(
        gold, options, samples, out or gold.with_name(gold.stem + ".deid-eval.json"), show_false_alarm_text
    )
    rows = {
        kind: f"P {_pct(v['precision'])}  R {_pct(v['recall'])}  F1 {_pct(v['f1'])}  "
        f"gold {v['gold']:,}  leaked {v['leaked']:,}"
        for kind, v in report["per_type"].items()
    }
    overall = report["overall"]
    rows["overall"] = (
        f"P {_pct(overall['precision'])}  R {_pct(overall['recall'])}  F1 {_pct(overall['f1'])}  leaked {overall['leaked']:,}"
    )
    if report["look_alikes"]["total"]:
        rows["look-alikes kept"] = f"{report['look_alikes']['kept']:,} of {report['look_alikes']['total']:,}"
    for miss in report["misses"]:
        echo_error_line(f"  miss  row {miss['row']}: {miss['type']}: {miss['context']}")
    for alarm in report["false_alarms"]:
        shown = f" {alarm['text']!r}" if "text" in alarm else ""
        echo_error_line(f"  false alarm  row {alarm['row']}: {alarm['type']}{shown}: {alarm['context']}")
    rows["report"] = report["out"]
    echo_summary(f"deid eval ({report['rows']:,} rows)", rows)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


@app.command("sample")
def sample(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the labelled notes (.jsonl).")],
    notes: Annotated[int, typer.Option("--notes", "-n", help="How many notes.")] = 500,
    seed: Annotated[int, typer.Option(help="The same seed gives the same notes.")] = 0,
) -> None:
    """Write made-up, labelled clinical-style notes (every identifier generated) to try deid eval on."""
    from kmb.deid.synthetic_notes import write_notes

    echo_summary("deid sample", write_notes(out, notes, seed))
