"""`kmb pretrain`: continued pretraining of a Korean encoder on the corpus, with the HF Trainer as the loop.

MLM + NSP for a BERT (the paper's), MLM alone for RoBERTa, XLM-R, ModernBERT or any other
AutoModelForMaskedLM family (`--objective`, see kmb.training.objectives).

`run_pretraining(PretrainConfig(...))` is the recipe, one function per step:

  1. check_inputs: every option and number, the corpus, the base model and its heads (which
     choose the objective), the tokenizer and the vocab sizes; the recipe (paper or modern) fills
     the options not given. Nothing is written before they pass.
  2. training_arguments: the Trainer's settings (batch split over processes, precision, workers).
  3. training_data: the pair shards for MLM + NSP (kmb.training.shards) or the segment shards for
     MLM (kmb.training.segment_shards), built when missing or stale; the train and validation
     datasets and the batch collator that masks (tokens or whole words) and pads.
  4. pretraining_model: BertForPreTraining, or the family's masked-LM class, with the masked-only
     MLM head (kmb.training.model) from --base-model (its heads checked) or --config; embeddings
     extended for an extended vocab.
  5. train: score the start model, train with kmb.training.trainer.PretrainingTrainer (checkpoints,
     gradient accumulation, bf16/fp16 on GPU, --resume, torchrun), score at the end.
  6. save_model_dir: models/<name>/ atomically (safetensors, tokenizer, metrics, curves, model card).

The Trainer gives one code path for CPU, one GPU and many GPUs or nodes (torchrun; gloo on CPU).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from kmb.errors import KmbError
from kmb.storage import atomic_dir
from kmb.training.model import MODEL_CONFIGS
from kmb.training.objectives import OBJECTIVES, base_heads, choose_objective, max_positions
from kmb.workspace import Workspace, check_run_name

DEFAULT_BASE_MODEL = "snunlp/KR-BERT-char16424"  # KR-BERT, the paper's starting point
WORKSPACE_TOKENIZER = "workspace"  # --tokenizer workspace: the workspace's newest vocab/<name>/
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
REPORT_TO = ("none", "tensorboard")
# Dropout settings of the families' configs (BERT/RoBERTa/XLM-R names, then ModernBERT's).
DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "embedding_dropout", "attention_dropout",
                "mlp_dropout")

# What the paper states (Kim et al. 2022, "Pre-training"; the vocab section for the init):
# batch 32, length 128, lr 1e-6, 15% token masking fixed when the pair data set was built, new
# embeddings "initialized by normalization".
PAPER_VALUES = {"lr": 1e-6, "batch_size": 32, "max_length": 128, "static_masking": True, "init": "normal",
                "mlm_probability": 0.15, "whole_word_masking": False}
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
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 42
    resume: bool = False
    eval_steps: int | None = None  # also evaluates at every epoch end
    save_steps: int = 500
    logging_steps: int = 10
    static_masking: bool | None = None  # paper True, modern False (fresh masks every epoch)
    mlm_probability: float = 0.15
    group_by_length: bool = True
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    init: str | None = None  # new-token embedding init for an extended vocab; paper normal, modern subword-mean
    dropout: float | None = None  # override hidden and attention dropout (None: the model's own)
    max_eval_pairs: int | None = None  # score at most this many validation pairs (None: all)
    shard_pairs: int = 1_000_000
    dataloader_workers: int | None = None  # data-loading processes; None: 0 on CPU, up to 4 on a GPU
    compile: bool = False  # torch.compile the model (dynamic shapes); see docs/pretrain.md first
    compile_mode: str = "default"  # torch.compile mode: default | reduce-overhead (CUDA graphs) | max-autotune
    profile_steps: int = 0  # profile this many steps after the warm-up (kmb.training.profiling); 0: off
    progress: bool = True
    extra: dict = field(default_factory=dict)  # extra TrainingArguments (tests, experts)


@dataclass
class RunInputs:
    """Everything step 1 resolved and checked: the rest of the run only reads it."""

    config: PretrainConfig  # with the recipe applied
    workspace: Workspace
    sentence_files: list[Path]
    base_dir: Path | None  # None: from scratch (--config)
    base_config: object | None  # the base model's transformers config
    base_vocab_size: int | None  # the base model's token embeddings
    objective: str  # "mlm" | "mlm+nsp", resolved from --objective and the base model's heads
    tokenizer_dir: Path
    tokenizer_source: str  # "base model" | "workspace vocab" | "--tokenizer"
    tokenizer: object
    base_tokenizer: object | None  # set when the embeddings must be extended to the tokenizer
    run_dir: Path
    resume_from: str | None
    world: int
    precision: str

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    @property
    def vocab_size(self) -> int:
        """The model's vocabulary once built (after any extension)."""
        if self.base_dir is None or self.base_tokenizer is not None:
            return len(self.tokenizer)
        return self.base_vocab_size

    @property
    def replacement_vocab_size(self) -> int:
        """The ids a random replacement draws from: the tokenizer's (an embedding matrix padded
        beyond the tokenizer, as ModernBERT's, has rows no token uses)."""
        return min(self.vocab_size, len(self.tokenizer))

    @property
    def family(self) -> str:
        return self.base_config.model_type if self.base_config is not None else "bert"


# --- the recipe --------------------------------------------------------------------------------
def run_pretraining(cfg: PretrainConfig, callbacks: list | None = None) -> dict | None:
    """Prepare shards, train, and save models/<output>/. Returns the summary shown by the CLI, in
    the main process; None in the other processes of a torchrun launch (one summary is printed)."""
    from transformers import set_seed

    started = time.time()
    # 1. check every input; nothing is written before they pass
    inputs = check_inputs(cfg)
    cfg = inputs.config  # with the recipe's values for the options not given
    # 2. the Trainer's settings
    args = training_arguments(cfg, inputs)
    # 3. pair shards (MLM + NSP) or segment shards (MLM), datasets and the masking collator
    data = training_data(cfg, inputs, args)
    # 4. the model, from the base model or from scratch
    set_seed(cfg.seed)
    model, heads = pretraining_model(cfg, inputs)
    # 5. score the start model, train, score the end
    run = train(cfg, inputs, args, data, model, callbacks)
    # 6. models/<name>/, written by the main process only
    summary = run_summary(cfg, inputs, data, run, heads, started)
    return save_model_dir(cfg, inputs, data, run, summary)


# --- 1. inputs ---------------------------------------------------------------------------------
def apply_recipe(cfg: PretrainConfig) -> PretrainConfig:
    """Fill the options not given (None) from --recipe; an option given explicitly wins."""
    if cfg.recipe not in RECIPES:
        raise KmbError(f"unknown --recipe {cfg.recipe!r}: choose {' or '.join(RECIPES)}")
    filled = {key: value for key, value in RECIPES[cfg.recipe].items() if getattr(cfg, key) is None}
    return dataclasses.replace(cfg, **filled)


def differs_from_paper(cfg: PretrainConfig) -> dict[str, str]:
    """Each value the paper states that this run does not use: option -> "value (paper: value)"."""
    return {key: f"{getattr(cfg, key)} (paper: {paper})" for key, paper in PAPER_VALUES.items()
            if getattr(cfg, key) != paper}


def _number_rules(cfg: PretrainConfig) -> list[tuple[str, object, object, str]]:
    """(option, value, test of the value, what is allowed) for every number of the run; a value of
    None is "off" or "the model's own" and needs no test."""
    def at_least(low):
        return lambda v: v >= low

    return [
        ("--epochs", cfg.epochs, lambda v: v > 0, "more than 0"),
        ("--max-steps", cfg.max_steps, lambda v: v == -1 or v >= 1, "-1 (off) or at least 1"),
        ("--batch-size", cfg.batch_size, at_least(1), "at least 1"),
        ("--grad-accum", cfg.grad_accum, at_least(1), "at least 1"),
        ("--lr", cfg.lr, lambda v: v > 0, "more than 0"),
        ("--warmup", cfg.warmup, at_least(0), "0 or more (steps, or a fraction of all steps when < 1)"),
        ("weight_decay", cfg.weight_decay, at_least(0), "0 or more"),
        ("--max-length", cfg.max_length, lambda v: 8 <= v <= 512, "between 8 and 512"),
        ("--seed", cfg.seed, lambda v: 0 <= v < 2**32, "between 0 and 4294967295"),
        ("--eval-steps", cfg.eval_steps, at_least(1), "at least 1"),
        ("--save-steps", cfg.save_steps, at_least(1), "at least 1"),
        ("--logging-steps", cfg.logging_steps, at_least(1), "at least 1"),
        ("mlm_probability", cfg.mlm_probability, lambda v: 0 < v < 1, "between 0 and 1"),
        ("--dropout", cfg.dropout, lambda v: 0 <= v < 1, "at least 0 and below 1"),
        ("--max-eval-pairs", cfg.max_eval_pairs, at_least(1), "at least 1"),
        ("shard_pairs", cfg.shard_pairs, at_least(1), "at least 1"),
        ("--dataloader-workers", cfg.dataloader_workers, at_least(0), "0 or more"),
        ("--profile-steps", cfg.profile_steps, at_least(0), "0 (off) or more"),
    ]


def check_options(cfg: PretrainConfig) -> None:
    """The options on their own (no files read): one KmbError line for the first bad one."""
    if cfg.config is not None and cfg.base_model is not None:
        raise KmbError("give either --base-model or --config, not both")
    if cfg.config is not None and cfg.config not in MODEL_CONFIGS:
        raise KmbError(f"unknown --config {cfg.config!r}: choose {', '.join(MODEL_CONFIGS)}")
    for option, value, test, rule in _number_rules(cfg):
        if value is not None and (not math.isfinite(value) or not test(value)):
            raise KmbError(f"{option} must be {rule}, not {value}")
    if cfg.compile_mode not in COMPILE_MODES:
        raise KmbError(f"unknown --compile-mode {cfg.compile_mode!r}: choose {', '.join(COMPILE_MODES)}")
    if cfg.objective not in OBJECTIVES:
        raise KmbError(f"unknown --objective {cfg.objective!r}: choose {', '.join(OBJECTIVES)}")
    if cfg.report_to not in REPORT_TO:
        raise KmbError(f"unknown --report-to {cfg.report_to!r}: choose {' or '.join(REPORT_TO)}")
    if cfg.report_to == "tensorboard" and importlib.util.find_spec("tensorboard") is None:
        raise KmbError("--report-to tensorboard needs the tensorboard package: pip install 'kmb[tensorboard]'")
    check_run_name(cfg.output, "--output")


def check_inputs(cfg: PretrainConfig) -> RunInputs:
    """Step 1: options, numbers, corpus, base model and its heads (the objective), tokenizer, vocab
    sizes, the checkpoint to resume."""
    from kmb.vocab.tokenizers import load_tokenizer

    cfg = apply_recipe(cfg)
    check_options(cfg)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if cfg.batch_size % (world * cfg.grad_accum) != 0:
        raise KmbError(f"--batch-size {cfg.batch_size} is not divisible by processes ({world}) x --grad-accum "
                       f"({cfg.grad_accum})")
    precision = choose_precision(cfg.precision)
    ws = Workspace.open(cfg.workspace)
    files = ws.sentence_files()
    base_dir, base_config, objective = check_base_model(cfg)
    base_vocab_size = base_config.vocab_size if base_config is not None else None
    tokenizer_dir, tokenizer_source = resolve_tokenizer_dir(ws, cfg, base_dir)
    tokenizer = load_tokenizer(tokenizer_dir)
    base_tokenizer = None
    if base_dir is not None:
        base_tokenizer = check_vocab(tokenizer, tokenizer_dir, base_vocab_size, base_dir)
    run_dir = ws.pretrain(cfg.output)
    return RunInputs(config=cfg, workspace=ws, sentence_files=files, base_dir=base_dir, base_config=base_config,
                     base_vocab_size=base_vocab_size, objective=objective, tokenizer_dir=tokenizer_dir, tokenizer_source=tokenizer_source,
                     tokenizer=tokenizer, base_tokenizer=base_tokenizer, run_dir=run_dir,
                     resume_from=checkpoint_to_resume(run_dir, cfg.resume), world=world, precision=precision)


def check_base_model(cfg: PretrainConfig) -> tuple[Path | None, object | None, str]:
    """-> (base model directory, its config, the objective): None, None for --config (a BERT from
    scratch). The base's heads choose the objective under --objective auto (kmb.training.objectives)."""
    if cfg.config is not None:
        from transformers import BertConfig

        return None, None, choose_objective(cfg.objective, BertConfig(), None)
    base_dir = resolve_base_model(cfg.base_model or DEFAULT_BASE_MODEL)
    base_config = load_base_config(base_dir)
    positions = max_positions(base_config)
    if cfg.max_length > positions:
        raise KmbError(f"--max-length {cfg.max_length} exceeds the model's {positions} positions")
    objective = choose_objective(cfg.objective, base_config, base_heads(base_dir, base_config), base_dir)
    return base_dir, base_config, objective


def checkpoint_to_resume(run_dir: Path, resume: bool) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not resume:
        return None
    ckpt_dir = run_dir / "checkpoints"
    resume_from = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if resume_from is None:
        raise KmbError("--resume: no checkpoint to resume from", path=ckpt_dir)
    return resume_from


def resolve_base_model(ref: str) -> Path:
    """A local model directory, or a hub id fetched (or found in the cache when offline)."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    if path.exists() or ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise KmbError("base model directory not found", path=ref)
    from huggingface_hub import snapshot_download

    try:
        local = snapshot_download(ref, allow_patterns=["*.json", "*.txt", "*.safetensors", "*.bin", "*.model"])
    except Exception as exc:  # offline miss, unknown repo, network: all one line for the user
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        hint = " (HF_HUB_OFFLINE is set and it is not in the local cache)" if offline else ""
        raise KmbError(f"cannot get base model {ref!r} from the Hugging Face hub{hint}: "
                       f"{type(exc).__name__}; pass a local directory or go online") from exc
    return Path(local)


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (folder / "vocab.txt").is_file()


def resolve_tokenizer_dir(ws, cfg: PretrainConfig, base_dir: Path | None) -> tuple[Path, str]:
    """-> (tokenizer directory, where it came from). Without --tokenizer: the base model's own, so
    a run meant to continue the base model never picks up a workspace vocab by accident; from
    scratch (--config): the workspace's newest vocab. --tokenizer workspace: that vocab."""
    if cfg.tokenizer is not None and str(cfg.tokenizer) != WORKSPACE_TOKENIZER:
        return Path(cfg.tokenizer), "--tokenizer"
    if cfg.tokenizer is None and base_dir is not None:
        if not _has_tokenizer(base_dir):
            raise KmbError("the base model has no tokenizer (no tokenizer.json or vocab.txt): pass --tokenizer DIR, "
                           "or --tokenizer workspace for the workspace's vocab", path=base_dir)
        return base_dir, "base model"
    vocab_root = ws.root / "vocab"
    built = [d for d in vocab_root.iterdir() if d.is_dir() and _has_tokenizer(d)] if vocab_root.is_dir() else []
    if not built:
        raise KmbError("no tokenizer in the workspace: build one with `kmb vocab build` or pass --tokenizer DIR",
                       path=vocab_root)
    return max(built, key=lambda d: d.stat().st_mtime), "workspace vocab"


def load_base_config(base_dir: Path):
    from transformers import MODEL_FOR_MASKED_LM_MAPPING, AutoConfig

    if not (base_dir / "config.json").is_file():
        raise KmbError("not a model directory (no config.json)", path=base_dir)
    try:
        config = AutoConfig.from_pretrained(str(base_dir))
    except Exception as exc:
        raise KmbError(f"cannot read the model config: {exc}", path=base_dir / "config.json") from exc
    if type(config) not in MODEL_FOR_MASKED_LM_MAPPING:
        raise KmbError(f"the base model is a {config.model_type!r} model, which has no masked-LM class in "
                       "transformers; kmb pretrain continues masked-LM encoders (BERT, RoBERTa, XLM-R, ModernBERT, ...)",
                       path=base_dir / "config.json")
    return config


def check_vocab(tokenizer, tokenizer_dir: Path, model_vocab: int, base_dir: Path | None):
    """-> the base tokenizer when the embeddings must be extended, else None; KmbError on a mismatch."""
    from kmb.vocab.tokenizers import load_tokenizer

    n_tok = len(tokenizer)
    for name in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id"):
        if getattr(tokenizer, name, None) is None:
            raise KmbError(f"the tokenizer has no {name.removesuffix('_id')}", path=tokenizer_dir)
    own = base_dir is not None and Path(tokenizer_dir).resolve() == base_dir.resolve()
    # Fewer tokens than embeddings only with the model's own tokenizer: its embedding matrix is
    # padded (ModernBERT rounds it up for speed), the extra rows unused.
    if n_tok < model_vocab and not own:
        raise KmbError(f"the tokenizer has {n_tok} tokens but the model has {model_vocab} token embeddings: "
                       "use the model's own tokenizer or a vocab that extends it", path=tokenizer_dir)
    top_id = max(tokenizer.get_vocab().values())
    if own and top_id >= model_vocab:
        raise KmbError(f"the tokenizer has token ids up to {top_id} but the model only {model_vocab} token embeddings",
                       path=tokenizer_dir)
    if base_dir is None or own:
        return None
    if not _has_tokenizer(base_dir):
        if n_tok > model_vocab:
            raise KmbError(f"the tokenizer has {n_tok} tokens, more than the model's {model_vocab}, and the base "
                           "model has no tokenizer to extend from", path=tokenizer_dir)
        return None
    base_tokenizer = load_tokenizer(base_dir)
    if len(base_tokenizer) != model_vocab:
        raise KmbError(f"the base model's tokenizer has {len(base_tokenizer)} tokens but its embeddings {model_vocab}",
                       path=base_dir)
    if n_tok == model_vocab:
        if tokenizer.get_vocab() != base_tokenizer.get_vocab():
            raise KmbError("the tokenizer has as many tokens as the model but not the same ones", path=tokenizer_dir)
        return None
    return base_tokenizer


def choose_precision(name: str) -> str:
    if name not in ("auto", "fp32", "bf16", "fp16"):
        raise KmbError(f"unknown --precision {name!r}: choose auto, fp32, bf16 or fp16")
    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:  # CPUs with AVX512-BF16 / AMX run bf16 matmuls natively
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    except (AttributeError, RuntimeError):
        return "fp32"


# --- 2. the Trainer's settings -------------------------------------------------------------------
def use_expandable_cuda_segments() -> None:
    """Length-grouped batches change shape every step; with fixed-size segments the CUDA allocator
    can end up freeing and re-allocating memory per batch (NVIDIA NeMo measured ~30% overhead from
    this, PR #9061). Expandable segments grow instead. A user's own PYTORCH_CUDA_ALLOC_CONF wins."""
    if torch.cuda.is_available() and "PYTORCH_CUDA_ALLOC_CONF" not in os.environ:
        set_allocator = getattr(torch._C, "_accelerator_setAllocatorSettings", None)  # torch >= 2.9
        (set_allocator or torch.cuda.memory._set_allocator_settings)("expandable_segments:True")


def training_arguments(cfg: PretrainConfig, inputs: RunInputs):
    """Step 2: the TrainingArguments of the run (--batch-size is global: split over processes and accumulation)."""
    from transformers import TrainingArguments

    use_expandable_cuda_segments()
    per_device = cfg.batch_size // (inputs.world * cfg.grad_accum)
    on_gpu = torch.cuda.is_available()
    # Masking and padding run in the data loader's collator: on a GPU it must not starve the
    # device, so it moves to worker processes there. On CPU they would compete with training.
    workers = cfg.dataloader_workers if cfg.dataloader_workers is not None else (min(4, os.cpu_count() or 1) if on_gpu else 0)
    return TrainingArguments(
        output_dir=str(inputs.run_dir / "checkpoints"),
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=max(per_device, 64),
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if cfg.eval_steps else "epoch",
        eval_steps=cfg.eval_steps,
        bf16=inputs.precision == "bf16",
        fp16=inputs.precision == "fp16",
        use_cpu=not on_gpu,
        ddp_backend="gloo" if (inputs.world > 1 and not on_gpu) else None,
        ddp_find_unused_parameters=False,  # every parameter takes part (the NSP head too, with MLM + NSP)
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        dataloader_num_workers=workers,
        dataloader_persistent_workers=workers > 0,  # no re-spawning at each epoch
        # Nothing in a training step waits for the GPU: batches are copied from pinned memory
        # without blocking, and the loss is not checked for NaN on the host every step (a NaN
        # shows in the logged loss instead of being averaged away).
        accelerator_config={"non_blocking": on_gpu},
        logging_nan_inf_filter=False,
        optim="adamw_torch_fused",  # one kernel per step for all parameters (CPU and GPU)
        remove_unused_columns=False,
        average_tokens_across_devices=True,
        disable_tqdm=not cfg.progress,
        label_names=["labels", "next_sentence_label"] if inputs.objective == "mlm+nsp" else ["labels"],
        **cfg.extra,
    )


# --- 3. data -------------------------------------------------------------------------------------
@dataclass
class TrainingData:
    shard_set: object  # kmb.training.shards.ShardSet, or segment_shards.SegmentSet for MLM alone
    train_set: object  # PairShardDataset or SegmentShardDataset, masks drawn per (seed, epoch, item)
    valid_set: object  # the same kind, masks fixed across evaluations
    collator: object  # pads and masks whole batches

    @property
    def unit(self) -> str:
        """What one training example is: "pairs" (MLM + NSP) or "segments" (MLM)."""
        return "segments" if self.shard_set.manifest.get("kind") == "segments" else "pairs"

    def n_train(self) -> int:
        return int(self.shard_set.manifest["splits"]["train"][self.unit])


def training_data(cfg: PretrainConfig, inputs: RunInputs, args) -> TrainingData:
    """Step 3: the shards (the main process builds them, the others wait and then read the same
    files), the train and validation datasets, and the collator: NSP pairs for MLM + NSP,
    doc-sentences segments for MLM alone."""
    from kmb.training.masking import word_start_table
    from kmb.training.shards import VALID_MASK_EPOCH

    with args.main_process_first(desc="shards", local=False):
        shard_set = build_training_shards(cfg, inputs)
        if args.process_index == 0 and not cfg.resume:  # a fresh run starts without old results
            for folder in ("checkpoints", "profile", "runs"):
                shutil.rmtree(inputs.run_dir / folder, ignore_errors=True)
            inputs.metrics_path.unlink(missing_ok=True)
    tokenizer = inputs.tokenizer
    word_starts = word_start_table(tokenizer) if cfg.whole_word_masking else None
    if inputs.objective == "mlm+nsp":
        from kmb.training.shards import PairShardDataset as Dataset

        special_ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    else:
        from kmb.training.segment_shards import SegmentShardDataset as Dataset

        special_ids = list(tokenizer.all_special_ids)
    masking = dict(seed=cfg.seed, mask_token_id=tokenizer.mask_token_id, vocab_size=inputs.replacement_vocab_size,
                   special_ids=special_ids, mlm_probability=cfg.mlm_probability, word_starts=word_starts)
    train_set = Dataset(shard_set.files("train"), static_masking=cfg.static_masking, **masking)
    valid_set = Dataset(shard_set.files("valid"), fixed_epoch=VALID_MASK_EPOCH, limit=cfg.max_eval_pairs, **masking)
    # Pads and masks whole batches (in the data-loader workers on a GPU); validation items keep
    # their fixed masks through their dataset's fixed epoch.
    collator = train_set.collator(tokenizer.pad_token_id, pad_to_multiple_of=8 if torch.cuda.is_available() else None)
    return TrainingData(shard_set=shard_set, train_set=train_set, valid_set=valid_set, collator=collator)


def build_training_shards(cfg: PretrainConfig, inputs: RunInputs):
    """The pair shards (pretrain/<name>/shards/) or the segment shards (pretrain/<name>/segments/)."""
    if inputs.objective == "mlm+nsp":
        from kmb.training.shards import build_shards

        return build_shards(inputs.run_dir / "shards", inputs.sentence_files, inputs.tokenizer, inputs.tokenizer_dir,
                            max_length=cfg.max_length, seed=cfg.seed, shard_pairs=cfg.shard_pairs)
    from kmb.training.segment_shards import build_segment_shards

    return build_segment_shards(inputs.run_dir / "segments", inputs.sentence_files, inputs.tokenizer,
                                inputs.tokenizer_dir, max_length=cfg.max_length, shard_segments=cfg.shard_pairs)


# --- 4. model ------------------------------------------------------------------------------------
HEADS = {"MLM": "cls.predictions.", "NSP": "cls.seq_relationship."}


def describe_heads(missing_keys) -> tuple[str, list[str]]:
    """-> (what the summary says about the pretraining heads, the heads missing from the checkpoint)."""
    fresh = [head for head, prefix in HEADS.items() if any(key.startswith(prefix) for key in missing_keys)]
    if not fresh:
        return "MLM and NSP from the checkpoint", fresh
    kept = [head for head in HEADS if head not in fresh]
    text = f"{' and '.join(fresh)} freshly initialised (not in the checkpoint)"
    return text + (f", {kept[0]} from the checkpoint" if kept else ""), fresh


def load_base_model(base_dir: Path, overrides: dict):
    """BertForPreTraining from the base model -> (model, heads). A checkpoint saved as a plain
    BertModel has no MLM or NSP head: they start random, so the start model's MLM/NSP scores are
    no baseline. The run goes on, but says so in one warning line."""
    from kmb.training.model import MaskedOnlyBertForPreTraining

    try:
        model, info = MaskedOnlyBertForPreTraining.from_pretrained(
            str(base_dir), attn_implementation="sdpa", output_loading_info=True, **overrides)
    except Exception as exc:
        raise KmbError(f"cannot load the base model weights: {exc}", path=base_dir) from exc
    heads, fresh = describe_heads(info["missing_keys"])
    if fresh and int(os.environ.get("RANK", "0")) == 0:
        print(f"kmb: warning: {base_dir}: the {' and '.join(fresh)} head{'s' if len(fresh) > 1 else ''} "
              "start random (not in the checkpoint), so the start model's scores are no baseline", file=sys.stderr)
    return model, heads


def load_base_mlm(base_dir: Path, overrides: dict):
    """The family's masked-LM class with the masked-only head (kmb.training.model) from the base
    model -> (model, heads). The checkpoint's MLM head was checked in step 1."""
    from kmb.training.model import masked_only_mlm

    try:
        model = masked_only_mlm(base_dir, attn_implementation="sdpa", **overrides)
    except KmbError:
        raise
    except Exception as exc:
        raise KmbError(f"cannot load the base model weights: {exc}", path=base_dir) from exc
    return model, "MLM from the checkpoint"


def pretraining_model(cfg: PretrainConfig, inputs: RunInputs):
    """Step 4: the model to train -> (model, what the summary says about its heads)."""
    from transformers import BertConfig

    from kmb.training.model import MaskedOnlyBertForPreTraining, masked_only_mlm

    config = inputs.base_config if inputs.base_config is not None else BertConfig()
    overrides = {key: cfg.dropout for key in DROPOUT_KEYS if cfg.dropout is not None and hasattr(config, key)}
    if inputs.base_dir is not None:
        load = load_base_model if inputs.objective == "mlm+nsp" else load_base_mlm
        model, heads = load(inputs.base_dir, overrides)
    else:
        torch.manual_seed(cfg.seed)
        config = BertConfig(vocab_size=len(inputs.tokenizer), max_position_embeddings=max(512, cfg.max_length),
                            **MODEL_CONFIGS[cfg.config], **overrides)
        if inputs.objective == "mlm+nsp":
            model = MaskedOnlyBertForPreTraining._from_config(config, attn_implementation="sdpa")
        else:
            model = masked_only_mlm(config, attn_implementation="sdpa")
        heads = "fresh (from scratch)"
    if inputs.base_tokenizer is not None:
        from kmb.vocab.extend import extend_embeddings

        extend_embeddings(model, inputs.base_tokenizer, inputs.tokenizer, init=cfg.init, seed=cfg.seed)
    if cfg.compile or cfg.compile_mode != "default":
        # The whole forward (encoder, masked-only head, losses) is one graph: the collator's
        # fixed-size index list leaves no data-dependent shape. In place, so state-dict keys and
        # saving are unchanged; dynamic shapes, since length-grouped batches vary in length
        # (with reduce-overhead, CUDA graphs are still recorded once per distinct batch shape).
        model.compile(dynamic=True, mode=cfg.compile_mode)
    return model, heads


# --- 5. train ------------------------------------------------------------------------------------
@dataclass
class TrainedRun:
    trainer: object  # kmb.training.trainer.PretrainingTrainer
    training_loss: float
    profiler: object | None  # kmb.training.profiling.StepProfiler with --profile-steps


def run_callbacks(cfg: PretrainConfig, inputs: RunInputs, args, callbacks) -> tuple[list, object, object]:
    """-> (the Trainer's extra callbacks, the StepProfiler or None, the TensorBoardCallback or None)."""
    extra_callbacks = list(callbacks or [])
    profiler = tensorboard = None
    if cfg.profile_steps > 0:
        from kmb.training.profiling import StepProfiler

        profiler = StepProfiler(inputs.run_dir / "profile", cfg.profile_steps, rank=args.process_index)
        extra_callbacks.append(profiler)
    if cfg.report_to == "tensorboard":
        from transformers.integrations import TensorBoardCallback

        tensorboard = TensorBoardCallback()
        tensorboard.logging_dir = str(inputs.run_dir / "runs")  # not under checkpoints/, which a fresh run clears
        extra_callbacks.append(tensorboard)
    return extra_callbacks, profiler, tensorboard


def train(cfg: PretrainConfig, inputs: RunInputs, args, data: TrainingData, model, callbacks) -> TrainedRun:
    """Step 5: score the start model (phase "base"), train, and score the last step if not yet done."""
    from kmb.training.metrics import truncate_metrics
    from kmb.training.trainer import EvaluateAtEpochEnd, PretrainingTrainer

    extra_callbacks, profiler, tensorboard = run_callbacks(cfg, inputs, args, callbacks)
    trainer = PretrainingTrainer(
        model=model, args=args, train_dataset=data.train_set, eval_dataset=data.valid_set,
        data_collator=data.collator, processing_class=inputs.tokenizer,
        callbacks=[EvaluateAtEpochEnd(), *extra_callbacks], lengths=data.train_set.lengths,
        global_batch=cfg.batch_size, kmb_config=cfg, metrics_path=inputs.metrics_path, eval_collator=data.collator,
    )
    if inputs.resume_from is None:
        base_metrics = trainer.evaluate(phase="base")
        if tensorboard is not None:  # the start model's scores as the curves' step 0
            tensorboard.on_log(args, trainer.state, trainer.control, logs=dict(base_metrics))
    elif args.process_index == 0 and inputs.metrics_path.is_file():
        truncate_metrics(inputs.metrics_path, int(Path(inputs.resume_from).name.rsplit("-", 1)[-1]))
    output = trainer.train(resume_from_checkpoint=inputs.resume_from)
    if trainer.kmb_last_eval_step != trainer.state.global_step:
        trainer.evaluate()
    trainer.accelerator.wait_for_everyone()
    return TrainedRun(trainer=trainer, training_loss=float(output.training_loss), profiler=profiler)


# --- 6. output -----------------------------------------------------------------------------------
def run_summary(cfg: PretrainConfig, inputs: RunInputs, data: TrainingData, run: TrainedRun, heads: str,
                started: float) -> dict:
    """The summary the CLI prints (and the model card repeats): start, tokenizer, recipe, metrics."""
    from kmb.training.metrics import read_metrics

    differs = differs_from_paper(cfg)
    summary = {
        "model": str(inputs.workspace.model(cfg.output)),
        "start": str(inputs.base_dir) if inputs.base_dir else f"--config {cfg.config}",
        "heads": heads,
        "family": inputs.family,
        "objective": inputs.objective + (" (auto)" if cfg.objective == "auto" else ""),
        "masking": masking_scheme(cfg),
        "tokenizer": str(inputs.tokenizer_dir),
        "tokenizer from": inputs.tokenizer_source,
        "vocab size": len(inputs.tokenizer),
        "vocab growth": vocab_growth(cfg, inputs),
        "recipe": cfg.recipe,
        "differs from the paper": "; ".join(f"{k} {v}" for k, v in differs.items()) or "nothing",
        f"train {data.unit}": data.n_train(),
        f"valid {data.unit}": len(data.valid_set),
        "steps": run.trainer.state.global_step,
        "train loss": round(run.training_loss, 4),
        "precision": inputs.precision,
        "processes": inputs.world,
        "seconds": round(time.time() - started, 1),
    }
    summary.update({f"throughput {k}" if k in ("tokens/s", "padding") else k: v
                    for k, v in run.trainer.kmb_meter.result.items()})
    if run.profiler is not None:
        summary.update(run.profiler.result)
    records = read_metrics(inputs.metrics_path)
    base = next((r for r in records if r["phase"] == "base"), None)
    final = records[-1] if records else None
    for key in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss"):
        if final is not None and key in final:  # MLM alone: no NSP numbers
            summary[key.replace("_", " ")] = (f"{base[key]:.4f} -> {final[key]:.4f}" if base else f"{final[key]:.4f}")
    return summary


def masking_scheme(cfg: PretrainConfig) -> str:
    """How targets are chosen: tokens or whole words (eojeol), masks fixed or fresh each epoch."""
    unit = "whole-word (every piece of a chosen eojeol)" if cfg.whole_word_masking else "token"
    return f"{unit}, {cfg.mlm_probability:.0%}, {'static' if cfg.static_masking else 'dynamic'}"


def vocab_growth(cfg: PretrainConfig, inputs: RunInputs) -> str:
    """The embeddings' growth for an extended vocab, or "none"."""
    if inputs.base_tokenizer is None:
        return "none"
    added = len(inputs.tokenizer) - inputs.base_vocab_size
    return f"+{added} tokens ({inputs.base_vocab_size} -> {len(inputs.tokenizer)}, init {cfg.init})"


def save_model_dir(cfg: PretrainConfig, inputs: RunInputs, data: TrainingData, run: TrainedRun,
                   summary: dict) -> dict | None:
    """Step 6: models/<name>/ written atomically by the main process: weights, tokenizer, metrics,
    curves and the model card. Returns the summary with the curves' path."""
    from kmb.training.metrics import plot_metrics, read_metrics
    from kmb.training.model_card import write_model_card

    trainer = run.trainer
    if trainer.is_world_process_zero():
        records = read_metrics(inputs.metrics_path)
        curves = plot_metrics(records, inputs.run_dir / "curves.png", title=f"kmb pretrain {cfg.output}")
        with atomic_dir(inputs.workspace.model(cfg.output)) as tmp:
            trainer.save_model(str(tmp))
            _copy_tokenizer(inputs.tokenizer, inputs.tokenizer_dir, tmp)
            if inputs.objective == "mlm+nsp":  # the MLM-only classes save as the plain class themselves
                _mark_plain_bert(tmp / "config.json")
            shutil.copy2(inputs.metrics_path, tmp / "metrics.jsonl")
            shutil.copy2(curves, tmp / "curves.png")
            (tmp / "training_args.bin").unlink(missing_ok=True)
            write_model_card(tmp / "README.md", name=cfg.output, config=cfg, shard_manifest=data.shard_set.manifest,
                             records=records, summary=summary, model_config=trainer.model.config,
                             differs_from_paper=differs_from_paper(cfg),
                             architectures=json.loads((tmp / "config.json").read_text())["architectures"])
        inputs.workspace.refresh_views()
        summary["curves"] = str(inputs.run_dir / "curves.png")
    trainer.accelerator.wait_for_everyone()
    return summary if trainer.is_world_process_zero() else None


NOT_TOKENIZER_FILES = {"config.json", "README.md", "metrics.jsonl", "curves.png", "training_args.bin",
                       "generation_config.json"}


def _copy_tokenizer(tokenizer, tokenizer_dir: Path, out_dir: Path) -> None:
    """Copy the tokenizer directory's files as they are (vocab.txt, a bidirectional config, ...),
    so the model directory tokenizes exactly as training did; save it when nothing was copied."""
    copied = False
    for path in Path(tokenizer_dir).iterdir():
        if path.is_file() and path.name not in NOT_TOKENIZER_FILES and path.suffix not in (".safetensors", ".bin", ".h5"):
            shutil.copy2(path, out_dir / path.name)
            copied = copied or path.name in ("tokenizer.json", "vocab.txt")
    if not copied:
        tokenizer.save_pretrained(str(out_dir))


def _mark_plain_bert(config_path: Path) -> None:
    """Our subclass saves its own class name; the weights are BertForPreTraining's."""
    from kmb.training.model import SAVED_ARCHITECTURE

    config = json.loads(config_path.read_text())
    config["architectures"] = [SAVED_ARCHITECTURE]
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
