"""`kmb evaluate classify`: single-text and text-pair classification, fine-tuned per model.

Input ``[CLS] text [SEP]`` or ``[CLS] text [SEP] text_pair [SEP]`` (token type 0 then 1) into
``AutoModelForSequenceClassification`` with one class per label (labels sorted; the list is saved
in ``result.json`` and as the head's ``id2label``). Splits (:mod:`kmb.evaluation.classify_data`):
stratified k folds of one file, a directory of fold files, or a given ``--train``/``--test`` pair.

Each fold is trained ``seeds`` times (seeds ``seed``, ``seed + 1``, ...; each its own head
initialisation, dev cut and batch order). Every run is the NER/STS recipe
(:func:`kmb.evaluation.finetune.run_grid`): a dev split cut from the fold's training part
(``finetune.cut_dev``), one model per grid setting, the setting with the best dev macro F1 predicts
the test part. Scores per run: accuracy and macro F1 (scikit-learn; macro over the labels in the
run's gold or predicted labels), then mean ± std over runs (folds x seeds).

Outputs in the run folder: ``result.json``, ``classify_runs.csv`` (one row per model, fold and
seed), ``classify.md``, ``classify.png``; with ``--predictions-out`` a TSV with a header, one line
per test example and run: ``fold seed gold pred text [text_pair]``, from which every number can be
recomputed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from kmb import checks
from kmb.errors import KmbError
from kmb.evaluation import metrics
from kmb.evaluation.classify_data import (
    CLASSIFY_FORMATS,
    ClassifyExample,
    ClassifyFold,
    ClassifySplits,
    encode,
    load_splits,
)
from kmb.evaluation.finetune import cut_dev, load_for_finetuning, run_grid, seed_everything
from kmb.evaluation.options import ClassifyTask, FinetuneConfig, check_folds, check_seeds
from kmb.evaluation.results import Bars, ModelRef, atomic_text, load_model_tokenizer, per_model_path, write_task_files
from kmb.evaluation.tables import mean_pm_std, table_start, winner


def check_classify_options(
    data: Path | None, train: Path | None, test: Path | None, fmt: str, folds: int, seeds: int, config: FinetuneConfig
) -> None:
    """The data options (``--data``, or ``--train`` with ``--test``) and every number, before anything is read."""
    if data is not None and (train is not None or test is not None):
        raise KmbError("give either --data (k folds, or a folder of fold files) or --train and --test, not both")
    if data is None and (train is None or test is None):
        raise KmbError("give --data FILE|DIR, or --train FILE and --test FILE")
    checks.choice("--format", fmt, CLASSIFY_FORMATS)
    check_folds(folds)
    config.check()
    check_seeds(seeds, config.seed)


def run_classify(
    models: Sequence[ModelRef],
    out_dir: Path,
    *,
    data: Path | None = None,
    train: Path | None = None,
    test: Path | None = None,
    fmt: str = ClassifyTask.fmt,
    folds: int = ClassifyTask.folds,
    seeds: int = ClassifyTask.seeds,
    config: FinetuneConfig | None = None,
    predictions_out: Path | None = None,
    progress: Callable[[str], None] = print,
    predictions_file: Callable = atomic_text,  # how --predictions-out is opened (a files_together group's text)
    splits: ClassifySplits | None = None,
) -> dict:
    """Evaluate every model on the classification data; ``splits``, when given, is the data
    already read by :func:`load_splits` from these same options (the command reads it before it
    opens the workspace, so bad input writes nothing)."""
    config = config or FinetuneConfig()
    check_classify_options(data, train, test, fmt, folds, seeds, config)
    splits = splits or load_splits(data, train, test, fmt, folds, config.seed)
    tokenizers = {m.name: load_model_tokenizer(m) for m in models}  # fail on a missing tokenizer before training
    runs: list[dict] = []
    summary: dict = {}
    for model in models:
        per_run, predictions = evaluate_model(model, tokenizers[model.name], splits, seeds, config, progress)
        runs += [{k: v for k, v in row.items() if k not in ("per_label", "grid")} for row in per_run]
        summary[model.name] = summarise(model, per_run, predictions)
        if predictions_out is not None:
            path = per_model_path(predictions_out, model.name, len(models))
            write_predictions(path, predictions, splits.paired, opener=predictions_file)
    result = {
        "task": "classify",
        "data": None if data is None else str(data),
        "train": None if train is None else str(train),
        "test": None if test is None else str(test),
        "format": fmt,
        "mode": splits.mode,
        "paired": splits.paired,
        "folds": len(splits.folds),
        "seeds": seeds,
        "labels": splits.labels,
        "n_examples": sum(len(f.test) for f in splits.folds) if splits.mode == "kfold" else None,
        "config": asdict(config),
        "models": summary,
        "per_run": runs,
    }
    write_outputs(out_dir, result)
    return result


def evaluate_model(
    model: ModelRef,
    tokenizer,
    splits: ClassifySplits,
    seeds: int,
    config: FinetuneConfig,
    progress: Callable[[str], None],
) -> tuple[list[dict], list[dict]]:
    """Every fold and seed for one model: the per-run rows and the test predictions of every run."""
    label_ids = {label: i for i, label in enumerate(splits.labels)}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    unique = list({id(e): e for f in splits.folds for e in f.train + f.test}.values())
    encoded = dict(
        zip((id(e) for e in unique), encode(unique, tokenizer, label_ids, config.max_length))
    )  # once per model
    per_run, predictions = [], []
    for offset in range(seeds):
        seed = config.seed + offset
        seed_everything(seed)
        base = load_for_finetuning(model.path, "sequence", len(splits.labels), dict(enumerate(splits.labels)))
        for fold in splits.folds:
            row, predicted = evaluate_run(model.name, base, fold, seed, encoded, splits.labels, config, pad_id)
            progress(
                f"classify {model.name} fold {fold.index}/{len(splits.folds)} seed {seed}: accuracy {row['accuracy']:.3f}, "
                f"macro F1 {row['macro_f1']:.3f} (lr {row['lr']:g}, {row['epochs']} epochs, dev macro F1 {row['dev_macro_f1']:.3f}) "
                f"in {row['seconds']:.1f} s"
            )
            per_run.append(row)
            predictions += [
                {"fold": fold.index, "seed": seed, "gold": e.label, "pred": p, "example": e}
                for e, p in zip(fold.test, predicted)
            ]
        del base
    return per_run, predictions


def evaluate_run(
    name: str,
    base,
    fold: ClassifyFold,
    seed: int,
    encoded: dict,
    labels: list[str],
    config: FinetuneConfig,
    pad_id: int,
) -> tuple[dict, list[str]]:
    """Grid on train-minus-dev, chosen on dev by macro F1, test predicted with the winner: (row, predicted labels)."""
    started = time.perf_counter()
    fit, dev = cut_dev(fold.train, config.dev_fraction, seed + fold.index, f"training examples in fold {fold.index}")
    parts = {"train": fit, "dev": dev, "test": fold.test}
    examples = {k: [encoded[id(e)] for e in part] for k, part in parts.items()}
    dev_gold = [e.label for e in dev]

    def on_dev(logits) -> float:
        return metrics.classification_scores(dev_gold, to_labels(logits, labels))["macro_f1"]

    best = run_grid(
        base,
        examples,
        dev_score=on_dev,
        config=config,
        pad_id=pad_id,
        seed=seed + fold.index,
    )
    predicted = to_labels(best.test_logits, labels)
    scores = metrics.classification_scores([e.label for e in fold.test], predicted)
    row = {
        "model": name,
        "fold": fold.index,
        "seed": seed,
        "lr": best.lr,
        "epochs": best.epochs,
        "dev_macro_f1": best.dev_score,
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "n_train": len(fit),
        "n_dev": len(dev),
        "n_test": len(fold.test),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return {**row, "per_label": scores["per_label"], "grid": best.dev_scores}, predicted


def to_labels(logits, labels: list[str]) -> list[str]:
    return [labels[int(row.argmax())] for row in logits]


def _mean_std(values: list[float]) -> dict:
    return dict(zip(("mean", "std"), metrics.mean_std(values)))


def summarise(model: ModelRef, per_run: list[dict], predictions: list[dict]) -> dict:
    """Mean ± std over runs (folds x seeds) of accuracy, macro F1 and F1 per label; the pooled scores."""
    labels = sorted({label for row in per_run for label in row["per_label"]})
    return {
        "path": str(model.path),
        "accuracy": _mean_std([r["accuracy"] for r in per_run]),
        "macro_f1": _mean_std([r["macro_f1"] for r in per_run]),
        "f1_per_label": {t: _mean_std([r["per_label"].get(t, {}).get("f1", 0.0) for r in per_run]) for t in labels},
        "pooled": metrics.classification_scores([p["gold"] for p in predictions], [p["pred"] for p in predictions]),
        "runs": len(per_run),
        "seconds": sum(r["seconds"] for r in per_run),
    }


def _cell(text: str) -> str:
    """A text as one TSV cell: tabs and line breaks become spaces."""
    return " ".join(text.replace("\t", " ").splitlines())


def write_predictions(path: Path, predictions: list[dict], paired: bool, opener: Callable = atomic_text) -> None:
    columns = ["fold", "seed", "gold", "pred", "text"] + (["text_pair"] if paired else [])
    with opener(path) as handle:
        handle.write("\t".join(columns) + "\n")
        for p in predictions:
            example: ClassifyExample = p["example"]
            cells = [str(p["fold"]), str(p["seed"]), p["gold"], p["pred"], _cell(example.text)]
            if paired:
                cells.append(_cell(example.text_pair or ""))
            handle.write("\t".join(cells) + "\n")


def write_outputs(out_dir: Path, result: dict) -> None:
    bars = Bars(
        "classify.png",
        {m: (s["macro_f1"]["mean"], s["macro_f1"]["std"]) for m, s in result["models"].items()},
        title=f"Classification macro F1, mean ± std over {runs_phrase(result)}",
        ylabel="macro F1",
    )
    write_task_files(
        out_dir, result, ("classify.md", classify_markdown(result)), bars, ("classify_runs.csv", result["per_run"])
    )


def runs_phrase(result: dict) -> str:
    folds = "the given split" if result["mode"] == "given" else f"{result['folds']} folds"
    return folds if result["seeds"] == 1 else f"{folds} x {result['seeds']} seeds"


def classify_markdown(result: dict) -> str:
    from kmb.evaluation.ner import per_type_table

    models = result["models"]
    best = winner({m: s["macro_f1"]["mean"] for m, s in models.items()})
    kind = "text pairs" if result["paired"] else "single texts"
    caption = (
        f"{kind.capitalize()}, {len(result['labels'])} labels ({', '.join(result['labels'])}). Accuracy and macro F1 "
        f"(scikit-learn; the mean of the per-label F1s over the labels in each run's gold or predicted labels), "
        f"mean ± std over {runs_phrase(result)}; the grid setting chosen per run on a dev split by macro F1."
    )
    lines = table_start(f"Classification ({kind}, {runs_phrase(result)})", caption, ["accuracy", "macro F1", "runs"])
    for name, s in models.items():
        mark = " **(best)**" if name == best and len(models) > 1 else ""
        lines.append(f"| {name}{mark} | {mean_pm_std(s['accuracy'])} | {mean_pm_std(s['macro_f1'])} | {s['runs']} |")
    lines += per_type_table(models, "f1_per_label", "F1 per label (mean ± std over runs):")
    return "\n".join(lines) + "\n"


def summary_rows(result: dict) -> dict:
    """One line per model for the command's end."""
    return {
        name: f"accuracy {mean_pm_std(s['accuracy'])}, macro F1 {mean_pm_std(s['macro_f1'])} over {runs_phrase(result)}"
        for name, s in result["models"].items()
    }
