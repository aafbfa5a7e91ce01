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


@dataclass
class Bars:
    """A bar plot of one score per model: (mean, std) per model name."""

    file: str
    values: dict[str, tuple[float, float]]
    title: str
    ylabel: str


def write_task_files(out_dir: Path, result: dict, markdown: tuple[str, str], bars: Bars, rows=None) -> None:
    """A fine-tuning task's run folder: the per-run rows as CSV (``rows`` = (file, list of
    dicts)), the Markdown table (``markdown`` = (file, text)), the bar plot and ``result.json``."""
    from kmb.evaluation import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    if rows is not None:
        file, table = rows
        write_csv(out_dir / file, table, list(table[0]) if table else ["model"])
    write_markdown(out_dir / markdown[0], markdown[1])
    plots.bar_with_errors(out_dir / bars.file, bars.values, title=bars.title, ylabel=bars.ylabel)
    write_json(out_dir / "result.json", result)


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


@dataclass
class Summary:
    """What a command prints at its end: a title and ``key  value`` rows (and the full result)."""

    title: str
    rows: dict
    result: dict
