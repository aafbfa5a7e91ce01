"""Writing evaluation outputs atomically, and naming the models being compared.

Every output file (JSON, CSV, Markdown, TSV, PNG) is written to a temporary name in its folder and
moved into place with ``os.replace``, so an interrupted run never leaves a half-written result.
Each run folder ``eval/<run>/`` holds a ``result.json`` with a ``"task"`` key; ``kmb evaluate
report`` gathers those.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import atomic_text


def write_json(path: Path, data) -> Path:
    with atomic_text(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return path


def write_csv(path: Path, rows: Iterable[dict], fieldnames: Sequence[str]) -> Path:
    with atomic_text(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_markdown(path: Path, text: str) -> Path:
    with atomic_text(path) as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


@dataclass(frozen=True)
class ModelRef:
    """A model to evaluate: a label for tables and the Hugging Face model directory."""

    name: str
    path: Path


def resolve_models(specs: Sequence[str], models_dir: Path | None = None) -> list[ModelRef]:
    """Turn ``--model`` values into ModelRefs.

    A value is ``LABEL=PATH``, a directory path, or the name of a model under the workspace's
    ``models/`` folder. The label defaults to the directory name.
    """
    if not specs:
        raise KmbError("give at least one --model (a Hugging Face model directory)")
    refs: list[ModelRef] = []
    for spec in specs:
        label, sep, target = spec.partition("=")
        if not sep:
            label, target = "", spec
        path = Path(target).expanduser()
        if not path.is_dir() and models_dir is not None and (models_dir / target).is_dir():
            path = models_dir / target
        if not path.is_dir():
            raise KmbError("model directory not found", path=path)
        if not (path / "config.json").is_file():
            raise KmbError("not a Hugging Face model directory (no config.json)", path=path)
        refs.append(ModelRef(label or path.resolve().name, path))
    names = [r.name for r in refs]
    if len(set(names)) != len(names):
        raise KmbError(f"two models share a label ({', '.join(names)}); name them with --model LABEL=PATH")
    return refs


def per_model_path(path: Path, model: str, n_models: int) -> Path:
    """``preds.tsv`` for one model; ``preds.<model>.tsv`` when several models share the option."""
    path = Path(path)
    if n_models == 1:
        return path
    return path.with_name(f"{path.stem}.{model}{path.suffix}")


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")


def load_model_tokenizer(model: ModelRef):
    """The tokenizer saved with a model directory (through ``kmb.vocab.tokenizers.load_tokenizer``)."""
    from kmb.vocab.tokenizers import load_tokenizer

    if not any((model.path / name).is_file() for name in TOKENIZER_FILES):
        raise KmbError(
            "model directory has no tokenizer (tokenizer.json or vocab.txt); save one with it "
            "(tokenizer.save_pretrained) or copy the vocab directory in",
            path=model.path,
        )
    return load_tokenizer(model.path)


def winner(scores: dict[str, float]) -> str | None:
    """The model with the highest score; None when tied (or no model), so no false winner is named."""
    if not scores:
        return None
    top = max(scores.values())
    leaders = [m for m, v in scores.items() if abs(v - top) < 1e-12]
    return leaders[0] if len(leaders) == 1 else None


def table_start(title: str, caption: str, columns: Sequence[str]) -> list[str]:
    """The opening lines of a result table: heading, caption, header row and separator."""
    return [
        f"### {title}",
        "",
        caption,
        "",
        "| Model | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]


def mean_pm_std(score: dict | None) -> str:
    """``0.812 ± 0.031`` for a {mean, std} score; ``n/a`` where the score does not exist."""
    return "n/a" if score is None else f"{score['mean']:.3f} ± {score['std']:.3f}"


@dataclass
class Summary:
    """What a command prints at its end: a title and ``key  value`` rows (and the full result)."""

    title: str
    rows: dict
    result: dict
