"""Which pretraining objective a run uses, read off the base model's checkpoint (`kmb pretrain --objective`).

- ``mlm+nsp``: BERT's two tasks (``BertForPreTraining``), on NSP pairs. Only the BERT family has
  a next-sentence-prediction head in transformers.
- ``mlm``: masked language modelling alone, on doc-sentences segments, for any
  ``AutoModelForMaskedLM`` family (RoBERTa, XLM-R and ModernBERT were pretrained this way).
- ``auto`` (the default): ``mlm+nsp`` for a BERT whose checkpoint has an NSP head, or no
  pretraining head at all (a bare ``BertModel``: BERT's own recipe, as before, both heads fresh);
  ``mlm`` for every other family and for a BERT saved with an MLM head alone (pretrained MLM-only).

The heads are read from the checkpoint's weight names (safetensors header or index, or a
memory-mapped ``pytorch_model.bin``), so nothing is loaded before the inputs are checked. A base
whose checkpoint has no MLM head (an ELECTRA discriminator, say) is refused for ``mlm``: its head
would start at random, and MLM would not continue anything the model learnt.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from kmb.errors import KmbError

NSP_FAMILIES = ("bert",)  # model types with a ForPreTraining class that has an NSP head
NSP_HEAD_KEY = "cls.seq_relationship.weight"
# Families whose position ids start after the padding id (RoBERTa's convention): usable length
# is max_position_embeddings - pad_token_id - 1.
PADDING_OFFSET_FAMILIES = ("roberta", "xlm-roberta", "camembert", "roberta-prelayernorm", "xmod", "data2vec-text")


@dataclass(frozen=True)
class BaseHeads:
    """Which pretraining heads a base checkpoint has."""

    mlm: bool
    nsp: bool
    architectures: tuple[str, ...]


def checkpoint_keys(model_dir: Path) -> set[str]:
    """The weight names of a saved model directory, read without loading the weights."""
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (model_dir / index).is_file():
            return set(json.loads((model_dir / index).read_text())["weight_map"])
    try:
        if (model_dir / "model.safetensors").is_file():
            from safetensors import safe_open

            with safe_open(str(model_dir / "model.safetensors"), "pt") as weights:
                return set(weights.keys())
        if (model_dir / "pytorch_model.bin").is_file():
            weights = model_dir / "pytorch_model.bin"
            # torch's legacy (pre-zip) format cannot be memory-mapped; transformers reads it whole,
            # and so do we, onto the meta device (names and shapes, no tensor data kept).
            legacy = not zipfile.is_zipfile(weights)
            return set(torch.load(str(weights), map_location="meta", weights_only=True, mmap=not legacy))
    except Exception as exc:  # a truncated or foreign file: one line for the user
        raise KmbError(f"cannot read the model weights: {type(exc).__name__}: {exc}", path=model_dir) from exc
    raise KmbError("no model weights here (model.safetensors or pytorch_model.bin)", path=model_dir)


def mlm_head_keys(config) -> set[str]:
    """The weight names of the family's masked-LM head (outside the encoder), without the decoder
    weight that is tied to the input embeddings (checkpoints do not store it)."""
    from transformers import MODEL_FOR_MASKED_LM_MAPPING

    cls = MODEL_FOR_MASKED_LM_MAPPING[type(config)]
    with torch.device("meta"):
        model = cls._from_config(config)
    prefix = model.base_model_prefix + "."
    return {key for key in model.state_dict() if not key.startswith(prefix) and not key.endswith("decoder.weight")}


def base_heads(model_dir: Path, config) -> BaseHeads:
    keys = checkpoint_keys(model_dir)
    has_mlm = bool(mlm_head_keys(config) & keys)
    has_nsp = any(key.endswith(NSP_HEAD_KEY) for key in keys)
    return BaseHeads(mlm=has_mlm, nsp=has_nsp, architectures=tuple(config.architectures or ()))


def choose_objective(requested: str, config, heads: BaseHeads | None, path: Path | None = None) -> str:
    """-> "mlm" or "mlm+nsp" for --objective ``requested``; ``heads`` None means from scratch (a BERT)."""
    nsp_family = config.model_type in NSP_FAMILIES
    if requested == "mlm+nsp" and not nsp_family:
        raise KmbError(
            f"--objective mlm+nsp: a {config.model_type!r} model has no NSP head (only BERT's "
            "BertForPreTraining has one; this family was pretrained without next sentence prediction): "
            "use --objective mlm or auto",
            path=path,
        )
    if heads is None:
        return "mlm+nsp" if requested == "auto" else requested
    if requested == "auto":
        requested = "mlm+nsp" if nsp_family and (heads.nsp or not heads.mlm) else "mlm"
    if requested == "mlm" and not heads.mlm:
        named = f" ({', '.join(heads.architectures)})" if heads.architectures else ""
        raise KmbError(
            f"the base model{named} has no MLM head in its checkpoint, so MLM pretraining would start "
            "from a random head and continue nothing the model learnt (an ELECTRA discriminator predicts "
            "replaced tokens, not masked ones): start from a masked-LM checkpoint",
            path=path,
        )
    return requested


def max_positions(config) -> int:
    """The longest input the model's position embeddings allow."""
    if config.model_type in PADDING_OFFSET_FAMILIES:
        return config.max_position_embeddings - (config.pad_token_id or 0) - 1
    return config.max_position_embeddings
