"""`kmb evaluate sts`: sentence-pair similarity, fine-tuned per model, Pearson and Spearman.

Input ``[CLS] s1 [SEP] s2 [SEP]`` (token type 0 then 1). Two heads, each with its own grid and
dev-split choice:

- ``regression`` (kmb's main score): one output trained with MSE on the 0-5 score;
- ``6class`` (KM-BERT's variant, for comparability): the score rounded half up to 0..5 (2.5 -> 3,
  as the authors did; not Python's round-half-to-even) and treated as six classes; the predicted class is the prediction.

The dev split (``dev_fraction`` of the training pairs, seeded) picks the grid setting by Pearson;
the test file is only predicted with the chosen model. Outputs: ``result.json``, ``sts.md`` (the
paper's Table 3 layout), ``sts.png``, and with ``--predictions-out`` one
``GOLD<TAB>PRED<TAB>SENTENCE1<TAB>SENTENCE2`` line per test pair.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kmb.errors import KmbError
from kmb.evaluation import metrics
from kmb.evaluation.finetune import Example, cut_dev, load_for_finetuning, run_grid, seed_everything
from kmb.evaluation.options import FinetuneConfig, StsTask, check_sizes
from kmb.evaluation.results import Bars, ModelRef, atomic_text, load_model_tokenizer, per_model_path, write_task_files
from kmb.evaluation.sts_data import StsPair, read_sts
from kmb.evaluation.tables import winner

HEADS = StsTask.heads  # regression (MSE), and KM-BERT's 6-class variant


def six_class_label(score: float) -> int:
    """The 6-class label of a 0-5 score, rounded half up as the KM-BERT authors did (2.5 -> 3).

    Python's ``round`` rounds halves to even (2.5 -> 2, 4.5 -> 4), which would shift half the
    half-point scores, common in STS data, down a class.
    """
    return min(5, math.floor(score + 0.5))


def for_head(examples: Sequence[Example], head: str) -> list[Example]:
    """The same token ids with the label each head trains on (score, or rounded score as a class)."""
    if head == "regression":
        return list(examples)
    return [Example(e.input_ids, six_class_label(float(e.label)), e.token_type_ids) for e in examples]


def encode_pairs(pairs: Sequence[StsPair], tokenizer, max_length: int, head: str = "regression") -> list[Example]:
    """Tokenize all pairs in one batched call (truncating the longer sentence first)."""
    encoded = tokenizer(
        [p.sentence1 for p in pairs],
        [p.sentence2 for p in pairs],
        truncation="longest_first",
        max_length=max_length,
        return_token_type_ids=True,
    )
    return for_head(
        [
            Example(ids, float(p.score), types)
            for ids, types, p in zip(encoded["input_ids"], encoded["token_type_ids"], pairs)
        ],
        head,
    )


def to_scores(logits: Sequence[np.ndarray], head: str) -> list[float]:
    if head == "regression":
        return [float(np.clip(row[0], 0.0, 5.0)) for row in logits]
    return [float(row.argmax()) for row in logits]


def check_sts_options(
    heads: Sequence[str], config: FinetuneConfig, max_train: int | None, max_test: int | None
) -> None:
    check_sizes(max_train, max_test)
    config.check()
    for head in heads:
        if head not in HEADS:
            raise KmbError(f"unknown STS head {head!r} (choose {', '.join(HEADS)})")


def read_splits(
    train_path, test_path, fmt: str, config: FinetuneConfig, max_train: int | None, max_test: int | None
) -> dict[str, list[StsPair]]:
    """The training pairs cut into fit and dev (seeded), and the test pairs."""
    train_pairs = read_sts(train_path, fmt, "train")[: max_train or None]
    test_pairs = read_sts(test_path, fmt, "test")[: max_test or None]
    fit, dev = cut_dev(train_pairs, config.dev_fraction, config.seed, "training pairs", train_path)
    return {"train": fit, "dev": dev, "test": test_pairs}


def run_sts(
    models: Sequence[ModelRef],
    train_path: str | Path,
    test_path: str | Path,
    out_dir: Path,
    *,
    fmt: str = StsTask.fmt,
    heads: Sequence[str] = HEADS,
    config: FinetuneConfig | None = None,
    predictions_out: Path | None = None,
    max_train: int | None = None,
    max_test: int | None = None,
    progress: Callable[[str], None] = print,
    predictions_file: Callable = atomic_text,  # how --predictions-out is opened (a files_together group's text)
) -> dict:
    config = config or FinetuneConfig()
    check_sts_options(heads, config, max_train, max_test)
    splits = read_splits(train_path, test_path, fmt, config, max_train, max_test)
    tokenizers = {m.name: load_model_tokenizer(m) for m in models}
    summary: dict = {}
    for model in models:
        tokenizer = tokenizers[model.name]
        summary[model.name] = {"path": str(model.path)}
        # Tokenized once per model; both heads and every grid run reuse it.
        encoded = {name: encode_pairs(part, tokenizer, config.max_length) for name, part in splits.items()}
        for head in heads:
            scores, predicted = fit_head(model, tokenizer, encoded, splits, head, config)
            progress(
                f"sts {model.name} {head}: pearson {scores['pearson']:.3f} spearman {scores['spearman']:.3f} "
                f"(lr {scores['lr']:g}, {scores['epochs']} epochs, dev pearson {scores['dev_pearson']:.3f}) in {scores['seconds']:.1f} s"
            )
            summary[model.name][head] = scores
            if predictions_out is not None and head == heads[0]:
                path = per_model_path(predictions_out, model.name, len(models))
                _write_predictions(path, splits["test"], predicted, predictions_file)
    result = {
        "task": "sts",
        "train": str(train_path),
        "test": str(test_path),
        "format": fmt,
        "heads": list(heads),
        "n_train": len(splits["train"]),
        "n_dev": len(splits["dev"]),
        "n_test": len(splits["test"]),
        "config": asdict(config),
        "models": summary,
    }
    write_outputs(out_dir, result)
    return result


def fit_head(
    model: ModelRef, tokenizer, encoded: dict, splits: dict, head: str, config: FinetuneConfig
) -> tuple[dict, list[float]]:
    """Grid for one head, chosen on dev by Pearson; the test scores and predictions of the winner."""
    started = time.perf_counter()
    seed_everything(config.seed)
    base = load_for_finetuning(model.path, "sequence", 1 if head == "regression" else 6)
    examples = {name: for_head(part, head) for name, part in encoded.items()}
    dev_gold = [p.score for p in splits["dev"]]
    best = run_grid(
        base,
        examples,
        dev_score=lambda logits: metrics.correlations(dev_gold, to_scores(logits, head))["pearson"],
        config=config,
        pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        seed=config.seed,
    )
    predicted = to_scores(best.test_logits, head)
    scores = metrics.correlations([p.score for p in splits["test"]], predicted)
    extra = {"lr": best.lr, "epochs": best.epochs, "dev_pearson": best.dev_score, "grid": best.dev_scores}
    return {**scores, **extra, "seconds": round(time.perf_counter() - started, 2)}, predicted


def summary_rows(result: dict) -> dict:
    return {
        m: f"pearson {s['regression']['pearson']:.3f}, spearman {s['regression']['spearman']:.3f}"
        for m, s in result["models"].items()
    }


def _write_predictions(path: Path, pairs: Sequence[StsPair], predicted: Sequence[float], opener=atomic_text) -> None:
    with opener(path) as handle:
        for pair, value in zip(pairs, predicted):
            handle.write(f"{pair.score:g}\t{value:.9g}\t{pair.sentence1}\t{pair.sentence2}\n")


def write_outputs(out_dir: Path, result: dict) -> None:
    head = result["heads"][0]
    bars = Bars(
        "sts.png",
        {m: (s[head]["pearson"], 0.0) for m, s in result["models"].items()},
        title=f"STS Pearson correlation ({head} head)",
        ylabel="Pearson r",
    )
    write_task_files(out_dir, result, ("sts.md", sts_markdown(result)), bars)


def sts_markdown(result: dict) -> str:
    models = result["models"]
    lines = [
        f"### STS ({result['format']}: {result['n_train']} train, {result['n_dev']} dev, {result['n_test']} test pairs)",
        "",
    ]
    for head in result["heads"]:
        best = winner({m: s[head]["pearson"] for m, s in models.items()})
        what = (
            "regression head (MSE)"
            if head == "regression"
            else "6-class head on scores rounded half up (KM-BERT's variant)"
        )
        lines += [
            f"Table 3 layout, {what}:",
            "",
            "| Model | Pearson correlation | Spearman correlation | lr | epochs |",
            "|---|---|---|---|---|",
        ]
        for name, s in models.items():
            mark = " **(best)**" if name == best and len(models) > 1 else ""
            r = s[head]
            lines.append(f"| {name}{mark} | {r['pearson']:.3f} | {r['spearman']:.3f} | {r['lr']:g} | {r['epochs']} |")
        lines.append("")
    return "\n".join(lines)
