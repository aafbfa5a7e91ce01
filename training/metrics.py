"""Validation metrics of pretraining (the paper's Fig. 2) and their file and plot.

Four numbers on the validation pairs, with fixed masks so evaluations compare: MLM accuracy (argmax
at masked positions), NSP accuracy, MLM loss (mean over masked tokens), NSP loss (mean over
pairs). With MLM alone (validation segments, no NSP labels) the two MLM numbers. Under several processes each one scores a strided part of the pairs and the sums are
all-reduced. The metrics file is JSON Lines, one object per evaluation; the first one is the
untouched start model (``phase: base``), drawn as dashed lines on the four-panel plot.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

from kmb.storage import atomic_path, fsync_open_file, write_text_atomic

METRIC_KEYS = ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss")


@torch.no_grad()
def validation_metrics(
    model, dataset, collator, *, batch_size: int, device, rank: int = 0, world_size: int = 1, reduce=None, autocast=None
) -> dict:
    """The validation numbers of ``model`` on ``dataset`` (this process scores indices rank::world):
    MLM and NSP accuracy and loss, or the MLM two when the batches carry no NSP labels."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(6, dtype=torch.float64, device=device)  # mlm loss, correct, count, nsp loss, correct, count
    indices = list(range(rank, len(dataset), world_size))
    for start in range(0, len(indices), batch_size):
        batch = collator([dataset[i] for i in indices[start : start + batch_size]])
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast() if autocast is not None else contextlib.nullcontext():
            out = model(**batch)
        n_masked = out.mlm_count.to(device)
        sums[:3] += torch.stack(
            [out.mlm_loss.double() * n_masked, out.mlm_correct.double().to(device), n_masked.double()]
        )
        nsp_labels = batch.get("next_sentence_label")
        if nsp_labels is not None:
            nsp_logits = out.seq_relationship_logits.float()
            sums[3:] += torch.stack(
                [
                    torch.nn.functional.cross_entropy(nsp_logits, nsp_labels, reduction="sum").double(),
                    (nsp_logits.argmax(-1) == nsp_labels).sum().double(),
                    torch.tensor(len(nsp_labels), device=device).double(),
                ]
            )
    if reduce is not None:
        sums = reduce(sums)
    if was_training:
        model.train()
    mlm_loss, mlm_correct, mlm_count, nsp_loss, nsp_correct, nsp_count = sums.tolist()
    metrics = {
        "mlm_accuracy": mlm_correct / max(mlm_count, 1),
        "nsp_accuracy": nsp_correct / max(nsp_count, 1),
        "mlm_loss": mlm_loss / max(mlm_count, 1),
        "nsp_loss": nsp_loss / max(nsp_count, 1),
    }
    if nsp_count == 0:  # MLM alone
        del metrics["nsp_accuracy"], metrics["nsp_loss"]
    return metrics


def append_metrics(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        fsync_open_file(fh, path)


def read_metrics(path: Path) -> list[dict]:
    """The records of ``metrics.jsonl``. It is an append-only log (one fsynced line per record), so a
    kill can leave only its last line torn: a last line without its newline is dropped, not read."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines[:-1] if line.strip()]  # lines[-1]: "" or a torn record


def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop records past ``after_step`` (a resumed run re-does those steps)."""
    kept = [r for r in read_metrics(path) if r.get("phase") == "base" or r["step"] <= after_step]
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))


def plot_metrics(records: list[dict], out_path: Path, title: str = "") -> Path:
    """Four panels (MLM/NSP accuracy and loss against step), the base model dashed; two (MLM) when
    the records have no NSP numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = next((r for r in records if r.get("phase") == "base"), None)
    points = [r for r in records if r.get("phase") != "base"]
    keys = [key for key in METRIC_KEYS if any(key in r for r in records)] or list(METRIC_KEYS)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7)) if len(keys) > 2 else plt.subplots(1, 2, figsize=(10, 3.8))
    labels = {
        "mlm_accuracy": "MLM accuracy",
        "nsp_accuracy": "NSP accuracy",
        "mlm_loss": "MLM loss",
        "nsp_loss": "NSP loss",
    }
    for ax, key in zip(axes.flat, keys):
        ax.plot([r["step"] for r in points], [r[key] for r in points], marker="o", ms=3, label="this run")
        if base is not None:
            ax.axhline(base[key], linestyle="--", color="grey", label="start model")
        ax.set_title(labels[key])
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return out_path
