"""Bad input to `kmb pretrain` gives one clear line and writes nothing; vocab extension and --config work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from kmb.errors import KmbError
from kmb.training.pretrain import PretrainConfig, run_pretraining


def _config(ws, base, **kw):
    values = dict(workspace=ws.root, base_model=str(base), output="bad", batch_size=8, lr=5e-3, precision="fp32",
                  max_steps=2, logging_steps=1, progress=False)
    values.update(kw)
    return PretrainConfig(**values)


def _nothing_written(ws):
    assert not ws.model("bad").exists()
    assert not list((ws.root / "models").iterdir())
    assert not (ws.pretrain("bad") / "shards").exists()


def test_no_corpus(workspace, tiny_base_dir):
    with pytest.raises(KmbError, match="no corpus sentences"):
        run_pretraining(_config(workspace, tiny_base_dir))
    _nothing_written(workspace)


@pytest.mark.parametrize("option, message", [
    (dict(max_length=4), "--max-length must be between 8 and 512"),
    (dict(profile_steps=-1), "--profile-steps must be 0"),
    (dict(compile_mode="fast"), "unknown --compile-mode 'fast'"),
    (dict(batch_size=8, grad_accum=3), "not divisible"),
])
def test_bad_numbers_are_refused_before_anything_is_written(corpus_workspace, tiny_base_dir, option, message):
    with pytest.raises(KmbError, match=message):
        run_pretraining(_config(corpus_workspace, tiny_base_dir, **option))
    _nothing_written(corpus_workspace)


def test_empty_validation_split(workspace, tiny_base_dir, helpers):
    helpers.write_sentences(workspace, [r for r in helpers.make_sentence_rows(30) if r["split"] == "train"])
    with pytest.raises(KmbError, match="no 'valid' sentences"):
        run_pretraining(_config(workspace, tiny_base_dir))
    _nothing_written(workspace)


def test_tokenizer_that_does_not_match_the_model(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    tokens = helpers.vocab_tokens()
    small = helpers.save_tokenizer(tmp_path / "small", tokens[:-10])
    with pytest.raises(KmbError, match=r"has \d+ tokens but the model has \d+ token embeddings"):
        run_pretraining(_config(corpus_workspace, tiny_base_dir, tokenizer=small))
    shuffled = helpers.save_tokenizer(tmp_path / "shuffled", tokens[:5] + tokens[5:][::-1])
    with pytest.raises(KmbError, match="not the same ones"):
        run_pretraining(_config(corpus_workspace, tiny_base_dir, tokenizer=shuffled))
    _nothing_written(corpus_workspace)


def test_base_model_that_is_not_bert(corpus_workspace, tmp_path):
    from transformers import GPT2Config

    folder = tmp_path / "gpt2"
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(str(folder))
    with pytest.raises(KmbError, match="'gpt2' model; kmb pretrain continues BERT models only"):
        run_pretraining(_config(corpus_workspace, folder))
    _nothing_written(corpus_workspace)


def test_missing_hub_id_offline_is_one_line(corpus_workspace, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), PYTHONPATH="")
    kmb = Path(sys.executable).parent / "kmb"
    done = subprocess.run([str(kmb), "pretrain", "--workspace", str(corpus_workspace.root), "--base-model",
                           "nobody/no-such-bert", "--output", "bad"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and "HF_HUB_OFFLINE" in lines[0], done.stderr
    _nothing_written(corpus_workspace)


def test_extended_vocab_grows_the_embeddings(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    tokens = helpers.vocab_tokens()
    extended = helpers.save_tokenizer(tmp_path / "extended", tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, tokenizer=extended, output="ext"))
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens) + 2


def test_from_scratch_with_config_tiny_and_the_workspace_vocab(corpus_workspace, helpers):
    helpers.save_tokenizer(corpus_workspace.vocab("mine"), helpers.vocab_tokens())
    cfg = PretrainConfig(workspace=corpus_workspace.root, config="tiny", output="scratch", batch_size=8,
                         max_steps=2, precision="fp32", progress=False, static_masking=True)
    summary = run_pretraining(cfg)
    assert summary["tokenizer"].endswith("vocab/mine") and summary["steps"] == 2
    with pytest.raises(KmbError, match="either --base-model or --config"):
        run_pretraining(PretrainConfig(workspace=corpus_workspace.root, config="tiny", base_model="x"))
