"""Step 1 of `kmb pretrain` (kmb.training.inputs): the corpus, the base model and its heads, the tokenizer
and the vocab sizes; a bad one is one clear line and nothing is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from kmb.errors import KmbError
from kmb.training.config import PretrainConfig
from kmb.training.pretrain import run_pretraining


def test_no_corpus(workspace, tiny_base_dir, helpers):
    with pytest.raises(KmbError, match="no corpus sentences"):
        run_pretraining(helpers.short_config(workspace, tiny_base_dir))
    helpers.nothing_written(workspace)


def test_empty_validation_split(workspace, tiny_base_dir, helpers):
    helpers.write_sentences(workspace, [r for r in helpers.make_sentence_rows(30) if r["split"] == "train"])
    with pytest.raises(KmbError, match="no 'valid' sentences"):
        run_pretraining(helpers.short_config(workspace, tiny_base_dir))
    helpers.nothing_written(workspace)


def test_tokenizer_that_does_not_match_the_model(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    tokens = helpers.vocab_tokens()
    small = helpers.save_tokenizer(tmp_path / "small", tokens[:-10])
    with pytest.raises(KmbError, match=r"has \d+ tokens but the model has \d+ token embeddings"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=small))
    shuffled = helpers.save_tokenizer(tmp_path / "shuffled", tokens[:5] + tokens[5:][::-1])
    with pytest.raises(KmbError, match="not the same ones"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=shuffled))
    helpers.nothing_written(corpus_workspace)


def test_base_model_that_is_not_a_masked_lm(corpus_workspace, tmp_path, helpers):
    from transformers import GPT2Config

    folder = tmp_path / "gpt2"
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(str(folder))
    with pytest.raises(
        KmbError,
        match="'gpt2' model, which has no masked-LM class in transformers; kmb pretrain continues masked-LM encoders",
    ):
        run_pretraining(helpers.short_config(corpus_workspace, folder))
    helpers.nothing_written(corpus_workspace)


def test_missing_hub_id_offline_is_one_line(corpus_workspace, tmp_path, helpers):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), PYTHONPATH="")
    kmb = Path(sys.executable).parent / "kmb"
    done = subprocess.run(
        [
            str(kmb),
            "pretrain",
            "--workspace",
            str(corpus_workspace.root),
            "--base-model",
            "nobody/no-such-bert",
            "--output",
            "bad",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and "HF_HUB_OFFLINE" in lines[0], done.stderr
    helpers.nothing_written(corpus_workspace)


def test_without_tokenizer_the_base_models_own_is_used_even_with_a_workspace_vocab(
    corpus_workspace, tiny_base_dir, helpers, capsys
):
    tokens = helpers.vocab_tokens()
    helpers.save_tokenizer(corpus_workspace.vocab("medical"), tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, output="own"))
    assert summary["tokenizer"] == str(tiny_base_dir) and summary["tokenizer from"] == "base model"
    assert summary["vocab size"] == len(tokens)
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens)
    card = (Path(summary["model"]) / "README.md").read_text()
    assert f"- tokenizer: {tiny_base_dir} (base model, {len(tokens)} tokens)" in card
    # a BertForPreTraining checkpoint brings both heads: no warning
    assert summary["heads"] == "MLM and NSP from the checkpoint"
    assert "- pretraining heads: MLM and NSP from the checkpoint\n" in card
    assert "kmb: warning" not in capsys.readouterr().err


def test_tokenizer_workspace_selects_the_extended_vocab(corpus_workspace, tiny_base_dir, helpers):
    tokens = helpers.vocab_tokens()
    vocab = helpers.save_tokenizer(corpus_workspace.vocab("medical"), tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(
        helpers.short_config(corpus_workspace, tiny_base_dir, output="ext", tokenizer="workspace")
    )
    assert summary["tokenizer"] == str(vocab) and summary["tokenizer from"] == "workspace vocab"
    assert summary["vocab size"] == len(tokens) + 2
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens) + 2
    card = (Path(summary["model"]) / "README.md").read_text()
    assert f"- tokenizer: {vocab} (workspace vocab, {len(tokens) + 2} tokens)" in card


def test_no_tokenizer_to_use_is_a_clear_error(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    with pytest.raises(KmbError, match="no tokenizer in the workspace: build one with `kmb vocab build`"):
        run_pretraining(PretrainConfig(workspace=corpus_workspace.root, config="tiny", output="bad"))
    with pytest.raises(KmbError, match="no tokenizer in the workspace"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer="workspace"))
    bare = helpers.save_tiny_bert(tmp_path / "bare", len(helpers.vocab_tokens()))
    helpers.save_tokenizer(corpus_workspace.vocab("medical"), helpers.vocab_tokens())  # never picked silently
    with pytest.raises(KmbError, match="the base model has no tokenizer"):
        run_pretraining(helpers.short_config(corpus_workspace, bare))
    helpers.nothing_written(corpus_workspace)


def test_an_unknown_objective_is_one_line_and_writes_nothing(corpus_workspace, tiny_base_dir, helpers):
    from typer.testing import CliRunner

    from kmb.cli import app

    result = CliRunner().invoke(
        app,
        [
            "pretrain",
            "--workspace",
            str(corpus_workspace.root),
            "--base-model",
            str(tiny_base_dir),
            "--output",
            "bad",
            "--objective",
            "nsp",
        ],
    )
    assert result.exit_code != 0 and str(result.exception) == "--objective must be auto, mlm or mlm+nsp, not 'nsp'"
    helpers.nothing_written(corpus_workspace)


def test_mlm_and_nsp_on_a_family_without_an_nsp_head_is_refused(corpus_workspace, tmp_path, helpers):
    roberta = helpers.save_tiny_encoder(tmp_path / "roberta", "roberta")
    with pytest.raises(KmbError, match="--objective mlm\\+nsp: a 'roberta' model has no NSP head"):
        run_pretraining(helpers.short_config(corpus_workspace, roberta, objective="mlm+nsp"))
    helpers.nothing_written(corpus_workspace)


@pytest.mark.parametrize("objective", ["auto", "mlm"])
def test_a_base_without_an_mlm_head_is_refused(corpus_workspace, tmp_path, helpers, objective):
    from transformers import ElectraConfig, ElectraForPreTraining

    # an ELECTRA discriminator: an encoder without an MLM head
    electra = tmp_path / "electra"
    ElectraForPreTraining(
        ElectraConfig(
            vocab_size=400,
            embedding_size=32,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
        )
    ).save_pretrained(str(electra))
    for path in helpers.bpe_tokenizer.iterdir():
        (electra / path.name).write_bytes(path.read_bytes())
    with pytest.raises(KmbError, match=r"the base model \(ElectraForPreTraining\) has no MLM head in its checkpoint"):
        run_pretraining(helpers.short_config(corpus_workspace, electra, objective=objective))
    helpers.nothing_written(corpus_workspace)


def test_a_tokenizer_smaller_than_a_robertas_embeddings_is_refused(corpus_workspace, tmp_path, helpers):
    roberta = helpers.save_tiny_encoder(tmp_path / "roberta", "roberta")
    unigram = helpers.bpe_tokenizer.parent / "unigram"
    with pytest.raises(KmbError, match="the tokenizer has 107 tokens but the model has 400 token embeddings"):
        run_pretraining(helpers.short_config(corpus_workspace, roberta, tokenizer=str(unigram)))
    helpers.nothing_written(corpus_workspace)


def test_token_ids_beyond_the_embeddings_are_refused(corpus_workspace, tmp_path, helpers):
    small = helpers.save_tiny_encoder(tmp_path / "small", "roberta", vocab_size=300)
    with pytest.raises(KmbError, match="the tokenizer has token ids up to 399 but the model only 300 token embeddings"):
        run_pretraining(helpers.short_config(corpus_workspace, small))
    helpers.nothing_written(corpus_workspace)


def test_the_base_models_own_tokenizer_may_be_smaller_than_padded_embeddings(corpus_workspace, tmp_path, helpers):
    # ModernBERT pads its embedding matrix beyond its tokenizer; random replacements stay in the tokenizer
    base = helpers.save_tiny_encoder(tmp_path / "padded", "modernbert", vocab_size=448)
    summary = run_pretraining(helpers.config(corpus_workspace, base, "padded", max_steps=2))
    assert summary["objective"] == "mlm (auto)" and summary["vocab size"] == 400 and summary["vocab growth"] == "none"


def test_hidden_vocab_folders_are_never_the_workspace_tokenizer(corpus_workspace, tiny_base_dir, helpers):
    from kmb.training.inputs import check_inputs

    tokens = helpers.vocab_tokens()
    vocab = helpers.save_tokenizer(corpus_workspace.vocab("medical"), tokens + ["고혈압약"])
    # newer than vocab/medical/: a vocab being written, or left by a killed writer
    hidden = helpers.save_tokenizer(corpus_workspace.root / "vocab" / ".x.tmp", tokens + ["고혈압약", "##환자"])
    later = vocab.stat().st_mtime + 60
    os.utime(hidden, (later, later))
    scratch = PretrainConfig(workspace=corpus_workspace.root, config="tiny", output="scratch")
    assert check_inputs(scratch).tokenizer_dir == vocab
    inputs = check_inputs(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer="workspace"))
    assert inputs.tokenizer_dir == vocab and len(inputs.tokenizer) == len(tokens) + 1
    shutil.rmtree(vocab)
    with pytest.raises(KmbError, match="no tokenizer in the workspace"):
        check_inputs(scratch)
    helpers.nothing_written(corpus_workspace)


def extended_tokens(helpers) -> list[str]:
    return helpers.vocab_tokens() + ["고혈압약", "##환자"]


def test_a_tokenizer_that_does_not_extend_the_base_vocab_is_refused_before_writing(
    corpus_workspace, tiny_base_dir, tmp_path, helpers
):
    tokens = extended_tokens(helpers)
    # more tokens than the model, but the base's are not kept at their ids
    moved = helpers.save_tokenizer(tmp_path / "moved", tokens[:7] + tokens[7:][::-1])
    with pytest.raises(KmbError, match=r"does not keep the base vocab at the same ids \(first difference at id 7\)"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=moved))
    # one base token left out (another takes its id)
    dropped = helpers.save_tokenizer(tmp_path / "dropped", tokens[:10] + tokens[11:] + ["고혈압환자"])
    with pytest.raises(KmbError, match=r"first difference at id 10\)"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=dropped, objective="mlm"))
    assert not corpus_workspace.pretrain("bad").exists()
    helpers.nothing_written(corpus_workspace)


def test_a_bad_init_is_refused_before_writing(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    from kmb.training.config import INITS
    from kmb.vocab.extend import INITS as EXTEND_INITS

    assert INITS == EXTEND_INITS
    extended = helpers.save_tokenizer(tmp_path / "extended", extended_tokens(helpers))
    with pytest.raises(KmbError, match="--init must be normal or subword-mean, not 'mean'"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, tokenizer=extended, init="mean"))
    assert not corpus_workspace.pretrain("bad").exists()
    helpers.nothing_written(corpus_workspace)
