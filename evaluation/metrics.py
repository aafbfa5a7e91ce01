"""Scores for the evaluation commands: NER entity and word level, STS correlations, classification.

- ``entity_scores``: seqeval's entity-level precision/recall/F1 in strict IOB2 mode (a span counts
  only when its type and both boundaries match), per type, micro and macro averages. This is the
  score kmb reports first.
- ``word_level_scores``: the metric KM-BERT's own script used, kept so numbers compare with the
  paper: B- and I- are merged (``B-DS`` and ``I-DS`` both become ``DS``) and every word is scored on
  its own, per type and micro/macro over the entity types (``O`` is not a class).
- ``correlations``: Pearson and Spearman from scipy.
- ``classification_scores``: accuracy and macro F1 from scikit-learn, the macro mean over the labels
  that occur in the gold or the predicted labels (scikit-learn's default), and F1 per label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Strict IOB2 entity-level scores: ``{"per_type": {T: prf}, "micro": prf, "macro": prf}``."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    gold = [list(s) for s in gold]
    pred = [list(s) for s in pred]
    if not any(tag != "O" for sent in gold for tag in sent) and not any(tag != "O" for sent in pred for tag in sent):
        # seqeval cannot score a set with no entity at all; nothing to find and nothing found.
        zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
        return {"per_type": {}, "micro": dict(zero), "macro": dict(zero)}
    report = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    out: dict = {"per_type": {}}
    for key, row in report.items():
        prf = {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        if key == "micro avg":
            out["micro"] = prf
        elif key == "macro avg":
            out["macro"] = prf
        elif key != "weighted avg":
            out["per_type"][key] = prf
    return out


def merge_bio(tag: str) -> str:
    """``B-DS``/``I-DS`` -> ``DS``; ``O`` stays ``O`` (KM-BERT's B/I merge)."""
    return tag[2:] if tag[:2] in ("B-", "I-") else tag


def word_level_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """KM-BERT's per-word metric with B/I merged: per type, micro and macro over types, accuracy."""
    tp: Counter = Counter()
    n_pred: Counter = Counter()
    n_gold: Counter = Counter()
    correct = total = 0
    for gold_sent, pred_sent in zip(gold, pred, strict=True):
        for g, p in zip(gold_sent, pred_sent, strict=True):
            g, p = merge_bio(g), merge_bio(p)
            total += 1
            correct += g == p
            if g != "O":
                n_gold[g] += 1
            if p != "O":
                n_pred[p] += 1
            if g == p and g != "O":
                tp[g] += 1
    types = sorted(set(n_gold) | set(n_pred))
    per_type = {t: _prf(tp[t], n_pred[t], n_gold[t]) for t in types}
    micro = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    macro = {
        key: float(np.mean([per_type[t][key] for t in types])) if types else 0.0
        for key in ("precision", "recall", "f1")
    }
    macro["support"] = micro["support"]
    return {"per_type": per_type, "micro": micro, "macro": macro, "accuracy": correct / total if total else 0.0}


def correlations(gold: Sequence[float], pred: Sequence[float]) -> dict:
    """Pearson and Spearman correlation (scipy). A constant prediction has no correlation: 0.0."""
    from scipy.stats import pearsonr, spearmanr

    gold_arr = np.asarray(gold, dtype=float)
    pred_arr = np.asarray(pred, dtype=float)
    if len(gold_arr) < 2 or np.ptp(gold_arr) == 0 or np.ptp(pred_arr) == 0:
        return {"pearson": 0.0, "spearman": 0.0, "n": int(len(gold_arr))}
    return {
        "pearson": float(pearsonr(gold_arr, pred_arr).statistic),
        "spearman": float(spearmanr(gold_arr, pred_arr).statistic),
        "n": int(len(gold_arr)),
    }


def classification_scores(gold: Sequence[str], pred: Sequence[str]) -> dict:
    """Accuracy, macro F1 (over the labels in gold or pred) and precision/recall/F1 per label (scikit-learn)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    gold, pred = list(gold), list(pred)
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    if not gold:
        return {"accuracy": 0.0, "macro_f1": 0.0, "per_label": {}, "n": 0}
    labels = sorted(set(gold) | set(pred))
    precision, recall, f1, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    per_label = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for label, p, r, f, n in zip(labels, precision, recall, f1, support)
    }
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(np.mean(f1)),
        "per_label": per_label,
        "n": len(gold),
    }


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0.0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0:
        return 0.0, 0.0
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
