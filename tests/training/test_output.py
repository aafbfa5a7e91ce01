"""Step 6 of `kmb pretrain` (kmb.training.output): the summary, models/<name>/ and its model card."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from kmb.training.metrics import read_metrics
from kmb.training.pretrain import run_pretraining


def test_summary_and_model_card_name_the_recipe_and_what_differs(corpus_workspace, tiny_base_dir, helpers):
    summary = run_pretraining(
        helpers.short_config(corpus_workspace, tiny_base_dir, output="rec", recipe="modern", static_masking=True)
    )
    differs = "lr 0.005 (paper: 1e-06); batch_size 8 (paper: 32); init subword-mean (paper: normal)"
    assert summary["recipe"] == "modern" and summary["differs from the paper"] == differs
    card = (Path(summary["model"]) / "README.md").read_text()
    assert f"Recipe: `modern`. Values that differ from the paper's: {differs}." in card
    assert "| recipe | modern |" in card and "| warmup | 0.06 |" in card and "| static_masking | True |" in card


def test_mlm_on_a_bert_saves_a_masked_lm_and_auto_continues_it_with_mlm(corpus_workspace, tiny_base_dir, helpers):
    summary = run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "bert-mlm", objective="mlm", max_steps=2))
    assert summary["objective"] == "mlm" and summary["train segments"] > 0 and "nsp loss" not in summary
    out = Path(summary["model"])
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    records = read_metrics(out / "metrics.jsonl")
    assert set(records[-1]) == {"phase", "step", "epoch", "mlm_accuracy", "mlm_loss"}
    again = run_pretraining(helpers.config(corpus_workspace, out, "bert-mlm-again", max_steps=2))
    assert again["objective"] == "mlm (auto)"  # an MLM head and no NSP head: pretrained MLM-only


def test_whole_word_masking_with_mlm_and_nsp(corpus_workspace, tiny_base_dir, helpers):
    summary = run_pretraining(
        helpers.config(corpus_workspace, tiny_base_dir, "wwm", whole_word_masking=True, max_steps=2)
    )
    assert summary["objective"] == "mlm+nsp (auto)"
    assert summary["masking"] == "whole-word (every piece of a chosen eojeol), 15%, dynamic"
    assert "whole_word_masking True (paper: False)" in summary["differs from the paper"]
    card = (Path(summary["model"]) / "README.md").read_text()
    assert "- masking: whole-word (every piece of a chosen eojeol), 15%, dynamic" in card
    assert "| whole_word_masking | True |" in card


def test_an_extended_bpe_vocab_grows_a_roberta_and_the_card_says_so(corpus_workspace, tmp_path, helpers):
    from kmb.vocab.tokenizers import load_tokenizer

    base = helpers.save_tiny_encoder(tmp_path / "roberta", "roberta")
    extended = load_tokenizer(base)
    extended.add_tokens(["고혈압", "당뇨병"])
    extended.save_pretrained(str(tmp_path / "extended"))
    summary = run_pretraining(
        helpers.config(corpus_workspace, base, "grown", tokenizer=str(tmp_path / "extended"), max_steps=2)
    )
    assert summary["vocab growth"] == "+2 tokens (400 -> 402, init normal)" and summary["objective"] == "mlm (auto)"
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["roberta.embeddings.word_embeddings.weight"].shape[0] == 402
    card = (Path(summary["model"]) / "README.md").read_text()
    for line in (
        "- base family: roberta (RobertaForMaskedLM)",
        "- objective: mlm (auto)",
        "- masking: token, 15%, dynamic",
        "- vocab growth: +2 tokens (400 -> 402, init normal)",
        "| split | sentences | segments | tokens |",
    ):
        assert line in card, line
    assert "NotNext" not in card and "nsp_accuracy" not in card
