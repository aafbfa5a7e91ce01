"""`kmb evaluate sts` on tiny models: KorSTS, the 6-class labels, RoBERTa."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.evaluation import metrics
from kmb.evaluation.options import FinetuneConfig
from kmb.evaluation.results import resolve_models
from kmb.evaluation.sts import run_sts

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
QUICK = dict(grid="quick", batch_size=16, seed=3)


def test_sts_korsts_real_subset(tiny_models, tmp_path, shared_data):
    models = resolve_models([str(tiny_models[0])])
    preds = tmp_path / "sts.tsv"
    result = run_sts(
        models,
        shared_data / "korsts" / "sts-train.tsv",
        shared_data / "korsts" / "sts-dev.tsv",
        tmp_path / "out",
        config=FinetuneConfig(**QUICK),
        predictions_out=preds,
        max_train=48,
        max_test=24,
        progress=lambda _: None,
    )
    scores = result["models"][models[0].name]
    assert set(scores) >= {"regression", "6class"}
    rows = [line.split("\t") for line in preds.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 24 and rows[0][2] == "안전모를 가진 한 남자가 춤을 추고 있다."
    gold, pred = [float(r[0]) for r in rows], [float(r[1]) for r in rows]
    assert scores["regression"]["pearson"] == pytest.approx(metrics.correlations(gold, pred)["pearson"], abs=1e-3)
    assert all(0.0 <= p <= 5.0 for p in pred)


@pytest.mark.parametrize(
    "score, label", [(0.5, 1), (1.5, 2), (2.5, 3), (3.5, 4), (4.5, 5), (0.0, 0), (2.49, 2), (5.0, 5)]
)
def test_six_class_labels_round_half_up(score, label):
    from kmb.evaluation.finetune import Example
    from kmb.evaluation.sts import for_head, six_class_label

    assert six_class_label(score) == label
    assert for_head([Example([2, 3], score)], "6class")[0].label == label


def test_six_class_encoding_rounds_half_up(tiny_models):
    from kmb.evaluation.sts import encode_pairs
    from kmb.evaluation.sts_data import StsPair
    from kmb.vocab.tokenizers import load_tokenizer

    pairs = [StsPair("두통이 심하다.", "머리가 아프다.", s) for s in (0.5, 2.5, 4.5)]
    assert [e.label for e in encode_pairs(pairs, load_tokenizer(tiny_models[0]), 32, "6class")] == [1, 3, 5]


def test_sts_on_a_tiny_roberta_without_token_types(tiny_roberta, tmp_path):
    # kmb's WordPiece tokenizer gives segment ids 0/1; a RoBERTa has one segment type, so they must not reach it.
    models = resolve_models([f"roberta={tiny_roberta}"])
    result = run_sts(
        models,
        SAMPLES / "sts" / "medical_sts_train.tsv",
        SAMPLES / "sts" / "medical_sts_test.tsv",
        tmp_path / "out",
        config=FinetuneConfig(**QUICK),
        max_train=40,
        max_test=20,
        progress=lambda _: None,
    )
    for head in ("regression", "6class"):
        assert -1.0 <= result["models"]["roberta"][head]["pearson"] <= 1.0
    assert (tmp_path / "out" / "sts.md").is_file()
