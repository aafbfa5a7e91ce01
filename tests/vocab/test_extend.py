"""Embedding extension: base ids keep their exact weights; a new token starts at the mean of its pieces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForPreTraining

from kmb.errors import KmbError
from kmb.vocab.extend import extend_embeddings, extend_model
from kmb.vocab.tokenizers import load_tokenizer, save_tokenizer_dir

BASE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "고", "##혈", "##압", "##은", "혈", "압", "당", "##뇨"]
NEW = BASE + ["고혈압", "##혈압", "당뇨", "[unused0]", "鬱"]  # 鬱 cannot be split by the base vocab


def tiny_model(vocab_size: int, seed: int = 0) -> BertForPreTraining:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    model = BertForPreTraining(config)
    with torch.no_grad():
        model.cls.predictions.bias.normal_()  # a trained model's bias is not zero
    return model


@pytest.fixture
def dirs(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    base.mkdir(), new.mkdir()
    save_tokenizer_dir(BASE, base), save_tokenizer_dir(NEW, new)
    return base, new


def test_subword_mean_and_exact_base_rows(dirs):
    base_dir, new_dir = dirs
    model = tiny_model(len(BASE))
    before_emb = model.get_input_embeddings().weight.detach().clone()
    before_bias = model.cls.predictions.bias.detach().clone()
    extend_embeddings(model, load_tokenizer(base_dir), load_tokenizer(new_dir), init="subword-mean")
    emb = model.get_input_embeddings().weight.detach()
    bias = model.cls.predictions.bias.detach()
    assert emb.shape[0] == len(NEW) and model.config.vocab_size == len(NEW)
    assert torch.equal(emb[: len(BASE)], before_emb) and torch.equal(bias[: len(BASE)], before_bias)
    ids = {t: i for i, t in enumerate(NEW)}
    pieces = {"고혈압": ["고", "##혈", "##압"], "##혈압": ["##혈", "##압"], "당뇨": ["당", "##뇨"]}
    for token, parts in pieces.items():
        index = [ids[p] for p in parts]
        assert torch.allclose(emb[ids[token]], before_emb[index].mean(0)), token
        assert torch.allclose(bias[ids[token]], before_bias[index].mean()), token
    for unsplittable in ("[unused0]", "鬱"):
        assert torch.allclose(emb[ids[unsplittable]], before_emb.mean(0))
    # the MLM decoder is still tied to the input embeddings, and its bias to the head's bias
    assert model.cls.predictions.decoder.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert model.cls.predictions.decoder.bias.shape[0] == len(NEW)


def test_normal_init_is_seeded_and_keeps_base_rows(dirs):
    base_dir, new_dir = dirs
    a, b = tiny_model(len(BASE)), tiny_model(len(BASE))
    before = a.get_input_embeddings().weight.detach().clone()
    extend_embeddings(a, load_tokenizer(base_dir), load_tokenizer(new_dir), init="normal", seed=3)
    extend_embeddings(b, load_tokenizer(base_dir), load_tokenizer(new_dir), init="normal", seed=3)
    ea, eb = a.get_input_embeddings().weight.detach(), b.get_input_embeddings().weight.detach()
    assert torch.equal(ea[: len(BASE)], before) and torch.equal(ea, eb)
    assert 0.001 < ea[len(BASE) :].std().item() < 0.1  # N(0, 0.02)
    assert torch.all(a.cls.predictions.bias[len(BASE) :] == 0)


def test_extend_model_writes_a_loadable_directory(dirs, tmp_path):
    base_dir, new_dir = dirs
    model_dir, out = tmp_path / "model", tmp_path / "extended"
    model = tiny_model(len(BASE))
    model.save_pretrained(str(model_dir))
    load_tokenizer(base_dir).save_pretrained(str(model_dir))
    summary = extend_model(model_dir, new_dir, out)
    assert summary["new tokens"] == len(NEW) - len(BASE)
    assert summary["init"] == "normal"  # the paper's init is the default
    assert (out / "model.safetensors").is_file()
    again = BertForPreTraining.from_pretrained(str(out))
    assert again.config.vocab_size == len(NEW)
    assert torch.equal(again.get_input_embeddings().weight[: len(BASE)], model.get_input_embeddings().weight)
    tok = load_tokenizer(out)
    assert len(tok) == len(NEW) and tok.tokenize("고혈압은") == ["고혈압", "##은"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_model_whose_vocab_size_disagrees_with_its_vocab_is_one_error(dirs, tmp_path):
    base_dir, new_dir = dirs
    model_dir, out = tmp_path / "model", tmp_path / "extended"
    tiny_model(len(BASE) + 3).save_pretrained(str(model_dir))
    load_tokenizer(base_dir).save_pretrained(str(model_dir))
    with pytest.raises(KmbError, match=f"vocab_size {len(BASE) + 3} but the directory's vocab has {len(BASE)}"):
        extend_model(model_dir, new_dir, out)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_new_vocab_that_moves_base_ids_is_refused(dirs, tmp_path):
    base_dir, _ = dirs
    moved = tmp_path / "moved"
    moved.mkdir()
    save_tokenizer_dir(BASE[:5] + ["고혈압"] + BASE[5:], moved)
    with pytest.raises(KmbError, match="first difference at id 5"):
        extend_embeddings(tiny_model(len(BASE)), load_tokenizer(base_dir), load_tokenizer(moved))


def test_cli_extend_model(dirs, tmp_path):
    from typer.testing import CliRunner

    from kmb.cli import app

    base_dir, new_dir = dirs
    model_dir, out = tmp_path / "model", tmp_path / "extended"
    tiny_model(len(BASE)).save_pretrained(str(model_dir))
    load_tokenizer(base_dir).save_pretrained(str(model_dir))
    result = CliRunner().invoke(
        app,
        [
            "vocab",
            "extend-model",
            "--model",
            str(model_dir),
            "--vocab",
            str(new_dir),
            "--out",
            str(out),
            "--init",
            "normal",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(NEW)


# --- any masked-LM family, a BPE base ----------------------------------------------------------
BPE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers" / "bpe"
NEW_TERMS = ["질환", "염증", "약물"]  # not single tokens of the BPE fixture


def bpe_extended(tmp_path) -> Path:
    """The BPE fixture with NEW_TERMS as added tokens, as `kmb vocab build` writes it."""
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(BPE_DIR))
    tok.add_tokens([AddedToken(t, lstrip=True) for t in NEW_TERMS])
    out = tmp_path / "bpe-new"
    tok.save_pretrained(str(out))
    return out


def save_masked_lm(family: str, folder: Path, vocab_size: int) -> Path:
    from transformers import AutoModelForMaskedLM, ModernBertConfig, RobertaConfig

    size = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    config = (
        RobertaConfig(max_position_embeddings=80, type_vocab_size=1, **size)
        if family == "roberta"
        else ModernBertConfig(
            max_position_embeddings=64,
            global_attn_every_n_layers=2,
            local_attention=16,
            cls_token_id=0,
            sep_token_id=2,
            **size,
        )
    )
    torch.manual_seed(0)
    model = AutoModelForMaskedLM.from_config(config)
    with torch.no_grad():
        model.get_output_embeddings().bias.normal_()  # a trained model's bias is not zero
    model.save_pretrained(str(folder))
    load_tokenizer(BPE_DIR).save_pretrained(str(folder))
    return folder


@pytest.mark.parametrize("family", ["roberta", "modernbert"])
def test_any_masked_lm_grows_and_loads_with_plain_automodel_without_kmb(family, tmp_path, plain_python):
    from transformers import AutoModelForMaskedLM

    base_tok = load_tokenizer(BPE_DIR)
    n_base = len(base_tok)
    model_dir = save_masked_lm(family, tmp_path / "model", n_base)
    out = tmp_path / "extended"
    summary = extend_model(model_dir, bpe_extended(tmp_path), out, init="subword-mean")
    assert summary["new tokens"] == len(NEW_TERMS) and summary["vocab size"] == n_base + len(NEW_TERMS)
    before, after = AutoModelForMaskedLM.from_pretrained(str(model_dir)), AutoModelForMaskedLM.from_pretrained(str(out))
    emb, old = after.get_input_embeddings().weight.detach(), before.get_input_embeddings().weight.detach()
    bias, old_bias = after.get_output_embeddings().bias.detach(), before.get_output_embeddings().bias.detach()
    assert torch.equal(emb[:n_base], old) and torch.equal(bias[:n_base], old_bias)
    for i, term in enumerate(NEW_TERMS):
        pieces = base_tok.convert_tokens_to_ids(base_tok.tokenize(term))
        torch.testing.assert_close(emb[n_base + i], old[pieces].mean(0))
        torch.testing.assert_close(bias[n_base + i], old_bias[pieces].mean())
    ids = base_tok("환자 질환 치료", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = before(input_ids=ids).logits
    torch.save({"ids": ids, "logits": expected}, tmp_path / "reference.pt")
    script = f"""
import sys, torch
from transformers import AutoModelForMaskedLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained({str(out)!r})
model = AutoModelForMaskedLM.from_pretrained({str(out)!r}).eval()
assert len(tok) == model.config.vocab_size == model.get_input_embeddings().weight.shape[0] == {n_base + len(NEW_TERMS)}
assert tok.convert_ids_to_tokens(tok("질환이", add_special_tokens=False)["input_ids"])[0] == "질환"
ref = torch.load({str(tmp_path / "reference.pt")!r})
with torch.no_grad():
    logits = model(input_ids=ref["ids"]).logits
torch.testing.assert_close(logits[..., :{n_base}], ref["logits"])
assert not any(m == "kmb" or m.startswith("kmb.") for m in sys.modules)
print(type(model).__name__)
"""
    done = plain_python(script, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == type(before).__name__


@pytest.mark.parametrize("family", ["roberta", "modernbert"])
def test_a_tokenizer_that_does_not_match_the_model_is_one_error_and_writes_nothing(family, tmp_path):
    model_dir = save_masked_lm(family, tmp_path / "model", len(load_tokenizer(BPE_DIR)) + 3)
    out = tmp_path / "extended"
    with pytest.raises(KmbError, match="the model and its vocab do not belong together"):
        extend_model(model_dir, bpe_extended(tmp_path), out)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
