"""`kmb evaluate mlm` and `kmb evaluate nsp`: the paper's intrinsic evaluation on PAIRS files.

MLM (paper Fig. 3): every pair is encoded as ``[CLS] s1 [SEP] s2 [SEP]`` and corrupted with the
pretraining masking rule (``kmb.training.masking.mask_tokens``: 15% of non-special tokens, 80/10/10).
The score is the accuracy of the model's top prediction at the selected positions. This is repeated
``repeats`` times (paper: 100) with different masks; repeat r masks all pairs at once with the generator
seeded from (seed, r), so a rerun gives the same numbers.

NSP (paper Table 2, Fig. 4): the given pairs are IsNext; as many NotNext pairs are made by giving
each pair the second sentence of another pair of the same type (seeded). A pair is predicted
IsNext when P(IsNext) >= 0.5; accuracy per label and type, and overall.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from kmb.errors import KmbError
from kmb.evaluation import metrics
from kmb.evaluation.finetune import quiet_from_pretrained, uses_token_types
from kmb.evaluation.options import IntrinsicConfig
from kmb.evaluation.pairs import SentencePair, ordered_types, read_pairs
from kmb.evaluation.results import ModelRef, load_model_tokenizer, write_csv, write_json, write_markdown
from kmb.evaluation.tables import table_start, winner
from kmb.training.masking import IGNORE_INDEX

HEAD_NAMES = {"mlm": "masked-LM", "nsp": "next-sentence-prediction"}


def _load_head_model(model: ModelRef, head: str):
    """The model with its masked-LM or NSP head (any family transformers maps to that head).

    A checkpoint without the head's weights, or a family with no such head (RoBERTa and
    ModernBERT have no NSP head), is a KmbError saying so.
    """
    from transformers import AutoModelForMaskedLM, AutoModelForNextSentencePrediction

    cls = AutoModelForMaskedLM if head == "mlm" else AutoModelForNextSentencePrediction
    what = HEAD_NAMES[head]
    try:
        loaded, info = quiet_from_pretrained(cls, model.path)
    except KmbError as exc:
        if head == "nsp" and "Unrecognized configuration class" in str(exc):
            raise KmbError(f"the model has no {what} head (its family has none)", path=model.path) from None
        raise
    # Weights outside the encoder that the checkpoint lacks are a freshly initialised head.
    prefix = loaded.base_model_prefix + "."
    missing = [k for k in info.get("missing_keys", []) if not k.startswith(prefix) and "position_ids" not in k]
    if missing:
        raise KmbError(
            f"the model has no {what} head ({missing[0]} missing): evaluate a pretraining checkpoint", path=model.path
        )
    return loaded.eval()


def _model_inputs(model, rows: dict, index: Sequence[int], pad_id: int, device) -> dict:
    """Padded input_ids, attention_mask and (for a model that reads them) token_type_ids of a batch."""
    inputs = {
        "input_ids": _pad([rows["input_ids"][i] for i in index], pad_id),
        "attention_mask": _pad([[1] * len(rows["input_ids"][i]) for i in index], 0),
    }
    if uses_token_types(model):
        inputs["token_type_ids"] = _pad([rows["token_type_ids"][i] for i in index], 0)
    return {k: v.to(device) for k, v in inputs.items()}


def _encode(pairs: Sequence[SentencePair], tokenizer, max_length: int):
    return tokenizer(
        [p.sentence1 for p in pairs],
        [p.sentence2 for p in pairs],
        truncation="longest_first",
        max_length=max_length,
        return_token_type_ids=True,
        return_special_tokens_mask=True,
    )


def _batches(lengths: Sequence[int], batch_size: int):
    """Indices in length order, cut into batches: each batch pads only to its own longest."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


@torch.no_grad()
def mlm_accuracy_runs(model, tokenizer, pairs: Sequence[SentencePair], config: IntrinsicConfig) -> list[dict]:
    """One row per (repeat, type): masked-token counts and accuracy."""
    from kmb.training.masking import mask_tokens, pair_generator

    device = config.torch_device()
    model.to(device)
    enc = _encode(pairs, tokenizer, config.max_length)
    ids = [torch.as_tensor(x, dtype=torch.long) for x in enc["input_ids"]]
    special = [torch.as_tensor(x, dtype=torch.bool) for x in enc["special_tokens_mask"]]
    lengths = [len(x) for x in ids]
    vocab_size = model.config.vocab_size
    # All pairs in one padded matrix: padding counts as special, so it is never selected.
    all_ids = _pad(ids, tokenizer.pad_token_id or 0)
    all_special = _pad([s.long() for s in special], 1).bool()
    rows = []
    for repeat in range(config.repeats):
        correct: dict[str, int] = {}
        total: dict[str, int] = {}
        # One masking draw per repeat over the whole set, from a generator seeded by (seed, repeat).
        masked_all, labels_all = mask_tokens(
            all_ids,
            all_special,
            mask_token_id=tokenizer.mask_token_id,
            vocab_size=vocab_size,
            generator=pair_generator(config.seed, repeat, 0),
        )
        masked = [masked_all[i, : lengths[i]] for i in range(len(pairs))]
        labels = [labels_all[i, : lengths[i]] for i in range(len(pairs))]
        batch_rows = {"input_ids": masked, "token_type_ids": enc["token_type_ids"]}
        for index in _batches(lengths, config.batch_size):
            gold = _pad([labels[i] for i in index], IGNORE_INDEX).to(device)
            logits = model(**_model_inputs(model, batch_rows, index, tokenizer.pad_token_id or 0, device)).logits
            hits = (logits.argmax(-1) == gold) & (gold != IGNORE_INDEX)
            for row, i in enumerate(index):
                kind = pairs[i].type
                correct[kind] = correct.get(kind, 0) + int(hits[row].sum())
                total[kind] = total.get(kind, 0) + int((gold[row] != IGNORE_INDEX).sum())
        for kind in ordered_types(total):
            rows.append(
                {
                    "repeat": repeat,
                    "type": kind,
                    "n_masked": total[kind],
                    "correct": correct[kind],
                    "accuracy": correct[kind] / total[kind],
                }
            )
        all_total = sum(total.values())
        rows.append(
            {
                "repeat": repeat,
                "type": "overall",
                "n_masked": all_total,
                "correct": sum(correct.values()),
                "accuracy": sum(correct.values()) / all_total if all_total else 0.0,
            }
        )
    return rows


def run_intrinsic(
    task: str,
    models: Sequence[ModelRef],
    data: str | Path,
    out_dir: Path,
    *,
    config: IntrinsicConfig | None = None,
    progress: Callable[[str], None] = print,
) -> dict:
    """`kmb evaluate mlm` or `nsp` (``task``) on the PAIRS TSV ``data``, written to ``out_dir``:
    the settings checked, the pairs read and every tokenizer loaded before any model is."""
    config = config or IntrinsicConfig()
    config.check()
    pairs = read_pairs(data)
    tokenizers = {m.name: load_model_tokenizer(m) for m in models}
    run = {"mlm": _mlm, "nsp": _nsp}[task]
    return run(models, data, pairs, tokenizers, out_dir, config, progress)


def run_mlm(models: Sequence[ModelRef], data: str | Path, out_dir: Path, **options) -> dict:
    """Masked-token accuracy over ``config.repeats`` maskings, per model and corpus type."""
    return run_intrinsic("mlm", models, data, out_dir, **options)


def run_nsp(models: Sequence[ModelRef], data: str | Path, out_dir: Path, **options) -> dict:
    """NSP accuracy per model; a model without an NSP head is reported n/a (all of them: an error)."""
    return run_intrinsic("nsp", models, data, out_dir, **options)


def _mlm(models, data, pairs, tokenizers, out_dir: Path, config: IntrinsicConfig, progress) -> dict:
    all_rows: list[dict] = []
    summary: dict = {}
    for model in models:
        loaded = _load_head_model(model, "mlm")
        rows = mlm_accuracy_runs(loaded, tokenizers[model.name], pairs, config)
        del loaded
        by_type: dict[str, list[float]] = {}
        for r in rows:
            by_type.setdefault(r["type"], []).append(r["accuracy"])
            all_rows.append({"model": model.name, **r})
        summary[model.name] = {
            kind: dict(zip(("mean", "std"), metrics.mean_std(values)), values=values)
            for kind, values in by_type.items()
        }
        overall = summary[model.name]["overall"]
        progress(
            f"mlm {model.name}: accuracy {overall['mean']:.3f} ± {overall['std']:.3f} over {config.repeats} maskings"
        )
    result = {
        "task": "mlm",
        "data": str(data),
        "n_pairs": len(pairs),
        "repeats": config.repeats,
        "seed": config.seed,
        "models": summary,
    }
    _write_mlm(out_dir, result, all_rows)
    return result


def _write_mlm(out_dir: Path, result: dict, rows: list[dict]) -> None:
    from kmb.evaluation import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "mlm_repeats.csv", rows, ["model", "repeat", "type", "n_masked", "correct", "accuracy"])
    types = [t for t in next(iter(result["models"].values()))]
    plots.mlm_boxplot(out_dir / "mlm.png", {t: {m: s[t]["values"] for m, s in result["models"].items()} for t in types})
    write_markdown(out_dir / "mlm.md", mlm_markdown(result))
    write_json(out_dir / "result.json", result)


def mlm_markdown(result: dict) -> str:
    models = result["models"]
    types = list(next(iter(models.values())))
    lines = table_start(
        f"MLM ({result['n_pairs']} pairs, {result['repeats']} maskings)",
        "Masked-token accuracy, mean ± std over maskings (paper Fig. 3).",
        types,
    )
    best = {t: winner({m: s[t]["mean"] for m, s in models.items()}) for t in types}
    for name, s in models.items():
        cells = [
            f"{s[t]['mean']:.3f} ± {s[t]['std']:.3f}" + (" **(best)**" if best[t] == name and len(models) > 1 else "")
            for t in types
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --- NSP -----------------------------------------------------------------------------------------
def not_next_pairs(pairs: Sequence[SentencePair], seed: int) -> list[SentencePair]:
    """For each pair, the same first sentence with the second sentence of another pair of its type."""
    by_type: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_type.setdefault(p.type, []).append(i)
    rng = random.Random(seed)
    out = []
    for i, p in enumerate(pairs):
        others = by_type[p.type]
        if len(others) < 2:
            raise KmbError(f"type {p.type!r} has one pair only: NotNext pairs need at least two pairs of a type")
        j = i
        while j == i or pairs[j].sentence2 == p.sentence2:
            j = others[rng.randrange(len(others))]
            if all(pairs[k].sentence2 == p.sentence2 for k in others):
                raise KmbError(f"every pair of type {p.type!r} has the same second sentence: cannot make NotNext pairs")
        out.append(SentencePair(p.type, p.sentence1, pairs[j].sentence2))
    return out


@torch.no_grad()
def is_next_probabilities(model, tokenizer, pairs: Sequence[SentencePair], config: IntrinsicConfig) -> np.ndarray:
    """P(IsNext) per pair (HF NSP head: index 0 = IsNext)."""
    device = config.torch_device()
    model.to(device)
    enc = _encode(pairs, tokenizer, config.max_length)
    lengths = [len(x) for x in enc["input_ids"]]
    out = np.zeros(len(pairs), dtype=float)
    for index in _batches(lengths, config.batch_size):
        logits = model(**_model_inputs(model, enc, index, tokenizer.pad_token_id or 0, device)).logits
        out[index] = torch.softmax(logits.float(), dim=-1)[:, 0].cpu().numpy()
    return out


def _nsp(models, data, positives, tokenizers, out_dir: Path, config: IntrinsicConfig, progress) -> dict:
    negatives = not_next_pairs(positives, config.seed)
    pairs = list(positives) + negatives
    gold = ["IsNext"] * len(positives) + ["NotNext"] * len(negatives)
    types = ordered_types({p.type for p in positives})
    summary: dict = {}
    prediction_rows: list[dict] = []
    for model in models:
        try:
            loaded = _load_head_model(model, "nsp")
        except KmbError as exc:
            if len(models) == 1 or "has no next-sentence-prediction head" not in str(exc):
                raise
            summary[model.name] = {"accuracy": None, "n/a": str(exc)}
            progress(f"nsp {model.name}: n/a, {exc}")
            continue
        probabilities = is_next_probabilities(loaded, tokenizers[model.name], pairs, config)
        del loaded
        summary[model.name] = nsp_scores(probabilities, pairs, gold, types)
        prediction_rows += [
            {
                "model": model.name,
                "type": p.type,
                "label": g,
                "p_isnext": round(float(x), 6),
                "sentence1": p.sentence1,
                "sentence2": p.sentence2,
            }
            for p, g, x in zip(pairs, gold, probabilities)
        ]
        progress(f"nsp {model.name}: overall accuracy {summary[model.name]['accuracy']['overall']:.3f}")
    if all(s["accuracy"] is None for s in summary.values()):
        raise KmbError("no model has a next-sentence-prediction head: nothing to measure")
    result = {
        "task": "nsp",
        "data": str(data),
        "n_pairs": len(positives),
        "types": types,
        "seed": config.seed,
        "models": summary,
    }
    _write_nsp(out_dir, result, prediction_rows)
    return result


def nsp_scores(probabilities: np.ndarray, pairs: Sequence[SentencePair], gold: list[str], types: list[str]) -> dict:
    """Accuracy at P(IsNext) >= 0.5 per type and label, and overall; the probabilities per type and label."""
    acc: dict = {}
    curves: dict = {}
    for kind in types:
        for label in ("IsNext", "NotNext"):
            p = [float(probabilities[i]) for i in range(len(pairs)) if pairs[i].type == kind and gold[i] == label]
            hits = [(x >= 0.5) == (label == "IsNext") for x in p]
            acc[f"{kind}/{label}"] = sum(hits) / len(hits)
            curves.setdefault(kind, {})[label] = p
    predicted_next = probabilities >= 0.5
    acc["overall"] = float(np.mean([pn == (g == "IsNext") for pn, g in zip(predicted_next, gold)]))
    return {"accuracy": acc, "probabilities": curves}


def _write_nsp(out_dir: Path, result: dict, rows: list[dict]) -> None:
    from kmb.evaluation import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "nsp_predictions.csv", rows, ["model", "type", "label", "p_isnext", "sentence1", "sentence2"])
    measured = {m: s for m, s in result["models"].items() if s["accuracy"] is not None}
    plots.nsp_probabilities(
        out_dir / "nsp.png", {t: {m: s["probabilities"][t] for m, s in measured.items()} for t in result["types"]}
    )
    write_markdown(out_dir / "nsp.md", nsp_markdown(result))
    write_json(out_dir / "result.json", result)


def nsp_overall(result: dict) -> dict[str, float]:
    """Overall accuracy of each model that has an NSP head (the others are n/a)."""
    return {m: s["accuracy"]["overall"] for m, s in result["models"].items() if s["accuracy"] is not None}


def nsp_markdown(result: dict) -> str:
    models = result["models"]
    columns = [f"{t}/{label}" for t in result["types"] for label in ("IsNext", "NotNext")] + ["overall"]
    measured = nsp_overall(result)
    best = winner(measured) if len(measured) > 1 else None  # beating an n/a model is no win
    caption = "Table 2 layout: accuracy at P(IsNext) >= 0.5, per type and label, and overall (n/a: the model has no NSP head)."
    lines = table_start(f"NSP ({result['n_pairs']} IsNext + {result['n_pairs']} NotNext pairs)", caption, columns)
    for name, s in models.items():
        mark = " **(best)**" if name == best else ""
        cells = ["n/a"] * len(columns) if s["accuracy"] is None else [f"{s['accuracy'][c]:.3f}" for c in columns]
        lines.append(f"| {name}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
