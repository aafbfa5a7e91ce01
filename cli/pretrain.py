"""`kmb pretrain`: continued MLM + NSP (BERT) or MLM (other families) pretraining of a Korean encoder."""

from __future__ import annotations

from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary
from kmb.training.config import PretrainConfig

PRETRAIN = PretrainConfig  # the defaults, written once


def pretrain(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    base_model: Annotated[
        str | None,
        typer.Option(
            "--base-model",
            help="Start model: a local directory or a hub id that AutoModelForMaskedLM loads, BERT, RoBERTa, XLM-R, ModernBERT, ... (default: KR-BERT, snunlp/KR-BERT-char16424).",
        ),
    ] = PRETRAIN.base_model,
    config: Annotated[
        str | None, typer.Option("--config", help="Train from scratch with this size instead: tiny, small or base.")
    ] = PRETRAIN.config,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            "--tokenizer",
            help="Tokenizer directory, or 'workspace' for the workspace's newest vocab/<name>/ (default: the base model's own; with --config, the workspace's vocab).",
        ),
    ] = PRETRAIN.tokenizer,
    recipe: Annotated[
        str,
        typer.Option(
            "--recipe",
            help="Values of the options not given: paper (lr 1e-6, no warmup, static masking, normal init of new embeddings) or modern (lr 2e-5, 6% warmup, dynamic masking, subword-mean init). An option you give wins.",
        ),
    ] = PRETRAIN.recipe,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="auto (MLM + NSP when the base has an NSP head, as BERT's BertForPreTraining, or no head at all; MLM alone otherwise), mlm or mlm+nsp (BERT only).",
        ),
    ] = PRETRAIN.objective,
    whole_word_masking: Annotated[
        bool,
        typer.Option(
            "--whole-word-masking",
            help="Mask every piece of a chosen eojeol (white-space word) together, for both objectives.",
        ),
    ] = PRETRAIN.whole_word_masking,
    report_to: Annotated[
        str,
        typer.Option(
            "--report-to",
            help="none, or tensorboard: the Trainer's logs and the validation metrics as TensorBoard scalars in pretrain/<name>/runs/ (pip install 'kmb[tensorboard]').",
        ),
    ] = PRETRAIN.report_to,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            help="Name of the result: models/<name>/ (and pretrain/<name>/ for shards, checkpoints, curves).",
        ),
    ] = PRETRAIN.output,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the training pairs.")] = PRETRAIN.epochs,
    max_steps: Annotated[
        int, typer.Option("--max-steps", help="Stop after this many optimizer steps (overrides --epochs; -1: off).")
    ] = PRETRAIN.max_steps,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Pairs per optimizer step over all processes (the paper: 32).")
    ] = PRETRAIN.batch_size,
    grad_accum: Annotated[
        int, typer.Option("--grad-accum", help="Micro-batches accumulated per optimizer step.")
    ] = PRETRAIN.grad_accum,
    lr: Annotated[
        float | None,
        typer.Option("--lr", help="Peak learning rate of AdamW (default from --recipe: paper 1e-6, modern 2e-5)."),
    ] = PRETRAIN.lr,
    warmup: Annotated[
        float | None,
        typer.Option(
            "--warmup",
            help="Linear warmup: steps, or a fraction of all steps when < 1 (default from --recipe: paper 0, modern 0.06).",
        ),
    ] = PRETRAIN.warmup,
    lr_schedule: Annotated[
        str,
        typer.Option(
            "--lr-schedule",
            help="After the warmup: linear (the paper's), cosine, or warmup_stable_decay (the peak rate, then a 1-sqrt decay over the last --decay of the steps; docs/pretrain.md).",
        ),
    ] = PRETRAIN.lr_schedule,
    decay: Annotated[
        float,
        typer.Option(
            "--decay", help="With --lr-schedule warmup_stable_decay: the share of all steps in the final decay."
        ),
    ] = PRETRAIN.decay,
    max_length: Annotated[
        int, typer.Option("--max-length", help="Tokens per pair, [CLS] A [SEP] B [SEP] (the paper: 128).")
    ] = PRETRAIN.max_length,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for pairs, masks, order and initialisation.")
    ] = PRETRAIN.seed,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in pretrain/<name>/checkpoints.")
    ] = PRETRAIN.resume,
    eval_steps: Annotated[
        int | None, typer.Option("--eval-steps", help="Also evaluate every N steps (always at each epoch end).")
    ] = PRETRAIN.eval_steps,
    save_steps: Annotated[
        int, typer.Option("--save-steps", help="Write a checkpoint every N steps.")
    ] = PRETRAIN.save_steps,
    logging_steps: Annotated[
        int, typer.Option("--logging-steps", help="Log the training loss every N steps.")
    ] = PRETRAIN.logging_steps,
    static_masking: Annotated[
        bool | None,
        typer.Option(
            "--static-masking/--dynamic-masking",
            help="Fixed masks for every epoch (the paper) or fresh ones each epoch (default from --recipe: paper static, modern dynamic).",
        ),
    ] = PRETRAIN.static_masking,
    precision: Annotated[
        str,
        typer.Option(
            "--precision", help="auto (bf16 where supported, fp16 on older GPUs, else fp32), fp32, bf16 or fp16."
        ),
    ] = PRETRAIN.precision,
    no_group_by_length: Annotated[
        bool, typer.Option("--no-group-by-length", help="Do not batch pairs of similar length together.")
    ] = not PRETRAIN.group_by_length,
    init: Annotated[
        str | None,
        typer.Option(
            "--init",
            help="Embedding init of new tokens of an extended vocab: normal (the paper) or subword-mean (default from --recipe: paper normal, modern subword-mean).",
        ),
    ] = PRETRAIN.init,
    dropout: Annotated[
        float | None, typer.Option("--dropout", help="Override the model's hidden and attention dropout.")
    ] = PRETRAIN.dropout,
    max_eval_pairs: Annotated[
        int | None, typer.Option("--max-eval-pairs", help="Score at most this many validation pairs per evaluation.")
    ] = PRETRAIN.max_eval_pairs,
    dataloader_workers: Annotated[
        int | None,
        typer.Option(
            "--dataloader-workers",
            help="Data-loading processes that mask and pad batches; 0 = in the training process (default: 0 on CPU, up to 4 on a GPU).",
        ),
    ] = PRETRAIN.dataloader_workers,
    compile_model: Annotated[
        bool, typer.Option("--compile", help="torch.compile the model (GPU; about a minute of compiling first).")
    ] = PRETRAIN.compile,
    compile_mode: Annotated[
        str,
        typer.Option(
            "--compile-mode",
            help="torch.compile mode: default, reduce-overhead (CUDA graphs) or max-autotune; implies --compile.",
        ),
    ] = PRETRAIN.compile_mode,
    profile_steps: Annotated[
        int,
        typer.Option(
            "--profile-steps",
            help="Profile this many training steps with torch.profiler: a trace and the costliest operations in pretrain/<name>/profile/ (0: off).",
        ),
    ] = PRETRAIN.profile_steps,
) -> None:
    """Continue pretraining of a Korean encoder on the corpus: MLM + NSP for a BERT, MLM for other families (builds the pair or segment shards when missing or stale)."""
    from kmb.training.pretrain import run_pretraining

    options = PretrainConfig(
        workspace=workspace,
        output=output,
        base_model=base_model,
        config=config,
        tokenizer=tokenizer,
        recipe=recipe,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        grad_accum=grad_accum,
        lr=lr,
        warmup=warmup,
        lr_schedule=lr_schedule,
        decay=decay,
        max_length=max_length,
        seed=seed,
        resume=resume,
        eval_steps=eval_steps,
        save_steps=save_steps,
        logging_steps=logging_steps,
        static_masking=static_masking,
        precision=precision,
        group_by_length=not no_group_by_length,
        init=init,
        dropout=dropout,
        max_eval_pairs=max_eval_pairs,
        dataloader_workers=dataloader_workers,
        compile=compile_model,
        compile_mode=compile_mode,
        profile_steps=profile_steps,
        objective=objective,
        whole_word_masking=whole_word_masking,
        report_to=report_to,
    )
    summary = run_pretraining(options)
    if summary is not None:  # None in the processes other than the first under torchrun
        echo_summary("kmb pretrain", summary)
