"""The fine-tuning loop: padding per batch, order kept by length-sorted prediction, and it learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kmb.errors import KmbError
from kmb.evaluation import metrics
from kmb.evaluation.finetune import Example, collate, load_for_finetuning, predict, train
from kmb.evaluation.ner import decode
from kmb.evaluation.ner_data import label_list, read_ner, tokenize_windows
from kmb.evaluation.options import GRIDS, FinetuneConfig

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "ner" / "medical_ner_sample.txt"


def test_collate_pads_to_the_batch_longest():
    batch = collate(
        [Example([2, 7, 3], [-100, 1, -100]), Example([2, 8, 9, 10, 3], [-100, 0, 2, -100, -100])], pad_id=0
    )
    assert batch["input_ids"].shape == (2, 5)  # not 128
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["labels"][0].tolist() == [-100, 1, -100, -100, -100]
    seq = collate([Example([2, 3], 2.5, [0, 0]), Example([2, 5, 3], 4.0, [0, 0, 1])], pad_id=0)
    assert seq["labels"].tolist() == [2.5, 4.0] and seq["token_type_ids"][1].tolist() == [0, 0, 1]


def test_grids():
    assert len(GRIDS["paper"]) == 9 and {lr for lr, _ in GRIDS["paper"]} == {2e-5, 3e-5, 5e-5}
    assert len(GRIDS["quick"]) == 1
    with pytest.raises(KmbError, match="--grid must be paper, quick or LR:EPOCHS"):
        FinetuneConfig(grid="huge").settings()
    assert FinetuneConfig(grid="1e-3:5,5e-4:3").settings() == [(1e-3, 5), (5e-4, 3)]
    with pytest.raises(KmbError, match="at least 1 epoch"):
        FinetuneConfig(grid="1e-3:0").settings()


def test_sorted_prediction_keeps_input_order(tiny_models):
    model = load_for_finetuning(tiny_models[0], "sequence", 1)
    examples = [Example([2] + [10 + i] * n + [3], 0.0) for i, n in enumerate([9, 1, 5, 3, 7])]
    config = FinetuneConfig(batch_size=2)
    sorted_logits = predict(model, examples, config=config, pad_id=0)
    one_by_one = [predict(model, [e], config=config, pad_id=0)[0] for e in examples]
    np.testing.assert_allclose(np.array(sorted_logits), np.array(one_by_one), atol=1e-5)


def test_training_loop_learns(tiny_models):
    from kmb.vocab.tokenizers import load_tokenizer

    sentences = read_ner(SAMPLE, "kmbert")[:16]
    labels = label_list(sentences)
    windows = tokenize_windows(sentences, load_tokenizer(tiny_models[0]), {t: i for i, t in enumerate(labels)}, 128)
    examples = [Example(w.input_ids, w.labels) for w in windows]
    torch.manual_seed(0)  # the new head's initialisation must not depend on the tests run before
    model = load_for_finetuning(tiny_models[0], "token", len(labels))
    config = FinetuneConfig(batch_size=4)
    gold = [s.tags for s in sentences]

    def f1() -> float:
        return metrics.entity_scores(
            gold, decode(sentences, windows, predict(model, examples, config=config, pad_id=0), labels)
        )["micro"]["f1"]

    before = f1()
    train(model, examples, lr=5e-3, epochs=20, config=config, pad_id=0, seed=0)
    assert f1() > before + 0.3  # it fits its training sentences: the loop really trains


def test_token_types_only_for_models_that_read_them(tiny_models, tiny_roberta, tiny_modernbert):
    from kmb.evaluation.finetune import model_batch, uses_token_types

    bert = load_for_finetuning(tiny_models[0], "sequence", 1)
    roberta = load_for_finetuning(tiny_roberta, "token", 3)
    modernbert = load_for_finetuning(tiny_modernbert, "token", 3)
    assert uses_token_types(bert) and not uses_token_types(roberta) and not uses_token_types(modernbert)
    batch = collate([Example([2, 7, 3, 8, 3], [-100, 1, -100, 2, -100], [0, 0, 0, 1, 1])], pad_id=0)
    assert "token_type_ids" in model_batch(bert, batch, torch.device("cpu"))
    for model in (roberta, modernbert):
        inputs = model_batch(model, batch, torch.device("cpu"))
        assert "token_type_ids" not in inputs
        assert model(**inputs).loss is not None  # segment id 1 would be out of range for RoBERTa's one type


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"max_length": 4}, "--max-length must be at least 5"),
        ({"seed": -1}, "--seed must be between 0 and 4294967295"),
        ({"dev_fraction": 0.0}, "--dev-fraction must be between 0 and 1"),
        ({"dev_fraction": 1.0}, "--dev-fraction must be between 0 and 1"),
        ({"dev_fraction": float("nan")}, "--dev-fraction must be between 0 and 1"),
        ({"grid": "1e-3:0"}, "at least 1 epoch"),
    ],
)
def test_finetune_config_checks_every_number(changes, message):
    with pytest.raises(KmbError, match=message):
        FinetuneConfig(**changes).check()
    FinetuneConfig().check()
