"""Step 4 of `kmb pretrain`: the model to train.

BertForPreTraining (MLM + NSP) or the family's masked-LM class, with the masked-only MLM head
(kmb.training.model), from the base model (its heads described) or from scratch (--config);
embeddings extended for an extended vocab; torch.compile on request.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from kmb.errors import KmbError
from kmb.training.config import MODEL_CONFIGS, PretrainConfig
from kmb.training.inputs import RunInputs

# Dropout settings of the families' configs (BERT/RoBERTa/XLM-R names, then ModernBERT's).
DROPOUT_KEYS = (
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "embedding_dropout",
    "attention_dropout",
    "mlp_dropout",
)
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
            str(base_dir), attn_implementation="sdpa", output_loading_info=True, **overrides
        )
    except Exception as exc:
        raise KmbError(f"cannot load the base model weights: {exc}", path=base_dir) from exc
    heads, fresh = describe_heads(info["missing_keys"])
    if fresh and int(os.environ.get("RANK", "0")) == 0:
        print(
            f"kmb: warning: {base_dir}: the {' and '.join(fresh)} head{'s' if len(fresh) > 1 else ''} "
            "start random (not in the checkpoint), so the start model's scores are no baseline",
            file=sys.stderr,
        )
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
        config = BertConfig(
            vocab_size=len(inputs.tokenizer),
            max_position_embeddings=max(512, cfg.max_length),
            **MODEL_CONFIGS[cfg.config],
            **overrides,
        )
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
