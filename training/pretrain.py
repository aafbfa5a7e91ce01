"""`kmb pretrain`: continued MLM + NSP pretraining on the corpus, a thin layer over the HF Trainer.

    run_pretraining(PretrainConfig(...))
      1. check inputs first (corpus, split, base model, tokenizer, vocab sizes): nothing is written
         before they pass
      2. build the pair shards when missing or stale (kmb.training.shards)
      3. load BertForPreTraining (masked-only MLM head, SDPA) from --base-model or --config;
         extend the embeddings when the tokenizer's vocab extends the base model's
      4. score the start model on the validation pairs, then train with the Trainer (checkpoints,
         gradient accumulation, bf16/fp16 on GPU, --resume, torchrun), scoring every --eval-steps
         and at each epoch end
      5. write models/<name>/ atomically: safetensors, tokenizer, metrics, curves, model card

The Trainer gives one code path for CPU, one GPU and many GPUs or nodes (torchrun; gloo on CPU).
Our additions are small subclass hooks: a seeded length-grouped sampler, global loss
normalisation (`_get_num_items_in_batch`), and an `evaluate` that computes the paper's four numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import TrainerCallback

from kmb.errors import KmbError
from kmb.storage import atomic_dir
from kmb.workspace import check_run_name

DEFAULT_BASE_MODEL = "snunlp/KR-BERT-char16424"  # KR-BERT, the paper's starting point

# Model sizes for training from scratch (--config). "small" is the benchmark's model.
MODEL_CONFIGS: dict[str, dict] = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


@dataclass
class PretrainConfig:
    """Every option of `kmb pretrain`; defaults are the paper's where it gives one."""

    workspace: Path = Path("kmb-workspace")
    output: str = "km-bert"
    base_model: str | None = None  # local dir or hub id; None with config=None means KR-BERT
    config: str | None = None  # tiny | small | base: train from scratch
    tokenizer: Path | None = None  # default: newest workspace vocab, else the base model's
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 32  # global: per device x processes x grad_accum
    grad_accum: int = 1
    lr: float = 1e-6  # the paper's; continued pretraining usually uses ~2e-5 with warmup
    warmup: float = 0.0  # steps, or a fraction of all steps when < 1
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 42
    resume: bool = False
    eval_steps: int | None = None  # also evaluates at every epoch end
    save_steps: int = 500
    logging_steps: int = 10
    static_masking: bool = False
    mlm_probability: float = 0.15
    group_by_length: bool = True
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    init: str = "subword-mean"  # new-token embedding init for an extended vocab
    dropout: float | None = None  # override hidden and attention dropout (None: the model's own)
    max_eval_pairs: int | None = None  # score at most this many validation pairs (None: all)
    shard_pairs: int = 1_000_000
    workers: int | None = None  # data-loading processes; None: 0 on CPU, up to 4 on a GPU
    compile: bool = False  # torch.compile the model (dynamic shapes); see docs/pretrain.md first
    compile_mode: str = "default"  # torch.compile mode: default | reduce-overhead (CUDA graphs) | max-autotune
    profile_steps: int = 0  # profile this many steps after the warm-up (kmb.training.profiling); 0: off
    progress: bool = True
    extra: dict = field(default_factory=dict)  # extra TrainingArguments (tests, experts)


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


# --- sampling ----------------------------------------------------------------------------------
class LengthGroupedSampler(torch.utils.data.Sampler):
    """Shuffle pairs, then sort within mega-batches of 50 global batches by length, so each batch
    holds pairs of similar length and padding shrinks. Seeded by (seed, epoch); yields
    ``(epoch, index)`` so the dataset draws that epoch's masks. Batch boundaries are defined on
    the *global* batch, so 1 process x 32 and 2 processes x 16 see the same pairs per step."""

    def __init__(self, lengths: np.ndarray, global_batch: int, seed: int, group: bool = True):
        self.lengths = lengths
        self.global_batch = global_batch
        self.seed = seed
        self.group = group
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        if self.group:
            mega = self.global_batch * 50
            for start in range(0, len(order), mega):
                block = order[start:start + mega]
                # stable sort, longest first: the first batch is the largest, so memory fails early
                order[start:start + mega] = block[np.argsort(-self.lengths[block], kind="stable")]
            # Shuffle whole global batches so long and short ones alternate over the epoch.
            n_full = len(order) // self.global_batch
            batches = order[: n_full * self.global_batch].reshape(n_full, self.global_batch)
            batches = batches[rng.permutation(n_full)]
            order = np.concatenate([batches.reshape(-1), order[n_full * self.global_batch:]])
        for start in range(0, len(order), 65_536):  # no Python list of the whole epoch
            for index in order[start:start + 65_536].tolist():
                yield (self.epoch, index)


# --- the Trainer with our hooks -------------------------------------------------------------------
def _make_trainer_class():
    from transformers import Trainer

    from kmb.training.throughput import ThroughputMeter

    class PretrainingTrainer(Trainer):
        def __init__(self, *args, lengths, global_batch, kmb_config: PretrainConfig, metrics_path: Path,
                     eval_collator, **kwargs):
            super().__init__(*args, **kwargs)
            self.kmb_lengths = lengths
            self.kmb_global_batch = global_batch
            self.kmb_config = kmb_config
            self.kmb_metrics_path = metrics_path
            self.kmb_eval_collator = eval_collator
            self.kmb_last_eval_step = -1
            self.kmb_last_metrics = {}
            # Throughput is measured after any profiled steps (profiling slows them down).
            self.kmb_meter = ThroughputMeter(self, warmup_steps=ThroughputMeter.WARMUP_STEPS + kmb_config.profile_steps)
            self.add_callback(self.kmb_meter)

        def _get_train_sampler(self, train_dataset=None):
            return LengthGroupedSampler(self.kmb_lengths, self.kmb_global_batch, self.kmb_config.seed,
                                        group=self.kmb_config.group_by_length)

        def _get_num_items_in_batch(self, batch_samples, device):
            # Global counts of masked tokens and of pairs over all micro-batches and processes:
            # the model divides its summed losses by them (see kmb.training.model). Counted where
            # the batches are (the GPU), so the step never waits for the device here.
            counts = torch.zeros(2, dtype=torch.long, device=device)
            for batch in batch_samples:
                counts[0] += batch["labels"].ne(-100).sum().to(device)
                counts[1] += batch["next_sentence_label"].numel()
                self.kmb_meter.count(batch, self.model.config)
            if self.args.world_size > 1:
                counts = self.accelerator.gather(counts).view(-1, 2).sum(0)
            return counts

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval", phase="train"):
            with self.kmb_meter.paused():
                return self._kmb_evaluate(eval_dataset, metric_key_prefix, phase)

        def _kmb_evaluate(self, eval_dataset, metric_key_prefix, phase):
            from kmb.training.metrics import append_metrics, validation_metrics

            step = self.state.global_step
            if phase == "train" and step == self.kmb_last_eval_step:
                return self.kmb_last_metrics  # e.g. max_steps reached on an eval step, then epoch end
            dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
            model = self.accelerator.unwrap_model(self.model)
            metrics = validation_metrics(
                model, dataset, self.kmb_eval_collator, batch_size=self.args.per_device_eval_batch_size,
                device=self.args.device, rank=self.args.process_index, world_size=self.args.world_size,
                reduce=(lambda t: self.accelerator.reduce(t, "sum")) if self.args.world_size > 1 else None,
                autocast=self.accelerator.autocast,
            )
            self.kmb_last_eval_step = step
            record = {"phase": phase, "step": step, "epoch": round(self.state.epoch or 0.0, 4), **metrics}
            if self.is_world_process_zero():
                append_metrics(self.kmb_metrics_path, record)
            logged = {f"{metric_key_prefix}_{k}": round(v, 4) for k, v in metrics.items()}
            self.kmb_last_metrics = logged
            if phase == "train":
                self.log(logged)
                self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, logged)
            return logged

    return PretrainingTrainer


class EvaluateAtEpochEnd(TrainerCallback):
    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_evaluate = True
        return control


# --- inputs ------------------------------------------------------------------------------------
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


def resolve_tokenizer_dir(ws, cfg: PretrainConfig, base_dir: Path | None) -> Path:
    if cfg.tokenizer is not None:
        return Path(cfg.tokenizer)
    vocab_root = ws.root / "vocab"
    built = [d for d in vocab_root.iterdir() if d.is_dir() and _has_tokenizer(d)] if vocab_root.is_dir() else []
    if built:
        return max(built, key=lambda d: d.stat().st_mtime)
    if base_dir is not None and _has_tokenizer(base_dir):
        return base_dir
    raise KmbError("no tokenizer: pass --tokenizer DIR or build one with `kmb vocab build`", path=vocab_root)


def load_base_config(base_dir: Path):
    from transformers import AutoConfig

    if not (base_dir / "config.json").is_file():
        raise KmbError("not a model directory (no config.json)", path=base_dir)
    try:
        config = AutoConfig.from_pretrained(str(base_dir))
    except Exception as exc:
        raise KmbError(f"cannot read the model config: {exc}", path=base_dir / "config.json") from exc
    if config.model_type != "bert":
        raise KmbError(f"the base model is a {config.model_type!r} model; kmb pretrain continues BERT models only",
                       path=base_dir / "config.json")
    return config


def check_vocab(tokenizer, tokenizer_dir: Path, model_vocab: int, base_dir: Path | None):
    """-> the base tokenizer when the embeddings must be extended, else None; KmbError on a mismatch."""
    from kmb.vocab.tokenizers import load_tokenizer

    n_tok = len(tokenizer)
    for name in ("cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id"):
        if getattr(tokenizer, name, None) is None:
            raise KmbError(f"the tokenizer has no {name.removesuffix('_id')}", path=tokenizer_dir)
    if n_tok < model_vocab:
        raise KmbError(f"the tokenizer has {n_tok} tokens but the model has {model_vocab} token embeddings: "
                       "use the model's own tokenizer or a vocab that extends it", path=tokenizer_dir)
    if base_dir is None or Path(tokenizer_dir).resolve() == base_dir.resolve():
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


def build_model(cfg: PretrainConfig, base_dir: Path | None, vocab_size: int, max_length: int):
    from transformers import BertConfig

    from kmb.training.model import MaskedOnlyBertForPreTraining

    overrides = {}
    if cfg.dropout is not None:
        overrides = {"hidden_dropout_prob": cfg.dropout, "attention_probs_dropout_prob": cfg.dropout}
    if base_dir is not None:
        try:
            return MaskedOnlyBertForPreTraining.from_pretrained(str(base_dir), attn_implementation="sdpa", **overrides)
        except Exception as exc:
            raise KmbError(f"cannot load the base model weights: {exc}", path=base_dir) from exc
    torch.manual_seed(cfg.seed)
    config = BertConfig(vocab_size=vocab_size, max_position_embeddings=max(512, max_length),
                        **MODEL_CONFIGS[cfg.config], **overrides)
    return MaskedOnlyBertForPreTraining._from_config(config, attn_implementation="sdpa")


# --- the run -----------------------------------------------------------------------------------
def run_pretraining(cfg: PretrainConfig, callbacks: list | None = None) -> dict:
    """Prepare shards, train, and save models/<output>/. Returns the summary shown by the CLI."""
    from transformers import TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from kmb.workspace import Workspace
    from kmb.training import metrics as metrics_mod
    from kmb.training.model_card import write_model_card
    from kmb.training.shards import VALID_MASK_EPOCH, PairShardDataset, build_shards
    from kmb.vocab.tokenizers import load_tokenizer

    started = time.time()
    # 1. inputs, all checked before anything is written
    if cfg.config is not None and cfg.base_model is not None:
        raise KmbError("give either --base-model or --config, not both")
    if cfg.config is not None and cfg.config not in MODEL_CONFIGS:
        raise KmbError(f"unknown --config {cfg.config!r}: choose {', '.join(MODEL_CONFIGS)}")
    if not 8 <= cfg.max_length <= 512:
        raise KmbError(f"--max-length must be between 8 and 512, not {cfg.max_length}")
    if cfg.compile_mode not in COMPILE_MODES:
        raise KmbError(f"unknown --compile-mode {cfg.compile_mode!r}: choose {', '.join(COMPILE_MODES)}")
    if cfg.profile_steps < 0:
        raise KmbError(f"--profile-steps must be 0 (off) or more, not {cfg.profile_steps}")
    check_run_name(cfg.output, "--output")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if cfg.batch_size % (world * cfg.grad_accum) != 0:
        raise KmbError(f"--batch-size {cfg.batch_size} is not divisible by processes ({world}) x --grad-accum "
                       f"({cfg.grad_accum})")
    precision = choose_precision(cfg.precision)
    ws = Workspace.open(cfg.workspace)
    files = ws.sentence_files()
    base_dir = None
    if cfg.config is None:
        base_dir = resolve_base_model(cfg.base_model or DEFAULT_BASE_MODEL)
        base_config = load_base_config(base_dir)
        if cfg.max_length > base_config.max_position_embeddings:
            raise KmbError(f"--max-length {cfg.max_length} exceeds the model's {base_config.max_position_embeddings} positions")
    tokenizer_dir = resolve_tokenizer_dir(ws, cfg, base_dir)
    tokenizer = load_tokenizer(tokenizer_dir)
    base_tokenizer = None
    if base_dir is not None:
        base_tokenizer = check_vocab(tokenizer, tokenizer_dir, base_config.vocab_size, base_dir)
    run_dir = ws.pretrain(cfg.output)
    ckpt_dir = run_dir / "checkpoints"
    metrics_path = run_dir / "metrics.jsonl"
    resume_from = None
    if cfg.resume:
        resume_from = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
        if resume_from is None:
            raise KmbError("--resume: no checkpoint to resume from", path=ckpt_dir)

    per_device = cfg.batch_size // (world * cfg.grad_accum)
    on_gpu = torch.cuda.is_available()
    if on_gpu and "PYTORCH_CUDA_ALLOC_CONF" not in os.environ:
        # Length-grouped batches change shape every step; with fixed-size segments the CUDA
        # allocator can end up freeing and re-allocating memory per batch (NVIDIA NeMo measured
        # ~30% overhead from this, PR #9061). Expandable segments grow instead. A user's own
        # PYTORCH_CUDA_ALLOC_CONF wins.
        set_allocator = getattr(torch._C, "_accelerator_setAllocatorSettings", None)  # torch >= 2.9
        (set_allocator or torch.cuda.memory._set_allocator_settings)("expandable_segments:True")
    # Masking and padding run in the data loader's collator: on a GPU it must not starve the
    # device, so it moves to worker processes there. On CPU they would compete with training.
    workers = cfg.workers if cfg.workers is not None else (min(4, os.cpu_count() or 1) if on_gpu else 0)
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=max(per_device, 64),
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps and cfg.max_steps > 0 else -1,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if cfg.eval_steps else "epoch",
        eval_steps=cfg.eval_steps,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not on_gpu,
        ddp_backend="gloo" if (world > 1 and not on_gpu) else None,
        ddp_find_unused_parameters=False,  # every parameter takes part (the NSP head too)
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
        label_names=["labels", "next_sentence_label"],
        **cfg.extra,
    )

    # 2. shards: the main process builds them, the others wait and then read the same files
    with args.main_process_first(desc="pair shards", local=False):
        shard_set = build_shards(run_dir / "shards", files, tokenizer, tokenizer_dir, max_length=cfg.max_length,
                                 seed=cfg.seed, shard_pairs=cfg.shard_pairs)
        if args.process_index == 0 and not cfg.resume:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
            shutil.rmtree(run_dir / "profile", ignore_errors=True)
            metrics_path.unlink(missing_ok=True)

    # 3. model
    set_seed(cfg.seed)
    model = build_model(cfg, base_dir, len(tokenizer), cfg.max_length)
    if base_tokenizer is not None:
        from kmb.vocab.extend import extend_embeddings

        extend_embeddings(model, base_tokenizer, tokenizer, init=cfg.init, seed=cfg.seed)
    vocab_size = model.config.vocab_size
    if cfg.compile or cfg.compile_mode != "default":
        # The whole forward (encoder, masked-only head, losses) is one graph: the collator's
        # fixed-size index list leaves no data-dependent shape. In place, so state-dict keys and
        # saving are unchanged; dynamic shapes, since length-grouped batches vary in length
        # (with reduce-overhead, CUDA graphs are still recorded once per distinct batch shape).
        model.compile(dynamic=True, mode=cfg.compile_mode)

    special_ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    train_set = PairShardDataset(shard_set.files("train"), seed=cfg.seed, mask_token_id=tokenizer.mask_token_id,
                                 vocab_size=vocab_size, special_ids=special_ids, static_masking=cfg.static_masking,
                                 mlm_probability=cfg.mlm_probability)
    valid_set = PairShardDataset(shard_set.files("valid"), seed=cfg.seed, mask_token_id=tokenizer.mask_token_id,
                                 vocab_size=vocab_size, special_ids=special_ids, fixed_epoch=VALID_MASK_EPOCH,
                                 mlm_probability=cfg.mlm_probability, limit=cfg.max_eval_pairs)
    # Pads and masks whole batches (in the data-loader workers on a GPU); valid pairs keep their
    # fixed masks through their dataset's fixed epoch.
    collator = train_set.collator(tokenizer.pad_token_id, pad_to_multiple_of=8 if on_gpu else None)

    # 4. train
    extra_callbacks = list(callbacks or [])
    profiler = None
    if cfg.profile_steps > 0:
        from kmb.training.profiling import StepProfiler

        profiler = StepProfiler(run_dir / "profile", cfg.profile_steps, rank=args.process_index)
        extra_callbacks.append(profiler)
    Trainer = _make_trainer_class()
    trainer = Trainer(
        model=model, args=args, train_dataset=train_set, eval_dataset=valid_set, data_collator=collator,
        processing_class=tokenizer, callbacks=[EvaluateAtEpochEnd(), *extra_callbacks],
        lengths=train_set.lengths, global_batch=cfg.batch_size, kmb_config=cfg, metrics_path=metrics_path,
        eval_collator=collator,
    )
    if resume_from is None:
        trainer.evaluate(phase="base")
    elif args.process_index == 0 and metrics_path.is_file():
        metrics_mod.truncate_metrics(metrics_path, int(Path(resume_from).name.rsplit("-", 1)[-1]))
    train_output = trainer.train(resume_from_checkpoint=resume_from)
    if trainer.kmb_last_eval_step != trainer.state.global_step:
        trainer.evaluate()
    trainer.accelerator.wait_for_everyone()

    # 5. output, written by the main process only
    records = metrics_mod.read_metrics(metrics_path)
    out_dir = ws.model(cfg.output)
    summary = {
        "model": str(out_dir),
        "start": str(base_dir) if base_dir else f"--config {cfg.config}",
        "tokenizer": str(tokenizer_dir),
        "train pairs": shard_set.n_pairs("train"),
        "valid pairs": len(valid_set),
        "steps": trainer.state.global_step,
        "train loss": round(float(train_output.training_loss), 4),
        "precision": precision,
        "processes": world,
        "seconds": round(time.time() - started, 1),
    }
    summary.update({f"throughput {k}" if k in ("tokens/s", "padding") else k: v
                    for k, v in trainer.kmb_meter.result.items()})
    if profiler is not None:
        summary.update(profiler.result)
    base = next((r for r in records if r["phase"] == "base"), None)
    final = records[-1] if records else None
    for key in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss"):
        if final is not None:
            summary[key.replace("_", " ")] = (f"{base[key]:.4f} -> {final[key]:.4f}" if base else f"{final[key]:.4f}")
    if trainer.is_world_process_zero():
        curves = metrics_mod.plot_metrics(records, run_dir / "curves.png", title=f"kmb pretrain {cfg.output}")
        with atomic_dir(out_dir) as tmp:
            trainer.save_model(str(tmp))
            _copy_tokenizer(tokenizer, tokenizer_dir, tmp)
            _mark_plain_bert(tmp / "config.json")
            shutil.copy2(metrics_path, tmp / "metrics.jsonl")
            shutil.copy2(curves, tmp / "curves.png")
            (tmp / "training_args.bin").unlink(missing_ok=True)
            write_model_card(tmp / "README.md", name=cfg.output, config=cfg, shard_manifest=shard_set.manifest,
                             records=records, summary=summary, model_config=model.config)
        ws.refresh_views()
        summary["curves"] = str(run_dir / "curves.png")
    trainer.accelerator.wait_for_everyone()
    return summary


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
