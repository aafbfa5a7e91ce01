"""Step 4 of `kmb pretrain` (kmb.training.start_model): the model trained, from the base model or from
scratch; its heads described; embeddings grown for an extended vocab."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from kmb.errors import KmbError
from kmb.training.config import PretrainConfig
from kmb.training.pretrain import run_pretraining


def test_extended_vocab_grows_the_embeddings(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    tokens = helpers.vocab_tokens()
    extended = helpers.save_tokenizer(tmp_path / "extended", tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=extended, output="ext"))
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens) + 2


def test_from_scratch_with_config_tiny_and_the_workspace_vocab(corpus_workspace, helpers):
    helpers.save_tokenizer(corpus_workspace.vocab("mine"), helpers.vocab_tokens())
    cfg = PretrainConfig(
        workspace=corpus_workspace.root,
        config="tiny",
        output="scratch",
        batch_size=8,
        max_steps=2,
        precision="fp32",
        progress=False,
        static_masking=True,
    )
    summary = run_pretraining(cfg)
    assert summary["tokenizer"].endswith("vocab/mine") and summary["steps"] == 2
    with pytest.raises(KmbError, match="either --base-model or --config"):
        run_pretraining(PretrainConfig(workspace=corpus_workspace.root, config="tiny", base_model="x"))


def test_the_paper_recipe_initialises_new_embeddings_from_a_normal(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    from transformers import BertForPreTraining

    from kmb.training.inputs import check_inputs
    from kmb.training.start_model import pretraining_model
    from kmb.vocab.extend import extend_embeddings
    from kmb.vocab.tokenizers import load_tokenizer

    extended = helpers.save_tokenizer(tmp_path / "extended", helpers.vocab_tokens() + ["고혈압약", "##환자"])
    for recipe, init in (("paper", "normal"), ("modern", "subword-mean")):
        inputs = check_inputs(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=extended, recipe=recipe))
        assert inputs.config.init == init
        model, _ = pretraining_model(inputs.config, inputs)
        expected = extend_embeddings(
            BertForPreTraining.from_pretrained(str(tiny_base_dir)),
            load_tokenizer(tiny_base_dir),
            load_tokenizer(extended),
            init=init,
            seed=inputs.config.seed,
        )
        torch.testing.assert_close(
            model.bert.embeddings.word_embeddings.weight,
            expected.bert.embeddings.word_embeddings.weight,
            rtol=0,
            atol=0,
        )
    helpers.nothing_written(corpus_workspace)


def test_a_plain_bert_model_base_says_its_heads_start_random(corpus_workspace, tmp_path, helpers, capsys):
    from transformers import BertConfig, BertModel

    tokens = helpers.vocab_tokens()
    base = tmp_path / "plain"
    BertModel(
        BertConfig(
            vocab_size=len(tokens),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
        )
    ).save_pretrained(str(base))
    helpers.save_tokenizer(base, tokens)
    summary = run_pretraining(helpers.short_config(corpus_workspace, base, output="plain"))
    assert summary["heads"] == "MLM and NSP freshly initialised (not in the checkpoint)"
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kmb: warning")]
    assert warnings == [
        f"kmb: warning: {base}: the MLM and NSP heads start random (not in the checkpoint), "
        "so the start model's scores are no baseline"
    ]
    card = (Path(summary["model"]) / "README.md").read_text()
    assert (
        "- pretraining heads: MLM and NSP freshly initialised (not in the checkpoint); the start model's "
        "MLM/NSP scores below are therefore no baseline"
    ) in card


def test_heads_are_described_from_the_keys_missing_in_the_checkpoint():
    from kmb.training.start_model import describe_heads

    assert describe_heads(set()) == ("MLM and NSP from the checkpoint", [])
    assert describe_heads({"cls.seq_relationship.weight", "cls.seq_relationship.bias"}) == (
        "NSP freshly initialised (not in the checkpoint), MLM from the checkpoint",
        ["NSP"],
    )
    assert describe_heads({"cls.predictions.bias", "cls.predictions.transform.dense.weight"})[1] == ["MLM"]


def test_a_bert_saved_as_a_legacy_bin_file_is_a_start_model(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    # pytorch_model.bin in torch's legacy (non-zip) format, as old hub models have it: transformers
    # loads it, so kmb does too, with the same weights
    import shutil

    from transformers import BertForPreTraining

    from kmb.training.inputs import check_inputs
    from kmb.training.start_model import pretraining_model

    legacy = tmp_path / "legacy"
    shutil.copytree(tiny_base_dir, legacy)
    (legacy / "model.safetensors").unlink()
    weights = load_file(tiny_base_dir / "model.safetensors")
    torch.save(weights, legacy / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    reference = BertForPreTraining.from_pretrained(str(legacy)).state_dict()
    inputs = check_inputs(helpers.short_config(corpus_workspace, legacy))
    assert inputs.objective == "mlm+nsp"
    model, heads = pretraining_model(inputs.config, inputs)
    assert heads == "MLM and NSP from the checkpoint"
    got = model.state_dict()
    for name, tensor in weights.items():
        torch.testing.assert_close(got[name], tensor, rtol=0, atol=0)
        torch.testing.assert_close(reference[name], tensor, rtol=0, atol=0)
    summary = run_pretraining(helpers.short_config(corpus_workspace, legacy, output="legacy"))
    assert summary["steps"] == 2 and summary["heads"] == "MLM and NSP from the checkpoint"
