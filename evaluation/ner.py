"""`kmb evaluate ner`: fine-tune BertForTokenClassification with k-fold cross validation.

For each model: tokenize every sentence once, reused by every fold and grid run (windows of at most ``max_length`` tokens, label on
the first sub-token of each word), then for each fold cut a dev split (by document) from the
training part, run the grid, pick the setting with the best dev entity F1, and score the test
fold with it. Scores: seqeval strict IOB2 entity-level (per type, micro, macro) and KM-BERT's
word-level B/I-merged metric; mean +- std over folds.

Outputs in the run folder: ``result.json`` (everything), ``ner_folds.csv`` (one row per model and
fold), ``ner.md`` (the paper's Table 5 layout plus per-type scores), ``ner_f1.png``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from kmb.evaluation import metrics
from kmb.evaluation.finetune import Example, FinetuneConfig, load_for_finetuning, run_grid, seed_everything
from kmb.evaluation.ner_data import NerSentence, label_list, load_folds, split_dev, tokenize_windows
from kmb.evaluation.results import (
    ModelRef,
    atomic_text,
    load_model_tokenizer,
    per_model_path,
    write_csv,
    write_json,
    winner,
    write_markdown,
)


def decode(sentences: Sequence[NerSentence], windows, logits: Sequence[np.ndarray], labels: list[str]) -> list[list[str]]:
    """Predicted tag per word: the argmax at each word's first sub-token, windows stitched back."""
    predicted = [["O"] * len(s.words) for s in sentences]
    for window, window_logits in zip(windows, logits):
        positions = [i for i, label in enumerate(window.labels) if label != -100]
        for offset, position in enumerate(positions):
            predicted[window.sentence][window.first_word + offset] = labels[int(window_logits[position].argmax())]
    return predicted


def run_ner(
    models: Sequence[ModelRef],
    data: str | Path,
    out_dir: Path,
    *,
    fmt: str = "kmbert",
    folds: int = 5,
    config: FinetuneConfig | None = None,
    predictions_out: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict:
    config = config or FinetuneConfig()
    config.settings()  # fail early on a bad --grid
    fold_list = load_folds(data, fmt, folds, config.seed)
    labels = label_list([s for f in fold_list for s in f.train + f.test])
    label_ids = {tag: i for i, tag in enumerate(labels)}
    tokenizers = {m.name: load_model_tokenizer(m) for m in models}  # fail on a missing tokenizer before training
    fold_rows: list[dict] = []
    summary: dict = {}
    for model in models:
        tokenizer = tokenizers[model.name]
        seed_everything(config.seed)
        base = load_for_finetuning(model.path, "token", len(labels), dict(enumerate(labels)))
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        gold_all: list[list[str]] = []
        pred_all: list[list[str]] = []
        words_all: list[list[str]] = []
        per_fold: list[dict] = []
        # Tokenize every sentence once per model; folds, dev splits and grid runs reuse the windows.
        unique = list({id(s): s for f in fold_list for s in f.train + f.test}.values())
        by_sentence: dict[int, list] = {}
        for window in tokenize_windows(unique, tokenizer, label_ids, config.max_length):
            by_sentence.setdefault(id(unique[window.sentence]), []).append(window)

        def part_windows(part: Sequence[NerSentence]) -> list:
            return [replace(w, sentence=i) for i, s in enumerate(part) for w in by_sentence[id(s)]]

        for fold in fold_list:
            started = time.perf_counter()
            train_part, dev_part = split_dev(fold.train, config.dev_fraction, config.seed + fold.index)
            parts = {"train": train_part, "dev": dev_part, "test": fold.test}
            windows = {k: part_windows(v) for k, v in parts.items()}
            examples = {k: [Example(w.input_ids, w.labels) for w in ws] for k, ws in windows.items()}

            def dev_f1(logits, _dev=dev_part, _windows=windows["dev"]) -> float:
                predicted = decode(_dev, _windows, logits, labels)
                return metrics.entity_scores([s.tags for s in _dev], predicted)["micro"]["f1"]

            best = run_grid(
                base,
                examples["train"],
                examples["dev"],
                examples["test"],
                dev_score=dev_f1,
                config=config,
                pad_id=pad_id,
                seed=config.seed + fold.index,
            )
            gold = [s.tags for s in fold.test]
            predicted = decode(fold.test, windows["test"], best.test_logits, labels)
            entity = metrics.entity_scores(gold, predicted)
            word = metrics.word_level_scores(gold, predicted)
            seconds = time.perf_counter() - started
            progress(
                f"ner {model.name} fold {fold.index}/{len(fold_list)}: entity F1 {entity['micro']['f1']:.3f} "
                f"(lr {best.lr:g}, {best.epochs} epochs, dev F1 {best.dev_score:.3f}) in {seconds:.1f} s"
            )
            row = {
                "model": model.name,
                "fold": fold.index,
                "lr": best.lr,
                "epochs": best.epochs,
                "dev_f1": best.dev_score,
                "entity_micro_f1": entity["micro"]["f1"],
                "entity_micro_precision": entity["micro"]["precision"],
                "entity_micro_recall": entity["micro"]["recall"],
                "entity_macro_f1": entity["macro"]["f1"],
                "word_micro_f1": word["micro"]["f1"],
                "word_accuracy": word["accuracy"],
                "n_train": len(train_part),
                "n_dev": len(dev_part),
                "n_test": len(fold.test),
                "seconds": round(seconds, 2),
            }
            fold_rows.append(row)
            per_fold.append({**row, "entity": entity, "word_level": word, "grid": best.dev_scores})
            gold_all.extend(gold)
            pred_all.extend(predicted)
            words_all.extend(s.words for s in fold.test)
        summary[model.name] = _summarise(model, per_fold, gold_all, pred_all)
        if predictions_out is not None:
            _write_predictions(per_model_path(predictions_out, model.name, len(models)), words_all, gold_all, pred_all)
        del base
    result = {
        "task": "ner",
        "data": str(data),
        "format": fmt,
        "folds": len(fold_list),
        "labels": labels,
        "config": asdict(config),
        "models": summary,
        "per_fold": fold_rows,
    }
    write_outputs(out_dir, result)
    return result


def _summarise(model: ModelRef, per_fold: list[dict], gold: list, pred: list) -> dict:
    def ms(key: str) -> dict:
        mean, std = metrics.mean_std([f[key] for f in per_fold])
        return {"mean": mean, "std": std}

    types = sorted({t for f in per_fold for t in f["entity"]["per_type"]})
    per_type = {
        t: dict(zip(("mean", "std"), metrics.mean_std([f["entity"]["per_type"].get(t, {}).get("f1", 0.0) for f in per_fold])))
        for t in types
    }
    return {
        "path": str(model.path),
        "entity_micro_f1": ms("entity_micro_f1"),
        "entity_macro_f1": ms("entity_macro_f1"),
        "word_micro_f1": ms("word_micro_f1"),
        "entity_f1_per_type": per_type,
        "pooled_entity": metrics.entity_scores(gold, pred),
        "pooled_word_level": metrics.word_level_scores(gold, pred),
        "seconds": sum(f["seconds"] for f in per_fold),
    }


def _write_predictions(path: Path, words, gold, pred) -> None:
    with atomic_text(path) as handle:
        for sent_words, sent_gold, sent_pred in zip(words, gold, pred):
            for w, g, p in zip(sent_words, sent_gold, sent_pred):
                handle.write(f"{w}\t{g}\t{p}\n")
            handle.write("\n")


def write_outputs(out_dir: Path, result: dict) -> None:
    from kmb.evaluation import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = result["per_fold"]
    write_csv(out_dir / "ner_folds.csv", rows, list(rows[0]) if rows else ["model"])
    write_markdown(out_dir / "ner.md", ner_markdown(result))
    plots.bar_with_errors(
        out_dir / "ner_f1.png",
        {m: (s["entity_micro_f1"]["mean"], s["entity_micro_f1"]["std"]) for m, s in result["models"].items()},
        title=f"NER entity F1 (strict IOB2), mean ± std over {result['folds']} folds",
        ylabel="F1",
    )
    write_json(out_dir / "result.json", result)


def ner_markdown(result: dict) -> str:
    models = result["models"]
    best = winner({m: s["entity_micro_f1"]["mean"] for m, s in models.items()})
    lines = [
        f"### NER ({result['format']} data, {result['folds']} folds)",
        "",
        "Table 5 layout. F1 = seqeval entity-level micro F1, strict IOB2; word F1 = KM-BERT's word-level metric (B/I merged).",
        "",
        "| Model | F1 | macro F1 | word F1 (paper's metric) |",
        "|---|---|---|---|",
    ]
    for name, s in models.items():
        mark = " **(best)**" if name == best and len(models) > 1 else ""
        lines.append(
            f"| {name}{mark} | {s['entity_micro_f1']['mean']:.3f} ± {s['entity_micro_f1']['std']:.3f} "
            f"| {s['entity_macro_f1']['mean']:.3f} ± {s['entity_macro_f1']['std']:.3f} "
            f"| {s['word_micro_f1']['mean']:.3f} ± {s['word_micro_f1']['std']:.3f} |"
        )
    types = sorted({t for s in models.values() for t in s["entity_f1_per_type"]})
    if types:
        lines += ["", "Entity F1 per type (mean ± std over folds):", "", "| Model | " + " | ".join(types) + " |", "|---" * (len(types) + 1) + "|"]
        for name, s in models.items():
            cells = [f"{s['entity_f1_per_type'].get(t, {'mean': 0, 'std': 0})['mean']:.3f} ± {s['entity_f1_per_type'].get(t, {'mean': 0, 'std': 0})['std']:.3f}" for t in types]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
