"""The options of `kmb pretrain` (`PretrainConfig`, defaults = the paper's), the two recipes, and
the checks of the options on their own.

Light on purpose: it imports neither torch nor transformers, so the CLI can build its options
from these defaults without loading them (`kmb --help` stays fast).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from kmb.checks import FRACTION, SEED, Rule, at_least, between, choice, more_than, number
from kmb.errors import KmbError

DEFAULT_BASE_MODEL = "snunlp/KR-BERT-char16424"  # KR-BERT, the paper's starting point
WORKSPACE_TOKENIZER = "workspace"  # --tokenizer workspace: the workspace's newest vocab/<name>/
OBJECTIVES = ("auto", "mlm", "mlm+nsp")  # see kmb.training.objectives
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
REPORT_TO = ("none", "tensorboard")
INITS = ("normal", "subword-mean")  # kmb.vocab.extend.INITS: new-token embeddings of an extended vocab
# Model sizes for training from scratch (`kmb pretrain --config`). "small" is the benchmark's model.
MODEL_CONFIGS: dict[str, dict] = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}

# What the paper states (Kim et al. 2022, "Pre-training"; the vocab section for the init):
# batch 32, length 128, lr 1e-6, 15% token masking fixed when the pair data set was built, new
# embeddings "initialized by normalization".
PAPER_VALUES = {
    "lr": 1e-6,
    "batch_size": 32,
    "max_length": 128,
    "static_masking": True,
    "init": "normal",
    "mlm_probability": 0.15,
    "mlm_probability_start": None,  # one rate for the whole run
    "whole_word_masking": False,
}
# Learning-rate schedules after the warmup: the paper's linear decay; cosine; warmup-stable-decay
# (Hu et al. 2024, MiniCPM), a constant rate then a short decay, here with the 1-sqrt shape of
# Hägele et al. 2024, as BioClinical ModernBERT's second phase used it.
LR_SCHEDULES = ("linear", "cosine", "warmup_stable_decay")

# The options a recipe fills when they are not given (None); an option given explicitly wins.
RECIPES: dict[str, dict] = {
    "paper": {"lr": 1e-6, "warmup": 0.0, "static_masking": True, "init": "normal"},
    "modern": {"lr": 2e-5, "warmup": 0.06, "static_masking": False, "init": "subword-mean"},
}


@dataclass
class PretrainConfig:
    """Every option of `kmb pretrain`. None in lr, warmup, static_masking and init means "not
    given": the recipe fills it (see RECIPES); the other defaults are the paper's where it has one."""

    workspace: Path = Path("kmb-workspace")
    output: str = "km-bert"
    base_model: str | None = None  # local dir or hub id; None with config=None means KR-BERT
    config: str | None = None  # tiny | small | base: train from scratch
    tokenizer: str | Path | None = None  # None: the base model's own (--config: the workspace vocab); "workspace"
    recipe: str = "paper"  # paper | modern: the values of the options not given
    objective: str = "auto"  # auto | mlm | mlm+nsp (auto: MLM + NSP for a BERT with an NSP head)
    whole_word_masking: bool = False  # mask every piece of a chosen eojeol together
    report_to: str = "none"  # none | tensorboard (pretrain/<name>/runs/)
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 32  # global: per device x processes x grad_accum
    grad_accum: int = 1
    lr: float | None = None  # paper 1e-6, modern 2e-5
    warmup: float | None = None  # steps, or a fraction of all steps when < 1; paper 0, modern 0.06
    lr_schedule: str = "linear"  # linear (the paper's) | cosine | warmup_stable_decay (1-sqrt decay)
    decay: float = 0.1  # warmup_stable_decay: the share of all steps in the final decay
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 42
    resume: bool = False
    eval_steps: int | None = None  # also evaluates at every epoch end
    save_steps: int = 500
    logging_steps: int = 10
    static_masking: bool | None = None  # paper True, modern False (fresh masks every epoch)
    mlm_probability: float = 0.15  # the share of tokens masked (with a schedule: at the last step, and in validation)
    mlm_probability_start: float | None = None  # the rate at the first step, linear to mlm_probability; None: constant
    group_by_length: bool = True
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    init: str | None = None  # new-token embedding init for an extended vocab; paper normal, modern subword-mean
    dropout: float | None = None  # override hidden and attention dropout (None: the model's own)
    max_eval_pairs: int | None = None  # score at most this many validation pairs (None: all)
    shard_pairs: int = 1_000_000
    dataloader_workers: int | None = (
        None  # data-loading processes (0 = no worker process); None: 0 on CPU, up to 4 on a GPU
    )
    compile: bool = False  # torch.compile the model (dynamic shapes); see docs/pretrain.md first
    compile_mode: str = "default"  # torch.compile mode: default | reduce-overhead (CUDA graphs) | max-autotune
    profile_steps: int = 0  # profile this many steps after the warm-up (kmb.training.profiling); 0: off
    progress: bool = True
    extra: dict = field(default_factory=dict)  # extra TrainingArguments (tests, experts)


def apply_recipe(cfg: PretrainConfig) -> PretrainConfig:
    """Fill the options not given (None) from --recipe; an option given explicitly wins."""
    choice("--recipe", cfg.recipe, RECIPES)
    filled = {key: value for key, value in RECIPES[cfg.recipe].items() if getattr(cfg, key) is None}
    return dataclasses.replace(cfg, **filled)


def differs_from_paper(cfg: PretrainConfig) -> dict[str, str]:
    """Each value the paper states that this run does not use: option -> "value (paper: value)"."""
    return {
        key: f"{getattr(cfg, key)} (paper: {paper})"
        for key, paper in PAPER_VALUES.items()
        if getattr(cfg, key) != paper
    }


def masking_rate(cfg: PretrainConfig) -> str:
    """The share of tokens masked: one rate, or the schedule from --mlm-probability-start."""
    if cfg.mlm_probability_start is None:
        return f"{cfg.mlm_probability:.0%}"
    return (
        f"{cfg.mlm_probability_start:.0%} -> {cfg.mlm_probability:.0%} "
        f"(linear over the optimizer steps; validation {cfg.mlm_probability:.0%})"
    )


def masking_scheme(cfg: PretrainConfig) -> str:
    """How targets are chosen: tokens or whole words (eojeol), the rate, masks fixed or fresh each epoch."""
    unit = "whole-word (every piece of a chosen eojeol)" if cfg.whole_word_masking else "token"
    return f"{unit}, {masking_rate(cfg)}, {'static' if cfg.static_masking else 'dynamic'}"


STEPS_OR_OFF = Rule(lambda v: v == -1 or v >= 1, "-1 (off) or at least 1")


def number_rules(cfg: PretrainConfig) -> list[tuple[str, object, Rule]]:
    """(option, value, rule) for every number of the run; None is "off" or "the model's own" and passes."""
    return [
        ("--epochs", cfg.epochs, more_than(0)),
        ("--max-steps", cfg.max_steps, STEPS_OR_OFF),
        ("--batch-size", cfg.batch_size, at_least(1)),
        ("--grad-accum", cfg.grad_accum, at_least(1)),
        ("--lr", cfg.lr, more_than(0)),
        ("--warmup", cfg.warmup, at_least(0, "steps, or a fraction of all steps when < 1")),
        ("weight_decay", cfg.weight_decay, at_least(0)),
        ("--max-length", cfg.max_length, between(8, 512)),
        ("--seed", cfg.seed, SEED),
        ("--eval-steps", cfg.eval_steps, at_least(1)),
        ("--save-steps", cfg.save_steps, at_least(1)),
        ("--logging-steps", cfg.logging_steps, at_least(1)),
        ("--mlm-probability", cfg.mlm_probability, FRACTION),
        ("--mlm-probability-start", cfg.mlm_probability_start, FRACTION),
        ("--decay", cfg.decay, between(0, 1, low_open=True)),
        ("--dropout", cfg.dropout, between(0, 1, high_open=True)),
        ("--max-eval-pairs", cfg.max_eval_pairs, at_least(1)),
        ("shard_pairs", cfg.shard_pairs, at_least(1)),
        ("--dataloader-workers", cfg.dataloader_workers, at_least(0, "0 = no worker process")),
        ("--profile-steps", cfg.profile_steps, at_least(0, "0 = off")),
    ]


def check_options(cfg: PretrainConfig, world: int = 1) -> None:
    """The options on their own (no files read): one KmbError line for the first bad one.
    ``world``: the processes of a torchrun launch, which --batch-size is split over."""
    if cfg.config is not None and cfg.base_model is not None:
        raise KmbError("give either --base-model or --config, not both")
    choice("--config", cfg.config, MODEL_CONFIGS)
    for option, value, rule in number_rules(cfg):
        number(option, value, rule)
    if cfg.batch_size % (world * cfg.grad_accum) != 0:
        raise KmbError(
            f"--batch-size {cfg.batch_size} is not divisible by processes ({world}) x --grad-accum ({cfg.grad_accum})"
        )
    choice("--precision", cfg.precision, PRECISIONS)
    choice("--lr-schedule", cfg.lr_schedule, LR_SCHEDULES)
    choice("--init", cfg.init, INITS)
    choice("--compile-mode", cfg.compile_mode, COMPILE_MODES)
    choice("--objective", cfg.objective, OBJECTIVES)
    choice("--report-to", cfg.report_to, REPORT_TO)
    if cfg.report_to == "tensorboard" and importlib.util.find_spec("tensorboard") is None:
        raise KmbError("--report-to tensorboard needs the tensorboard package: pip install 'kmb[tensorboard]'")
    from kmb.workspace import check_run_name  # here: the workspace module loads DuckDB

    check_run_name(cfg.output, "--output")
