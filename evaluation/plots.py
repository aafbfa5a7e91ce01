"""Figures for the evaluation results (matplotlib, Agg backend, written atomically as PNG).

- ``bar_with_errors``: one bar per model with a std error bar (NER F1, STS correlation).
- ``mlm_boxplot``: the paper's Fig. 3, MLM accuracy over repeated maskings per corpus type.
- ``nsp_probabilities``: the paper's Fig. 4, sorted predicted IsNext probabilities per type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kmb.storage import atomic_path  # noqa: E402


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def bar_with_errors(path: Path, values: Mapping[str, tuple[float, float]], *, title: str, ylabel: str) -> Path:
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(values) + 2), 3.5))
    names = list(values)
    ax.bar(names, [values[n][0] for n in names], yerr=[values[n][1] for n in names], capsize=4, color="#4C72B0")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.tick_params(axis="x", rotation=20)
    return _save(fig, path)


def mlm_boxplot(path: Path, accuracies: Mapping[str, Mapping[str, Sequence[float]]]) -> Path:
    """``accuracies[type][model]`` = accuracy per repeat; one panel per corpus type."""
    types = list(accuracies)
    fig, axes = plt.subplots(1, len(types), figsize=(3.5 * len(types) + 1, 3.5), squeeze=False, sharey=True)
    for ax, corpus_type in zip(axes[0], types):
        models = list(accuracies[corpus_type])
        ax.boxplot([accuracies[corpus_type][m] for m in models])
        ax.set_xticks(range(1, len(models) + 1), models, rotation=20)
        ax.set_title(corpus_type, fontsize=10)
    axes[0][0].set_ylabel("masked-token accuracy")
    fig.suptitle("MLM accuracy over repeated maskings", fontsize=11)
    return _save(fig, path)


def nsp_probabilities(path: Path, probabilities: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]) -> Path:
    """``probabilities[type][model][label]`` = P(IsNext) per pair; sorted curves, one panel per type."""
    types = list(probabilities)
    fig, axes = plt.subplots(1, len(types), figsize=(4 * len(types) + 1, 3.5), squeeze=False, sharey=True)
    for ax, corpus_type in zip(axes[0], types):
        for model, by_label in probabilities[corpus_type].items():
            for label, style in (("IsNext", "-"), ("NotNext", "--")):
                values = sorted(by_label.get(label, []))
                if values:
                    ax.plot(range(len(values)), values, style, label=f"{model} {label}")
        ax.axhline(0.5, color="grey", linewidth=0.8)
        ax.set_title(corpus_type, fontsize=10)
        ax.set_xlabel("pairs, sorted")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("P(IsNext)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle("NSP: sorted predicted next-sentence probability", fontsize=11)
    return _save(fig, path)
