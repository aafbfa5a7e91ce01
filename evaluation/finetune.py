"""The fine-tuning loop shared by NER, STS and classification: grid, dev split rule, padding per batch.

A thin PyTorch loop rather than the HF ``Trainer``: each of the (up to) 45 runs of a grid starts
from an in-memory copy of the same loaded model and reuses the same tokenized examples, batches are
padded to their own longest example (never to 128), evaluation sorts by length so batches hold
similar lengths, and on a GPU the forward pass runs under bf16 autocast. The optimiser and schedule
are the usual BERT fine-tuning ones (AdamW, linear decay with 10% warm-up, from transformers).

The hyper-parameters are chosen on a dev split cut from the training data, never on the test set:
for each setting of the grid a model is trained on train-minus-dev and scored on dev; the test
predictions reported are those of the setting with the best dev score.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from kmb.errors import KmbError
from kmb.evaluation.options import FinetuneConfig
from kmb.training.masking import IGNORE_INDEX


@dataclass
class Example:
    """One tokenized model input. ``label`` is a list (token labels) or a number (sequence label)."""

    input_ids: list[int]
    label: list[int] | float | int
    token_type_ids: list[int] | None = None


def collate(batch: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest example."""
    width = max(len(e.input_ids) for e in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    token_type = torch.zeros((len(batch), width), dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    token_labels = isinstance(batch[0].label, list)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long) if token_labels else None
    for row, example in enumerate(batch):
        n = len(example.input_ids)
        input_ids[row, :n] = torch.tensor(example.input_ids)
        attention[row, :n] = 1
        if example.token_type_ids is not None:
            token_type[row, :n] = torch.tensor(example.token_type_ids)
        if token_labels:
            labels[row, :n] = torch.tensor(example.label)
    if not token_labels:
        dtype = torch.float if isinstance(batch[0].label, float) else torch.long
        labels = torch.tensor([e.label for e in batch], dtype=dtype)
    return {"input_ids": input_ids, "token_type_ids": token_type, "attention_mask": attention, "labels": labels}


def uses_token_types(model) -> bool:
    """Whether the model reads segment ids: BERT does; RoBERTa (one segment) and ModernBERT do not."""
    import inspect

    takes_them = "token_type_ids" in inspect.signature(model.forward).parameters
    return takes_them and getattr(model.config, "type_vocab_size", 0) > 1


def model_batch(model, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """The batch on ``device``, without ``token_type_ids`` for a model that has none."""
    if not uses_token_types(model):
        batch = {k: v for k, v in batch.items() if k != "token_type_ids"}
    return {k: v.to(device) for k, v in batch.items()}


def _autocast(device: torch.device):
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def train(
    model, examples: Sequence[Example], *, lr: float, epochs: int, config: FinetuneConfig, pad_id: int, seed: int
):
    """Fine-tune ``model`` in place on ``examples``; returns it (in eval mode)."""
    from transformers import get_linear_schedule_with_warmup

    if not examples:
        raise KmbError("no training examples (the training fold is empty)")
    device = config.torch_device()
    torch.manual_seed(seed)
    shuffler = random.Random(seed)
    model.to(device).train()
    no_decay = ("bias", "LayerNorm.weight", "layernorm", "layer_norm")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr)
    steps_per_epoch = (len(examples) + config.batch_size - 1) // config.batch_size
    total = steps_per_epoch * epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * config.warmup_ratio), total)
    order = list(range(len(examples)))
    for _ in range(epochs):
        shuffler.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            batch = model_batch(
                model, collate([examples[i] for i in order[start : start + config.batch_size]], pad_id), device
            )
            with _autocast(device):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
    model.eval()
    return model


@torch.no_grad()
def predict(
    model, examples: Sequence[Example], *, config: FinetuneConfig, pad_id: int, sort_by_length: bool = True
) -> list[np.ndarray]:
    """Logits per example (token tasks: ``[len, labels]``; sequence tasks: ``[labels]``), in input order.

    Examples are batched in order of length so each batch pads little; results are put back in
    the original order.
    """
    device = config.torch_device()
    model.to(device).eval()
    order = (
        sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
        if sort_by_length
        else list(range(len(examples)))
    )
    out: list[np.ndarray | None] = [None] * len(examples)
    for start in range(0, len(order), config.batch_size):
        index = order[start : start + config.batch_size]
        batch = collate([examples[i] for i in index], pad_id)
        batch.pop("labels")
        batch = model_batch(model, batch, device)
        with _autocast(device):
            logits = model(**batch).logits.float().cpu().numpy()
        for row, i in enumerate(index):
            out[i] = logits[row, : len(examples[i].input_ids)] if logits.ndim == 3 else logits[row]
    return out  # type: ignore[return-value]


@dataclass
class GridResult:
    lr: float
    epochs: int
    dev_score: float
    test_logits: list[np.ndarray]
    dev_scores: list[dict] = field(default_factory=list)  # every setting tried
    seconds: float = 0.0


def run_grid(
    base_model,
    examples: Mapping[str, Sequence[Example]],
    *,
    dev_score: Callable[[list[np.ndarray]], float],
    config: FinetuneConfig,
    pad_id: int,
    seed: int,
) -> GridResult:
    """Train one copy of ``base_model`` per grid setting on ``examples["train"]``, pick the best on
    ``examples["dev"]``, predict ``examples["test"]`` with it."""
    started = time.perf_counter()
    best: GridResult | None = None
    tried: list[dict] = []
    for lr, epochs in config.settings():
        model = copy.deepcopy(base_model)
        train(model, examples["train"], lr=lr, epochs=epochs, config=config, pad_id=pad_id, seed=seed)
        score = float(dev_score(predict(model, examples["dev"], config=config, pad_id=pad_id)))
        tried.append({"lr": lr, "epochs": epochs, "dev_score": score})
        if best is None or score > best.dev_score:
            best = GridResult(lr, epochs, score, predict(model, examples["test"], config=config, pad_id=pad_id))
        del model
    assert best is not None
    best.dev_scores = tried
    best.seconds = time.perf_counter() - started
    return best


def cut_dev(
    items: Sequence, fraction: float, seed: int, what: str = "training examples", path=None
) -> tuple[list, list]:
    """(train, dev): a seeded shuffle, then ``fraction`` of the items (at least one) cut off as dev.

    The dev split rule of STS and classification (NER cuts by document, ``ner_data.split_dev``);
    fewer than two items leave nothing to train on, a KmbError.
    """
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(order) * fraction))
    if len(order) - n_dev < 1:
        raise KmbError(f"too few {what} to cut a dev split", path=path)
    return [items[i] for i in order[n_dev:]], [items[i] for i in order[:n_dev]]


def load_for_finetuning(model_dir, kind: str, num_labels: int, id2label: dict[int, str] | None = None):
    """Load a model directory (BERT, RoBERTa, ModernBERT, ...) with a fresh task head (``token`` or ``sequence``)."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    cls = AutoModelForTokenClassification if kind == "token" else AutoModelForSequenceClassification
    kwargs = {"num_labels": num_labels}
    if id2label:
        kwargs["id2label"] = id2label
        kwargs["label2id"] = {v: k for k, v in id2label.items()}
    if num_labels == 1:
        kwargs["problem_type"] = "regression"
    # "newly initialized head" is expected; a bar per grid run is noise
    return quiet_from_pretrained(cls, model_dir, **kwargs)[0]


def quiet_from_pretrained(cls, model_dir, **kwargs):
    """``cls.from_pretrained`` without transformers' warnings and bars: (model, loading info)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return cls.from_pretrained(str(model_dir), output_loading_info=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise KmbError(f"cannot load the model: {exc}", path=model_dir) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
