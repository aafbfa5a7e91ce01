"""Metrics against hand-computed cases."""

from __future__ import annotations

import pytest
from scipy.stats import pearsonr, spearmanr

from kmb.evaluation import metrics


def test_perfect_prediction_scores_one():
    gold = [["B-DS", "I-DS", "O", "B-ST"], ["O", "B-BD"]]
    scores = metrics.entity_scores(gold, gold)
    assert scores["micro"]["f1"] == 1.0
    assert scores["macro"]["f1"] == 1.0
    assert set(scores["per_type"]) == {"DS", "ST", "BD"}
    word = metrics.word_level_scores(gold, gold)
    assert word["micro"]["f1"] == 1.0 and word["accuracy"] == 1.0


def test_known_confusion_entity_level():
    # gold entities: DS(0-1), ST(3), BD(5) -> 3. predicted: DS(0) only (wrong boundary),
    # ST(3) right, BD(5) right, an extra ST(4). Strict: tp = 2 (ST, BD), pred = 4, gold = 3.
    gold = [["B-DS", "I-DS", "O", "B-ST", "O", "B-BD"]]
    pred = [["B-DS", "O", "O", "B-ST", "B-ST", "B-BD"]]
    scores = metrics.entity_scores(gold, pred)
    assert scores["micro"]["precision"] == pytest.approx(2 / 4)
    assert scores["micro"]["recall"] == pytest.approx(2 / 3)
    assert scores["micro"]["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert scores["per_type"]["DS"]["f1"] == 0.0
    assert scores["per_type"]["BD"]["f1"] == 1.0
    assert scores["per_type"]["ST"]["precision"] == pytest.approx(0.5)
    assert scores["per_type"]["ST"]["recall"] == 1.0
    # macro = mean of per-type F1: DS 0, BD 1, ST 2*0.5*1/1.5
    assert scores["macro"]["f1"] == pytest.approx((0 + 1 + 2 / 3) / 3)


def test_strict_mode_rejects_i_without_b():
    # An entity that starts with I- is not an entity in strict IOB2.
    scores = metrics.entity_scores([["B-DS", "I-DS"]], [["I-DS", "I-DS"]])
    assert scores["micro"]["f1"] == 0.0


def test_word_level_merges_b_and_i():
    # KM-BERT's metric: B/I merged, per word. Gold DS DS O ST; pred DS O ST ST (as merged types).
    gold = [["B-DS", "I-DS", "O", "B-ST"]]
    pred = [["I-DS", "O", "B-ST", "I-ST"]]
    scores = metrics.word_level_scores(gold, pred)
    # DS: tp 1 (word 0), pred 1, gold 2. ST: tp 1 (word 3), pred 2, gold 1.
    assert scores["per_type"]["DS"]["precision"] == 1.0
    assert scores["per_type"]["DS"]["recall"] == 0.5
    assert scores["per_type"]["ST"]["precision"] == 0.5
    assert scores["per_type"]["ST"]["recall"] == 1.0
    assert scores["micro"]["precision"] == pytest.approx(2 / 3)
    assert scores["micro"]["recall"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(2 / 4)
    # the same prediction scores far lower at entity level
    assert metrics.entity_scores(gold, pred)["micro"]["f1"] < scores["micro"]["f1"]


def test_correlations_match_scipy():
    gold = [0.0, 1.0, 2.5, 3.0, 4.2, 5.0]
    pred = [0.3, 0.9, 2.0, 3.8, 3.9, 4.7]
    scores = metrics.correlations(gold, pred)
    assert scores["pearson"] == pytest.approx(pearsonr(gold, pred).statistic)
    assert scores["spearman"] == pytest.approx(spearmanr(gold, pred).statistic)
    assert scores["spearman"] == pytest.approx(1.0)  # same order
    assert metrics.correlations([1, 2, 3], [3, 2, 1])["pearson"] == pytest.approx(-1.0)


def test_constant_prediction_has_zero_correlation():
    assert metrics.correlations([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])["pearson"] == 0.0


def test_mean_std():
    assert metrics.mean_std([0.8, 0.9, 1.0]) == (pytest.approx(0.9), pytest.approx(0.1))
    assert metrics.mean_std([0.5]) == (0.5, 0.0)


def test_word_level_macro_is_the_mean_of_per_type_f1_with_unequal_classes():
    # Merged per word: gold BD BD BD DS ST O; pred BD BD O DS DS ST.
    gold = [["B-BD", "I-BD", "B-BD"], ["B-DS", "B-ST", "O"]]
    pred = [["B-BD", "I-BD", "O"], ["B-DS", "B-DS", "B-ST"]]
    scores = metrics.word_level_scores(gold, pred)
    # BD: tp 2, pred 2, gold 3 -> P 1, R 2/3, F1 0.8. DS: tp 1, pred 2, gold 1 -> F1 2/3. ST: tp 0 -> F1 0.
    assert scores["per_type"]["BD"]["f1"] == pytest.approx(0.8)
    assert scores["per_type"]["DS"]["f1"] == pytest.approx(2 / 3)
    assert scores["per_type"]["ST"]["f1"] == 0.0
    assert scores["macro"]["f1"] == pytest.approx((0.8 + 2 / 3 + 0.0) / 3)  # the paper's Table 5 number
    # micro pools the words: tp 3, pred 5, gold 5 -> 0.6, a different number
    assert scores["micro"]["f1"] == pytest.approx(0.6)
    assert scores["macro"]["f1"] != pytest.approx(scores["micro"]["f1"])


def test_classification_scores_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score

    gold = ["a", "b", "a", "c", "b", "a"]
    pred = ["a", "a", "a", "d", "b", "c"]
    scores = metrics.classification_scores(gold, pred)
    assert scores["accuracy"] == pytest.approx(accuracy_score(gold, pred)) == pytest.approx(3 / 6)
    assert scores["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    # macro over the labels in gold or pred: a 2/3, b 2/3, c 0, d 0
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 4)
    assert set(scores["per_label"]) == {"a", "b", "c", "d"} and scores["per_label"]["d"]["support"] == 0
    assert metrics.classification_scores([], [])["n"] == 0
