"""`kmb pretrain`: continued pretraining of a Korean encoder on the corpus, with the HF Trainer as the loop.

MLM + NSP for a BERT (the paper's), MLM alone for RoBERTa, XLM-R, ModernBERT or any other
AutoModelForMaskedLM family (`--objective`, see kmb.training.objectives).

`run_pretraining(PretrainConfig(...))` is the recipe, one function per step, each in its module:

  1. check_inputs (inputs; the options and recipes in config): every option and number, the
     corpus, the base model and its heads (which choose the objective), the tokenizer and the
     vocab sizes; the recipe (paper or modern) fills the options not given. Nothing is written
     before they pass.
  2. training_arguments (loop): the Trainer's settings (batch split over processes, precision, workers).
  3. training_data (pretrain_data): the pair shards for MLM + NSP (shards) or the segment shards
     for MLM (segment_shards), built when missing or stale; the train and validation datasets and
     the batch collator that masks (tokens or whole words) and pads.
  4. pretraining_model (start_model): BertForPreTraining, or the family's masked-LM class, with
     the masked-only MLM head (model) from --base-model or --config; embeddings extended for an
     extended vocab.
  5. train (loop): score the start model, train with trainer.PretrainingTrainer (checkpoints,
     gradient accumulation, bf16/fp16 on GPU, --resume, torchrun), score at the end.
  6. save_model_dir (output): models/<name>/ atomically (safetensors, tokenizer, metrics, curves,
     model card).

The Trainer gives one code path for CPU, one GPU and many GPUs or nodes (torchrun; gloo on CPU).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from kmb.training.config import PretrainConfig, apply_recipe, check_options
from kmb.training.inputs import check_inputs
from kmb.training.loop import train, training_arguments
from kmb.training.output import finished_summary, run_summary, save_model_dir
from kmb.training.pretrain_data import training_data
from kmb.training.start_model import pretraining_model

__all__ = ["PretrainConfig", "run_pretraining"]


def run_pretraining(cfg: PretrainConfig, callbacks: list | None = None) -> dict | None:
    """Prepare shards, train, and save models/<output>/. Returns the summary shown by the CLI, in
    the main process; None in the other processes of a torchrun launch (one summary is printed)."""
    with output_lock(cfg):
        return _run(cfg, callbacks)


@contextlib.contextmanager
def output_lock(cfg: PretrainConfig) -> Iterator[None]:
    """One writer of models/<name>/ and pretrain/<name>/ at a time: a second `kmb pretrain` with the
    same --output gets one line at once. Held by the main process (the others write nothing there).
    The options (--output among them) are checked first: a bad one creates no workspace or lock file."""
    from kmb.workspace import Workspace

    check_options(apply_recipe(cfg), int(os.environ.get("WORLD_SIZE", "1")))
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    with Workspace.open(cfg.workspace).lock(f"pretrain/{cfg.output}"):
        yield


def _run(cfg: PretrainConfig, callbacks: list | None) -> dict | None:
    from transformers import set_seed

    started = time.time()
    # 1. check every input; nothing is written before they pass
    inputs = check_inputs(cfg)
    cfg = inputs.config  # with the recipe's values for the options not given
    if inputs.resume_step is not None and 0 < cfg.max_steps <= inputs.resume_step:
        return finished_summary(cfg, inputs, cfg.max_steps)  # --resume after the last step: nothing to train
    # 2. the Trainer's settings
    args = training_arguments(cfg, inputs)
    # 3. pair shards (MLM + NSP) or segment shards (MLM), datasets and the masking collator
    data = training_data(cfg, inputs, args)
    # 4. the model, from the base model or from scratch
    set_seed(cfg.seed)
    model, heads = pretraining_model(cfg, inputs)
    # 5. score the start model, train, score the end
    run = train(cfg, inputs, args, data, model, callbacks)
    if run.training_loss is None:  # --resume after the last step of the epochs: nothing trained
        return finished_summary(cfg, inputs, run.last_step)
    # 6. models/<name>/, written by the main process only
    summary = run_summary(cfg, inputs, data, run, heads, started)
    return save_model_dir(cfg, inputs, data, run, summary)
