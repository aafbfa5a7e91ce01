"""Step 1 of `kmb pretrain`: every input resolved and checked before anything is written.

The options (kmb.training.config), the corpus, the base model (local or from the hub) and its heads,
which choose the objective (kmb.training.objectives), the tokenizer and the vocab sizes, the
precision, and the checkpoint to resume. The result, `RunInputs`, is all the later steps read.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from kmb.errors import KmbError
from kmb.training.config import DEFAULT_BASE_MODEL, WORKSPACE_TOKENIZER, PretrainConfig, apply_recipe, check_options
from kmb.training.objectives import base_heads, choose_objective, max_positions
from kmb.workspace import Workspace


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
    resume_from: str | None  # the checkpoint --resume continues from
    resume_step: int | None  # the optimizer steps it has done
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


def check_inputs(cfg: PretrainConfig) -> RunInputs:
    """Step 1: options, numbers, corpus, base model and its heads (the objective), tokenizer, vocab
    sizes, the checkpoint to resume."""
    from kmb.vocab.tokenizers import load_tokenizer

    cfg = apply_recipe(cfg)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    check_options(cfg, world)
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
    resume_from, resume_step = checkpoint_to_resume(run_dir, cfg.resume)
    return RunInputs(
        config=cfg,
        workspace=ws,
        sentence_files=files,
        base_dir=base_dir,
        base_config=base_config,
        base_vocab_size=base_vocab_size,
        objective=objective,
        tokenizer_dir=tokenizer_dir,
        tokenizer_source=tokenizer_source,
        tokenizer=tokenizer,
        base_tokenizer=base_tokenizer,
        run_dir=run_dir,
        resume_from=resume_from,
        resume_step=resume_step,
        world=world,
        precision=precision,
    )


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


def checkpoint_to_resume(run_dir: Path, resume: bool) -> tuple[str | None, int | None]:
    """-> (the newest readable checkpoint, its step), or (None, None) without --resume. A newer
    damaged checkpoint is skipped with one warning line (kmb.training.checkpoints)."""
    from kmb.training.checkpoints import resume_checkpoint

    if not resume:
        return None, None
    checkpoint, skipped = resume_checkpoint(run_dir / "checkpoints")
    if skipped and int(os.environ.get("RANK", "0")) == 0:
        print(
            f"kmb: warning: --resume: skipped {'; '.join(skipped)}; resuming from {checkpoint.path.name}",
            file=sys.stderr,
        )
    return str(checkpoint.path), checkpoint.step


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
        raise KmbError(
            f"cannot get base model {ref!r} from the Hugging Face hub{hint}: "
            f"{type(exc).__name__}; pass a local directory or go online"
        ) from exc
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
            raise KmbError(
                "the base model has no tokenizer (no tokenizer.json or vocab.txt): pass --tokenizer DIR, "
                "or --tokenizer workspace for the workspace's vocab",
                path=base_dir,
            )
        return base_dir, "base model"
    vocab_root = ws.root / "vocab"
    # A hidden folder is a vocab being written (or left by a kill): never a candidate.
    built = (
        [d for d in vocab_root.iterdir() if d.is_dir() and not d.name.startswith(".") and _has_tokenizer(d)]
        if vocab_root.is_dir()
        else []
    )
    if not built:
        raise KmbError(
            "no tokenizer in the workspace: build one with `kmb vocab build` or pass --tokenizer DIR", path=vocab_root
        )
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
        raise KmbError(
            f"the base model is a {config.model_type!r} model, which has no masked-LM class in "
            "transformers; kmb pretrain continues masked-LM encoders (BERT, RoBERTa, XLM-R, ModernBERT, ...)",
            path=base_dir / "config.json",
        )
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
        raise KmbError(
            f"the tokenizer has {n_tok} tokens but the model has {model_vocab} token embeddings: "
            "use the model's own tokenizer or a vocab that extends it",
            path=tokenizer_dir,
        )
    top_id = max(tokenizer.get_vocab().values())
    if own and top_id >= model_vocab:
        raise KmbError(
            f"the tokenizer has token ids up to {top_id} but the model only {model_vocab} token embeddings",
            path=tokenizer_dir,
        )
    if base_dir is None or own:
        return None
    if not _has_tokenizer(base_dir):
        if n_tok > model_vocab:
            raise KmbError(
                f"the tokenizer has {n_tok} tokens, more than the model's {model_vocab}, and the base "
                "model has no tokenizer to extend from",
                path=tokenizer_dir,
            )
        return None
    base_tokenizer = load_tokenizer(base_dir)
    if len(base_tokenizer) != model_vocab:
        raise KmbError(
            f"the base model's tokenizer has {len(base_tokenizer)} tokens but its embeddings {model_vocab}",
            path=base_dir,
        )
    if n_tok == model_vocab:
        if tokenizer.get_vocab() != base_tokenizer.get_vocab():
            raise KmbError("the tokenizer has as many tokens as the model but not the same ones", path=tokenizer_dir)
        return None
    # An extension keeps every base token at its id (kmb.vocab.extend checks it again when it grows
    # the embeddings, but that is after the shards are built).
    vocab = tokenizer.get_vocab()
    moved = sorted(idx for token, idx in base_tokenizer.get_vocab().items() if vocab.get(token) != idx)
    if moved:
        raise KmbError(
            f"the tokenizer does not keep the base vocab at the same ids (first difference at id {moved[0]}): "
            "build it with `kmb vocab build --base-vocab` from this model's vocab",
            path=tokenizer_dir,
        )
    return base_tokenizer


def choose_precision(name: str) -> str:
    """--precision (checked in kmb.training.config) -> the precision used: auto picks for this machine."""
    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:  # CPUs with AVX512-BF16 / AMX run bf16 matmuls natively
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    except (AttributeError, RuntimeError):
        return "fp32"
