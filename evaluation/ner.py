"""`kmb evaluate ner`: fine-tune a token-classification head with k-fold cross validation.

For each model: tokenize every sentence once, reused by every fold and grid run (windows of at most
``max_length`` tokens), then for each fold cut a dev split (by document) from the training part,
run the grid, pick the setting with the best dev score, and score the test fold with it.

Two labelling schemes (``scheme``):

- ``bio`` (default): the IOB2 tags (O, B-T, I-T) on the first sub-token of each word, the others
  ignored; the word's tag is the argmax there. Scored with seqeval strict IOB2 at entity level
  (the dev score) and with the word-level metric below.
- ``paper``: the KM-BERT authors' scheme. B- and I- merged into one class per type (O, BD, DS, ST),
  the class on every sub-token, and a word's class the argmax of the sum of its sub-tokens' logits.
  With no B/I there are no entity spans: word level only (its macro F1 is the dev score).

Word level (both schemes, ``metrics.word_level_scores``): B-/I- merged, every word scored on its own,
precision/recall/F1 per type; the paper's number (Table 5) is the macro mean of the types' F1, the
micro value pools the words of all types. Before training, each fold's test sentences that appear
verbatim in its training data are counted (leaks); ``drop_leaks`` removes those training copies.

Outputs in the run folder: ``result.json`` (everything), ``ner_folds.csv`` (one row per model and
fold), ``ner.md`` (the paper's Table 5 layout plus per-type scores), ``ner_f1.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from kmb import checks
from kmb.evaluation import metrics
from kmb.evaluation.finetune import Example, load_for_finetuning, run_grid, seed_everything
from kmb.evaluation.ner_data import (
    NerFold,
    NerSentence,
    drop_leaks,
    entity_types,
    fold_leaks,
    label_list,
    load_folds,
    split_dev,
    tokenize_windows,
)
from kmb.evaluation.options import FinetuneConfig, NerTask, check_folds
from kmb.evaluation.results import Bars, ModelRef, atomic_text, load_model_tokenizer, per_model_path, write_task_files
from kmb.evaluation.tables import mean_pm_std, table_start, winner

SCHEMES = ("bio", "paper")


@dataclass
class Labelling:
    """The classes the head predicts and how tags map onto them."""

    scheme: str
    labels: list[str]  # class names, index = class id
    label_ids: dict[str, int]  # every tag of the data -> class id

    @property
    def every_subtoken(self) -> bool:
        return self.scheme == "paper"

    @classmethod
    def of(cls, scheme: str, sentences: Sequence[NerSentence]) -> Labelling:
        if scheme == "bio":
            labels = label_list(sentences)
            return cls(scheme, labels, {tag: i for i, tag in enumerate(labels)})
        types = entity_types(sentences)
        ids = {"O": 0} | {f"{p}-{t}": i for i, t in enumerate(types, 1) for p in ("B", "I")}
        return cls(scheme, ["O", *types], ids)


def decode(
    sentences: Sequence[NerSentence],
    windows,
    logits: Sequence[np.ndarray],
    labels: list[str],
    every_subtoken: bool = False,
) -> list[list[str]]:
    """Predicted class per word, windows stitched back: the argmax at the word's first sub-token,
    or with ``every_subtoken`` the argmax of the sum of its sub-tokens' logits."""
    predicted = [["O"] * len(s.words) for s in sentences]
    for window, window_logits in zip(windows, logits):
        for offset, (start, end) in enumerate(window.spans):
            scores = window_logits[start:end].sum(axis=0) if every_subtoken else window_logits[start]
            predicted[window.sentence][window.first_word + offset] = labels[int(scores.argmax())]
    return predicted


def fold_scores(gold: list[list[str]], predicted: list[list[str]], scheme: str) -> dict:
    """Entity scores (bio only: the paper scheme has no B/I) and word-level scores of one test fold."""
    entity = metrics.entity_scores(gold, predicted) if scheme == "bio" else None
    return {"entity": entity, "word_level": metrics.word_level_scores(gold, predicted)}


def dev_score(scheme: str) -> Callable[[list, list], float]:
    """What picks the grid setting: entity micro F1 (bio), the paper's word macro F1 (paper)."""
    if scheme == "bio":
        return lambda gold, pred: metrics.entity_scores(gold, pred)["micro"]["f1"]
    return lambda gold, pred: metrics.word_level_scores(gold, pred)["macro"]["f1"]


def check_ner_options(folds: int, scheme: str, config: FinetuneConfig) -> None:
    check_folds(folds)
    config.check()
    checks.choice("--scheme", scheme, SCHEMES)


def prepare_folds(data, fmt: str, folds: int, seed: int, drop: bool, progress) -> tuple[list[NerFold], list[dict]]:
    """Load the folds, count each fold's leaks, and with ``drop`` remove the leaked training copies."""
    fold_list = load_folds(data, fmt, folds, seed)
    leaks = [fold_leaks(f) for f in fold_list]
    if drop:
        dropped = [drop_leaks(f) for f in fold_list]
        fold_list = [fold for fold, _ in dropped]
        for leak, (_, n_dropped) in zip(leaks, dropped):
            leak["dropped"] = n_dropped
    for leak in leaks:
        what = f"; {leak['dropped']} training copies dropped" if drop else ""
        progress(
            f"ner fold {leak['fold']}: {leak['leaked']} of {leak['n_test']} test sentences ({leak['share']:.1%}) also in its training data{what}"
        )
    return fold_list, leaks


def run_ner(
    models: Sequence[ModelRef],
    data: str | Path,
    out_dir: Path,
    *,
    fmt: str = NerTask.fmt,
    folds: int = NerTask.folds,
    scheme: str = NerTask.scheme,
    drop_leaks: bool = NerTask.drop_leaks,
    config: FinetuneConfig | None = None,
    predictions_out: Path | None = None,
    progress: Callable[[str], None] = print,
    predictions_file: Callable = atomic_text,  # how --predictions-out is opened (a files_together group's text)
) -> dict:
    config = config or FinetuneConfig()
    check_ner_options(folds, scheme, config)
    fold_list, leaks = prepare_folds(data, fmt, folds, config.seed, drop_leaks, progress)
    labelling = Labelling.of(scheme, [s for f in fold_list for s in f.train + f.test])
    tokenizers = {m.name: load_model_tokenizer(m) for m in models}  # fail on a missing tokenizer before training
    fold_rows: list[dict] = []
    summary: dict = {}
    for model in models:
        per_fold, pooled = evaluate_model(model, tokenizers[model.name], fold_list, labelling, config, progress)
        for row, leak in zip(per_fold, leaks):
            row.update(leaks=leak["leaked"], leak_share=leak["share"])
        fold_rows += [{k: v for k, v in row.items() if k not in ("entity", "word_level", "grid")} for row in per_fold]
        summary[model.name] = summarise(model, per_fold, pooled["gold"], pooled["pred"], scheme)
        if predictions_out is not None:
            write_predictions(
                per_model_path(predictions_out, model.name, len(models)), **pooled, opener=predictions_file
            )
    result = {
        "task": "ner",
        "data": str(data),
        "format": fmt,
        "scheme": scheme,
        "drop_leaks": drop_leaks,
        "folds": len(fold_list),
        "labels": labelling.labels,
        "config": asdict(config),
        "leaks": leaks,
        "models": summary,
        "per_fold": fold_rows,
    }
    write_outputs(out_dir, result)
    return result


def sentence_windows(sentences: Sequence[NerSentence], tokenizer, labelling: Labelling, max_length: int) -> Callable:
    """Tokenize every sentence once; returns ``part -> windows`` for any list of those sentences."""
    by_sentence: dict[int, list] = {}
    for window in tokenize_windows(sentences, tokenizer, labelling.label_ids, max_length, labelling.every_subtoken):
        by_sentence.setdefault(id(sentences[window.sentence]), []).append(window)

    def part_windows(part: Sequence[NerSentence]) -> list:
        return [replace(w, sentence=i) for i, s in enumerate(part) for w in by_sentence[id(s)]]

    return part_windows


def evaluate_model(
    model: ModelRef, tokenizer, fold_list: list[NerFold], labelling: Labelling, config: FinetuneConfig, progress
) -> tuple[list[dict], dict]:
    """Every fold for one model: the per-fold rows, and the pooled words, gold and predicted tags."""
    seed_everything(config.seed)
    base = load_for_finetuning(model.path, "token", len(labelling.labels), dict(enumerate(labelling.labels)))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    unique = list({id(s): s for f in fold_list for s in f.train + f.test}.values())
    part_windows = sentence_windows(unique, tokenizer, labelling, config.max_length)
    pooled: dict = {"words": [], "gold": [], "pred": []}
    per_fold = []
    for fold in fold_list:
        row, predicted = evaluate_fold(model.name, base, fold, part_windows, labelling, config, pad_id)
        progress(
            f"ner {model.name} fold {fold.index}/{len(fold_list)}: {row_headline(row)} "
            f"(lr {row['lr']:g}, {row['epochs']} epochs, dev F1 {row['dev_f1']:.3f}) in {row['seconds']:.1f} s"
        )
        per_fold.append(row)
        pooled["words"] += [s.words for s in fold.test]
        pooled["gold"] += [s.tags for s in fold.test]
        pooled["pred"] += predicted
    return per_fold, pooled


def row_headline(row: dict) -> str:
    entity = "" if row["entity_micro_f1"] is None else f"entity F1 {row['entity_micro_f1']:.3f}, "
    return f"{entity}word macro F1 {row['word_macro_f1']:.3f}"


def evaluate_fold(
    name: str, base, fold: NerFold, part_windows: Callable, labelling: Labelling, config: FinetuneConfig, pad_id: int
) -> tuple[dict, list]:
    """Grid on train-minus-dev, chosen on dev, test predicted with the winner: (row, test predictions)."""
    started = time.perf_counter()
    train_part, dev_part = split_dev(fold.train, config.dev_fraction, config.seed + fold.index)
    parts = {"train": train_part, "dev": dev_part, "test": fold.test}
    windows = {k: part_windows(v) for k, v in parts.items()}
    examples = {k: [Example(w.input_ids, w.labels) for w in ws] for k, ws in windows.items()}
    score_dev = dev_score(labelling.scheme)

    def on_dev(logits) -> float:
        return score_dev(
            [s.tags for s in dev_part],
            decode(dev_part, windows["dev"], logits, labelling.labels, labelling.every_subtoken),
        )

    best = run_grid(
        base,
        examples,
        dev_score=on_dev,
        config=config,
        pad_id=pad_id,
        seed=config.seed + fold.index,
    )
    predicted = decode(fold.test, windows["test"], best.test_logits, labelling.labels, labelling.every_subtoken)
    scores = fold_scores([s.tags for s in fold.test], predicted, labelling.scheme)
    entity, word = scores["entity"], scores["word_level"]
    row = {
        "model": name,
        "fold": fold.index,
        "scheme": labelling.scheme,
        "lr": best.lr,
        "epochs": best.epochs,
        "dev_f1": best.dev_score,
        "entity_micro_f1": entity and entity["micro"]["f1"],
        "entity_micro_precision": entity and entity["micro"]["precision"],
        "entity_micro_recall": entity and entity["micro"]["recall"],
        "entity_macro_f1": entity and entity["macro"]["f1"],
        "word_macro_f1": word["macro"]["f1"],
        "word_micro_f1": word["micro"]["f1"],
        "word_accuracy": word["accuracy"],
        "n_train": len(train_part),
        "n_dev": len(dev_part),
        "n_test": len(fold.test),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return {**row, **scores, "grid": best.dev_scores}, predicted


def _over_folds(values: list[float | None]) -> dict | None:
    """Mean and std over folds; None where the score does not exist (entity scores, paper scheme)."""
    if any(v is None for v in values):
        return None
    return dict(zip(("mean", "std"), metrics.mean_std(values)))


def summarise(model: ModelRef, per_fold: list[dict], gold: list, pred: list, scheme: str) -> dict:
    def ms(key: str) -> dict | None:
        return _over_folds([f[key] for f in per_fold])

    def per_type(kind: str) -> dict:
        types = sorted({t for f in per_fold if f[kind] for t in f[kind]["per_type"]})
        return {t: _over_folds([f[kind]["per_type"].get(t, {}).get("f1", 0.0) for f in per_fold]) for t in types}

    return {
        "path": str(model.path),
        "scheme": scheme,
        "entity_micro_f1": ms("entity_micro_f1"),
        "entity_macro_f1": ms("entity_macro_f1"),
        "word_macro_f1": ms("word_macro_f1"),
        "word_micro_f1": ms("word_micro_f1"),
        "entity_f1_per_type": per_type("entity") if scheme == "bio" else {},
        "word_f1_per_type": per_type("word_level"),
        "pooled_entity": metrics.entity_scores(gold, pred) if scheme == "bio" else None,
        "pooled_word_level": metrics.word_level_scores(gold, pred),
        "seconds": sum(f["seconds"] for f in per_fold),
    }


def write_predictions(path: Path, words, gold, pred, opener: Callable = atomic_text) -> None:
    with opener(path) as handle:
        for sent_words, sent_gold, sent_pred in zip(words, gold, pred):
            for w, g, p in zip(sent_words, sent_gold, sent_pred):
                handle.write(f"{w}\t{g}\t{p}\n")
            handle.write("\n")


def headline_score(result: dict) -> tuple[str, str]:
    """The score NER is won on: entity F1 (bio), the paper's word macro F1 (paper scheme)."""
    if result.get("scheme", "bio") == "paper":
        return "word_macro_f1", "NER word macro F1 (paper's metric, paper scheme)"
    return "entity_micro_f1", "NER entity F1 (mean over folds)"


def write_outputs(out_dir: Path, result: dict) -> None:
    key, what = headline_score(result)
    bars = Bars(
        "ner_f1.png",
        {m: (s[key]["mean"], s[key]["std"]) for m, s in result["models"].items()},
        title=f"{what}, mean ± std over {result['folds']} folds",
        ylabel="F1",
    )
    write_task_files(out_dir, result, ("ner.md", ner_markdown(result)), bars, ("ner_folds.csv", result["per_fold"]))


SCHEME_CAPTIONS = {
    "bio": "scheme bio: IOB2 tags on each word's first sub-token. F1 = seqeval entity-level micro F1, strict IOB2; macro F1 = its mean over types",
    "paper": "scheme paper (the KM-BERT authors'): merged classes on every sub-token, a word's class from the sum of its sub-tokens' logits; no entity spans, so no entity F1",
}


def ner_markdown(result: dict) -> str:
    models = result["models"]
    scheme = result.get("scheme", "bio")
    key, _ = headline_score(result)
    best = winner({m: s[key]["mean"] for m, s in models.items()})
    caption = (
        f"Table 5 layout, {SCHEME_CAPTIONS[scheme]}. Word macro F1 = the paper's metric: B-/I- merged, each word scored, "
        "the mean of the per-type F1s; word micro F1 = the same words pooled over types. Mean ± std over folds."
    )
    lines = table_start(
        f"NER ({result['format']} data, {result['folds']} folds, scheme {scheme})",
        caption,
        ["F1", "macro F1", "word macro F1 (paper's metric)", "word micro F1"],
    )
    for name, s in models.items():
        mark = " **(best)**" if name == best and len(models) > 1 else ""
        cells = [
            mean_pm_std(s.get(k)) for k in ("entity_micro_f1", "entity_macro_f1", "word_macro_f1", "word_micro_f1")
        ]
        lines.append(f"| {name}{mark} | " + " | ".join(cells) + " |")
    lines += per_type_table(models, "entity_f1_per_type", "Entity F1 per type (mean ± std over folds):")
    lines += per_type_table(
        models, "word_f1_per_type", "Word-level F1 per type (mean ± std over folds; their mean is the paper's metric):"
    )
    return "\n".join(lines + leak_lines(result)) + "\n"


def per_type_table(models: dict, key: str, caption: str) -> list[str]:
    types = sorted({t for s in models.values() for t in s.get(key, {})})
    if not types:
        return []
    lines = ["", caption, "", "| Model | " + " | ".join(types) + " |", "|---" * (len(types) + 1) + "|"]
    for name, s in models.items():
        lines.append(
            f"| {name} | " + " | ".join(mean_pm_std(s[key].get(t, {"mean": 0.0, "std": 0.0})) for t in types) + " |"
        )
    return lines


def leak_lines(result: dict) -> list[str]:
    leaks = result.get("leaks")
    if not leaks:
        return []
    cells = ", ".join(f"fold {x['fold']} {x['leaked']}/{x['n_test']} ({x['share']:.1%})" for x in leaks)
    what = "their training copies were dropped (--drop-leaks)" if result.get("drop_leaks") else "kept in training"
    return ["", f"Test sentences that appear verbatim in their fold's training data: {cells}; {what}."]


def summary_rows(result: dict) -> dict:
    """One line per model for the command's end: every NER number, then the leaks per fold."""
    rows = {}
    for name, s in result["models"].items():
        entity = (
            "entity F1 n/a (paper scheme)"
            if s["entity_micro_f1"] is None
            else f"entity F1 {mean_pm_std(s['entity_micro_f1'])} (seqeval strict)"
        )
        rows[name] = (
            f"{entity}, word macro F1 {mean_pm_std(s['word_macro_f1'])} (paper's metric), word micro F1 {mean_pm_std(s['word_micro_f1'])}"
        )
    rows["leaks per fold"] = ", ".join(f"{x['leaked']}/{x['n_test']} ({x['share']:.1%})" for x in result["leaks"])
    return rows
