"""`kmb evaluate`: intrinsic MLM/NSP, extrinsic NER/STS/classification, and the comparison report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary, group
from kmb.evaluation.options import (
    PAIRS_MIN_CHARS,
    PAIRS_PER_TYPE,
    ClassifyTask,
    FinetuneConfig,
    IntrinsicConfig,
    NerTask,
    StsTask,
)

app = group("Evaluate and compare models: MLM, NSP, NER, STS, classification, and the report.")
FINETUNE, INTRINSIC = FinetuneConfig, IntrinsicConfig  # the defaults, written once
NER, STS, CLASSIFY = NerTask, StsTask, ClassifyTask

Models = Annotated[
    list[str],
    typer.Option(
        "--model",
        "-m",
        help="Model to evaluate (repeat for several): a Hugging Face model directory, a name under "
        "<workspace>/models/, or LABEL=PATH to set the name shown in tables.",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (masks, NotNext pairs, folds, dev split, training).")]
Device = Annotated[str | None, typer.Option("--device", help="torch device (default: cuda when available, else cpu).")]
Grid = Annotated[
    str,
    typer.Option(
        "--grid",
        help="Hyper-parameter grid: 'paper' = lr {2e-5,3e-5,5e-5} x epochs {2,3,4}; 'quick' = one setting (5e-5, 2 epochs); or explicit LR:EPOCHS[,LR:EPOCHS...].",
    ),
]
FinetuneBatch = Annotated[int, typer.Option("--batch-size", help="Batch size (paper: 32).")]
IntrinsicBatch = Annotated[int, typer.Option("--batch-size", help="Pairs per forward pass.")]
MaxLength = Annotated[
    int, typer.Option("--max-length", help="Maximum tokens per input, [CLS] and [SEP] included (paper: 128).")
]
DevFraction = Annotated[
    float,
    typer.Option(
        "--dev-fraction", help="Share of the training data cut off as the dev split that picks the grid setting."
    ),
]


def finetune_config(grid, seed, batch_size, max_length, dev_fraction, device) -> FinetuneConfig:
    """The shared fine-tuning options of ner, sts and classify."""
    return FinetuneConfig(
        grid=grid, seed=seed, batch_size=batch_size, max_length=max_length, dev_fraction=dev_fraction, device=device
    )


def run_name(default: str):
    return typer.Option("--out", help=f"Run name: results go to <workspace>/eval/NAME/ (default {default}).")


@app.command("make-pairs")
def make_pairs(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    out: Annotated[
        Path | None, typer.Option("--out", help="PAIRS TSV to write (default <workspace>/eval/pairs.tsv).")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Corpus split to draw from: valid, train, or all.")] = "valid",
    min_chars: Annotated[
        int, typer.Option("--min-chars", help="Each sentence needs at least this many characters.")
    ] = PAIRS_MIN_CHARS,
    per_type: Annotated[int, typer.Option("--per-type", help="Pairs per corpus type (paper: 294).")] = PAIRS_PER_TYPE,
    seed: Seed = INTRINSIC.seed,
) -> None:
    """Draw consecutive-sentence pairs (type, sentence1, sentence2) from the corpus for mlm/nsp."""
    from kmb.evaluation.commands import make_pairs_command

    summary = make_pairs_command(workspace, out, split, min_chars, per_type, seed)
    echo_summary(summary.title, summary.rows)


@app.command("mlm")
def mlm(
    model: Models,
    data: Annotated[
        Path,
        typer.Option("--data", help="PAIRS TSV (type, sentence1, sentence2), e.g. from `kmb evaluate make-pairs`."),
    ],
    repeats: Annotated[
        int, typer.Option("--repeats", help="Maskings per pair, each with a different seed (paper: 100).")
    ] = INTRINSIC.repeats,
    out: Annotated[str, run_name("mlm")] = "mlm",
    seed: Seed = INTRINSIC.seed,
    batch_size: IntrinsicBatch = INTRINSIC.batch_size,
    max_length: MaxLength = INTRINSIC.max_length,
    device: Device = INTRINSIC.device,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Masked-token accuracy with the pretraining masking rule, repeated; per model and corpus type."""
    from kmb.evaluation.commands import intrinsic_command

    config = IntrinsicConfig(repeats=repeats, batch_size=batch_size, max_length=max_length, seed=seed, device=device)
    summary = intrinsic_command("mlm", workspace, model, out, data, config, typer.echo)
    echo_summary(summary.title, summary.rows)


@app.command("nsp")
def nsp(
    model: Models,
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="PAIRS TSV (type, sentence1, sentence2): the IsNext pairs; NotNext pairs are drawn from them.",
        ),
    ],
    out: Annotated[str, run_name("nsp")] = "nsp",
    seed: Seed = INTRINSIC.seed,
    batch_size: IntrinsicBatch = INTRINSIC.batch_size,
    max_length: MaxLength = INTRINSIC.max_length,
    device: Device = INTRINSIC.device,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Next-sentence accuracy at threshold 0.5 per label and type (paper Table 2, Fig. 4); n/a without an NSP head."""
    from kmb.evaluation.commands import intrinsic_command

    config = IntrinsicConfig(batch_size=batch_size, max_length=max_length, seed=seed, device=device)
    summary = intrinsic_command("nsp", workspace, model, out, data, config, typer.echo)
    echo_summary(summary.title, summary.rows)


@app.command("ner")
def ner(
    model: Models,
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="One NER file (folds made by document), or a directory of folds: train1..k / eval1..k, or train_<name>N with eval_/test_/dev_<name>N.",
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="kmbert (WORD MASK TAG), klue (character TSV) or conll (WORD TAG).")
    ] = NER.fmt,
    folds: Annotated[
        int, typer.Option("--folds", help="Cross-validation folds when --data is one file (paper: 5).")
    ] = NER.folds,
    scheme: Annotated[
        str,
        typer.Option(
            "--scheme",
            help="bio: IOB2 on each word's first sub-token, seqeval entity F1 + word-level F1; paper: the KM-BERT authors' merged classes on every sub-token, word-level F1 only.",
        ),
    ] = NER.scheme,
    drop_leaks: Annotated[
        bool,
        typer.Option(
            "--drop-leaks",
            help="Remove from each fold's training data the sentences that repeat one of its test sentences.",
        ),
    ] = NER.drop_leaks,
    out: Annotated[str, run_name("ner")] = "ner",
    predictions_out: Annotated[
        Path | None,
        typer.Option(
            "--predictions-out",
            help="Write WORD<TAB>GOLD<TAB>PRED for every test word (FILE.<model>.ext for several models).",
        ),
    ] = None,
    grid: Grid = FINETUNE.grid,
    seed: Seed = FINETUNE.seed,
    batch_size: FinetuneBatch = FINETUNE.batch_size,
    max_length: MaxLength = FINETUNE.max_length,
    dev_fraction: DevFraction = FINETUNE.dev_fraction,
    device: Device = FINETUNE.device,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Fine-tune token classification with k-fold CV; seqeval entity F1, the paper's word-level macro F1, leaks per fold."""
    from kmb.evaluation.commands import ner_command

    task = NerTask(fmt=fmt, folds=folds, scheme=scheme, drop_leaks=drop_leaks, predictions_out=predictions_out)
    config = finetune_config(grid, seed, batch_size, max_length, dev_fraction, device)
    summary = ner_command(workspace, model, out, data, task, config, typer.echo)
    echo_summary(summary.title, summary.rows)


@app.command("sts")
def sts(
    model: Models,
    train: Annotated[Path, typer.Option("--train", help="Training pairs file (a dev split is cut from it).")],
    test: Annotated[Path, typer.Option("--test", help="Test pairs file (only predicted, never used to choose).")],
    fmt: Annotated[
        str, typer.Option("--format", help="korsts (TSV), medsts (KM-BERT's cp949 CSV) or klue (KLUE-STS JSON).")
    ] = STS.fmt,
    six_class: Annotated[
        bool,
        typer.Option(
            "--six-class/--no-six-class", help="Also run KM-BERT's 6-class variant on scores rounded half up."
        ),
    ] = True,
    out: Annotated[str, run_name("sts")] = "sts",
    predictions_out: Annotated[
        Path | None,
        typer.Option(
            "--predictions-out", help="Write GOLD<TAB>PRED<TAB>SENTENCE1<TAB>SENTENCE2 per test pair (regression head)."
        ),
    ] = None,
    max_train: Annotated[
        int | None, typer.Option("--max-train", help="Use only the first N training pairs (quick runs).")
    ] = None,
    max_test: Annotated[
        int | None, typer.Option("--max-test", help="Use only the first N test pairs (quick runs).")
    ] = None,
    grid: Grid = FINETUNE.grid,
    seed: Seed = FINETUNE.seed,
    batch_size: FinetuneBatch = FINETUNE.batch_size,
    max_length: MaxLength = FINETUNE.max_length,
    dev_fraction: DevFraction = FINETUNE.dev_fraction,
    device: Device = FINETUNE.device,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Fine-tune a regression head (MSE) on sentence pairs; Pearson and Spearman on the test set."""
    from kmb.evaluation.commands import sts_command

    heads = StsTask.heads_for(six_class)
    task = StsTask(fmt=fmt, heads=heads, predictions_out=predictions_out, max_train=max_train, max_test=max_test)
    config = finetune_config(grid, seed, batch_size, max_length, dev_fraction, device)
    summary = sts_command(workspace, model, out, train, test, task, config, typer.echo)
    echo_summary(summary.title, summary.rows)


@app.command("classify")
def classify(
    model: Models,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="One labelled file (stratified --folds folds), or a directory of folds named as for ner (train1/eval1, train_<name>N with eval_/test_/dev_<name>N).",
        ),
    ] = None,
    train: Annotated[
        Path | None,
        typer.Option(
            "--train",
            help="Training file of a given split (a dev split is cut from it); with --test, instead of --data.",
        ),
    ] = None,
    test: Annotated[
        Path | None,
        typer.Option("--test", help="Test file of a given split (only predicted); every label must occur in --train."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (by suffix: .tsv/.txt, .csv, .jsonl, .json = klue-nli), tsv or csv (header text[, text_pair], label), jsonl (keys text[, text_pair], label), klue-nli (KLUE-NLI JSON: premise, hypothesis, gold_label).",
        ),
    ] = CLASSIFY.fmt,
    folds: Annotated[
        int, typer.Option("--folds", help="Cross-validation folds when --data is one file.")
    ] = CLASSIFY.folds,
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds",
            help="Training runs per fold, with seeds --seed, --seed + 1, ...; scores are mean ± std over folds x seeds.",
        ),
    ] = CLASSIFY.seeds,
    out: Annotated[str, run_name("classify")] = "classify",
    predictions_out: Annotated[
        Path | None,
        typer.Option(
            "--predictions-out",
            help="Write a TSV with a header, fold seed gold pred text [text_pair], per test example and run (FILE.<model>.ext for several models).",
        ),
    ] = None,
    grid: Grid = FINETUNE.grid,
    seed: Seed = FINETUNE.seed,
    batch_size: FinetuneBatch = FINETUNE.batch_size,
    max_length: MaxLength = FINETUNE.max_length,
    dev_fraction: DevFraction = FINETUNE.dev_fraction,
    device: Device = FINETUNE.device,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Fine-tune a sequence-classification head on single texts or text pairs; accuracy and macro F1, mean ± std."""
    from kmb.evaluation.commands import classify_command

    task = ClassifyTask(data, train, test, fmt, folds, seeds, predictions_out)
    config = finetune_config(grid, seed, batch_size, max_length, dev_fraction, device)
    summary = classify_command(workspace, model, out, task, config, typer.echo)
    echo_summary(summary.title, summary.rows)


@app.command("report")
def report(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Gather every result under <workspace>/eval/ into eval/report.md (paper's tables) and print it."""
    from kmb.evaluation.commands import report_command

    text, path = report_command(workspace)
    typer.echo(text)
    typer.echo(f"report written to {path}")
