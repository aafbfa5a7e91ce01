"""`kmb pretrain`: continued MLM + NSP (BERT) or MLM (other families) pretraining of a Korean encoder."""

from __future__ import annotations

from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary
from kmb.training.config import PretrainConfig

PRETRAIN = PretrainConfig  # the defaults, written once


# The options of `pretrain`, one alias each (so the signature reads as a table).
BaseModelOpt = Annotated[
    str | None,
    typer.Option(
        "--base-model",
        help="Start model: a local directory or a hub id that AutoModelForMaskedLM loads, BERT, RoBERTa, XLM-R, ModernBERT, ... (default: KR-BERT, snunlp/KR-BERT-char16424).",
    ),
]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Train from scratch with this size instead: tiny, small or base.")
]
TokenizerOpt = Annotated[
    str | None,
    typer.Option(
        "--tokenizer",
        help="Tokenizer directory, or 'workspace' for the workspace's newest vocab/<name>/ (default: the base model's own; with --config, the workspace's vocab).",
    ),
]
RecipeOpt = Annotated[
    str,
    typer.Option(
        "--recipe",
        help="Values of the options not given: paper (lr 1e-6, no warmup, static masking, normal init of new embeddings) or modern (lr 2e-5, 6% warmup, dynamic masking, subword-mean init). An option you give wins.",
    ),
]
ObjectiveOpt = Annotated[
    str,
    typer.Option(
        "--objective",
        help="auto (MLM + NSP when the base has an NSP head, as BERT's BertForPreTraining, or no head at all; MLM alone otherwise), mlm or mlm+nsp (BERT only).",
    ),
]
WholeWordMaskingOpt = Annotated[
    bool,
    typer.Option(
        "--whole-word-masking",
        help="Mask every piece of a chosen eojeol (white-space word) together, for both objectives.",
    ),
]
ReportToOpt = Annotated[
    str,
    typer.Option(
        "--report-to",
        help="none, or tensorboard: the Trainer's logs and the validation metrics as TensorBoard scalars in pretrain/<name>/runs/ (pip install 'kmb[tensorboard]').",
    ),
]
OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        help="Name of the result: models/<name>/ (and pretrain/<name>/ for shards, checkpoints, curves).",
    ),
]
MaxStepsOpt = Annotated[
    int, typer.Option("--max-steps", help="Stop after this many optimizer steps (overrides --epochs; -1: off).")
]
BatchSizeOpt = Annotated[
    int, typer.Option("--batch-size", help="Pairs per optimizer step over all processes (the paper: 32).")
]
GradAccumOpt = Annotated[int, typer.Option("--grad-accum", help="Micro-batches accumulated per optimizer step.")]
LrOpt = Annotated[
    float | None,
    typer.Option("--lr", help="Peak learning rate of AdamW (default from --recipe: paper 1e-6, modern 2e-5)."),
]
WarmupOpt = Annotated[
    float | None,
    typer.Option(
        "--warmup",
        help="Linear warmup: steps, or a fraction of all steps when < 1 (default from --recipe: paper 0, modern 0.06).",
    ),
]
LrScheduleOpt = Annotated[
    str,
    typer.Option(
        "--lr-schedule",
        help="After the warmup: linear (the paper's), cosine, or warmup_stable_decay (the peak rate, then a 1-sqrt decay over the last --decay of the steps; docs/pretrain.md).",
    ),
]
DecayOpt = Annotated[
    float,
    typer.Option("--decay", help="With --lr-schedule warmup_stable_decay: the share of all steps in the final decay."),
]
MaxLengthOpt = Annotated[
    int, typer.Option("--max-length", help="Tokens per pair, [CLS] A [SEP] B [SEP] (the paper: 128).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for pairs, masks, order and initialisation.")]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue from the last checkpoint in pretrain/<name>/checkpoints.")
]
EvalStepsOpt = Annotated[
    int | None, typer.Option("--eval-steps", help="Also evaluate every N steps (always at each epoch end).")
]
SaveStepsOpt = Annotated[int, typer.Option("--save-steps", help="Write a checkpoint every N steps.")]
LoggingStepsOpt = Annotated[int, typer.Option("--logging-steps", help="Log the training loss every N steps.")]
StaticMaskingOpt = Annotated[
    bool | None,
    typer.Option(
        "--static-masking/--dynamic-masking",
        help="Fixed masks for every epoch (the paper) or fresh ones each epoch (default from --recipe: paper static, modern dynamic).",
    ),
]
MlmProbabilityOpt = Annotated[
    float,
    typer.Option(
        "--mlm-probability",
        help="Share of the non-special tokens masked (the paper: 0.15); with --mlm-probability-start, the rate at the last step and in validation.",
    ),
]
MlmProbabilityStartOpt = Annotated[
    float | None,
    typer.Option(
        "--mlm-probability-start",
        help="A masking rate that changes over the run: this rate at the first step, linear to --mlm-probability at the last (e.g. 0.30, as mmBERT and BioClinical ModernBERT; default: off, one rate).",
    ),
]
PrecisionOpt = Annotated[
    str,
    typer.Option("--precision", help="auto (bf16 where supported, fp16 on older GPUs, else fp32), fp32, bf16 or fp16."),
]
NoGroupByLengthOpt = Annotated[
    bool, typer.Option("--no-group-by-length", help="Do not batch pairs of similar length together.")
]
InitOpt = Annotated[
    str | None,
    typer.Option(
        "--init",
        help="Embedding init of new tokens of an extended vocab: normal (the paper) or subword-mean (default from --recipe: paper normal, modern subword-mean).",
    ),
]
DropoutOpt = Annotated[
    float | None, typer.Option("--dropout", help="Override the model's hidden and attention dropout.")
]
MaxEvalPairsOpt = Annotated[
    int | None, typer.Option("--max-eval-pairs", help="Score at most this many validation pairs per evaluation.")
]
DataloaderWorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--dataloader-workers",
        help="Data-loading processes that mask and pad batches; 0 = in the training process (default: 0 on CPU, up to 4 on a GPU).",
    ),
]
CompileModelOpt = Annotated[
    bool, typer.Option("--compile", help="torch.compile the model (GPU; about a minute of compiling first).")
]
CompileModeOpt = Annotated[
    str,
    typer.Option(
        "--compile-mode",
        help="torch.compile mode: default, reduce-overhead (CUDA graphs) or max-autotune; implies --compile.",
    ),
]
ProfileStepsOpt = Annotated[
    int,
    typer.Option(
        "--profile-steps",
        help="Profile this many training steps with torch.profiler: a trace and the costliest operations in pretrain/<name>/profile/ (0: off).",
    ),
]


def pretrain(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    base_model: BaseModelOpt = PRETRAIN.base_model,
    config: ConfigOpt = PRETRAIN.config,
    tokenizer: TokenizerOpt = PRETRAIN.tokenizer,
    recipe: RecipeOpt = PRETRAIN.recipe,
    objective: ObjectiveOpt = PRETRAIN.objective,
    whole_word_masking: WholeWordMaskingOpt = PRETRAIN.whole_word_masking,
    report_to: ReportToOpt = PRETRAIN.report_to,
    output: OutputOpt = PRETRAIN.output,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the training pairs.")] = PRETRAIN.epochs,
    max_steps: MaxStepsOpt = PRETRAIN.max_steps,
    batch_size: BatchSizeOpt = PRETRAIN.batch_size,
    grad_accum: GradAccumOpt = PRETRAIN.grad_accum,
    lr: LrOpt = PRETRAIN.lr,
    warmup: WarmupOpt = PRETRAIN.warmup,
    lr_schedule: LrScheduleOpt = PRETRAIN.lr_schedule,
    decay: DecayOpt = PRETRAIN.decay,
    max_length: MaxLengthOpt = PRETRAIN.max_length,
    seed: SeedOpt = PRETRAIN.seed,
    resume: ResumeOpt = PRETRAIN.resume,
    eval_steps: EvalStepsOpt = PRETRAIN.eval_steps,
    save_steps: SaveStepsOpt = PRETRAIN.save_steps,
    logging_steps: LoggingStepsOpt = PRETRAIN.logging_steps,
    static_masking: StaticMaskingOpt = PRETRAIN.static_masking,
    mlm_probability: MlmProbabilityOpt = PRETRAIN.mlm_probability,
    mlm_probability_start: MlmProbabilityStartOpt = PRETRAIN.mlm_probability_start,
    precision: PrecisionOpt = PRETRAIN.precision,
    no_group_by_length: NoGroupByLengthOpt = not PRETRAIN.group_by_length,
    init: InitOpt = PRETRAIN.init,
    dropout: DropoutOpt = PRETRAIN.dropout,
    max_eval_pairs: MaxEvalPairsOpt = PRETRAIN.max_eval_pairs,
    dataloader_workers: DataloaderWorkersOpt = PRETRAIN.dataloader_workers,
    compile_model: CompileModelOpt = PRETRAIN.compile,
    compile_mode: CompileModeOpt = PRETRAIN.compile_mode,
    profile_steps: ProfileStepsOpt = PRETRAIN.profile_steps,
) -> None:
    """Continue pretraining of a Korean encoder on the corpus: MLM + NSP for a BERT, MLM for other families (builds the pair or segment shards when missing or stale)."""
    values = dict(locals())  # every option is the PretrainConfig field of its name, but these two:
    values["group_by_length"] = not values.pop("no_group_by_length")
    values["compile"] = values.pop("compile_model")
    from kmb.training.pretrain import run_pretraining

    options = PretrainConfig(**values)
    summary = run_pretraining(options)
    if summary is not None:  # None in the processes other than the first under torchrun
        echo_summary("kmb pretrain", summary)
