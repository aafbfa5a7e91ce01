"""The masked-only MLM head of every family (BERT, RoBERTa, XLM-R, ModernBERT, DistilBERT, ALBERT,
the ELECTRA generator, DeBERTa-v2) equals the full head: the same loss and gradients as plain
AutoModelForMaskedLM, and its saved directory is a plain one. A family whose head kmb does not know
takes the general path (the family's own forward) with the same result."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import (
    AlbertConfig,
    AutoModelForMaskedLM,
    BertConfig,
    DebertaV2Config,
    DistilBertConfig,
    ElectraConfig,
    ModernBertConfig,
    RobertaConfig,
    XLMRobertaConfig,
)

from kmb.errors import KmbError
from kmb.training.masking import mask_tokens, masked_positions
from kmb.training.model import masked_only_class, masked_only_mlm

VOCAB, PAD, CLS, SEP, MASK = 300, 1, 0, 2, 4
SIZE = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def tiny_config(family: str):
    small = dict(max_position_embeddings=128, pad_token_id=PAD)
    if family == "distilbert":
        return DistilBertConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=2, hidden_dim=64, dropout=0.0,
                                attention_dropout=0.0, **small)  # fmt: skip
    if family in ("albert", "electra"):  # ALBERT; the ELECTRA generator (its masked-LM half)
        config_class = AlbertConfig if family == "albert" else ElectraConfig
        return config_class(
            embedding_size=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **SIZE, **small
        )
    if family == "deberta-v2":
        return DebertaV2Config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **SIZE, **small)
    if family == "bert":
        return BertConfig(
            max_position_embeddings=128,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            pad_token_id=PAD,
            **SIZE,
        )
    if family in ("roberta", "xlm-roberta"):  # positions start after the padding id, as in RoBERTa
        config_class = XLMRobertaConfig if family == "xlm-roberta" else RobertaConfig
        return config_class(
            max_position_embeddings=130,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            pad_token_id=PAD,
            bos_token_id=CLS,
            eos_token_id=SEP,
            type_vocab_size=1,
            **SIZE,
        )
    return ModernBertConfig(
        max_position_embeddings=128,
        pad_token_id=PAD,
        bos_token_id=CLS,
        eos_token_id=SEP,
        cls_token_id=CLS,
        sep_token_id=SEP,
        global_attn_every_n_layers=2,
        local_attention=16,
        **SIZE,
    )


def make_batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, VOCAB, (6, 40), generator=g)
    ids[:, 0], ids[:, -1] = CLS, SEP
    attention = torch.ones_like(ids)
    attention[3:, 30:] = 0
    ids[3:, 30:] = PAD
    ids[3:, 29] = SEP
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    masked, labels = mask_tokens(ids, special, mask_token_id=MASK, vocab_size=VOCAB, generator=g)
    return dict(input_ids=masked, attention_mask=attention, labels=labels)


def pair(family: str):
    torch.manual_seed(0)
    config = tiny_config(family)
    ours = masked_only_mlm(config, attn_implementation="sdpa").eval()  # eager where the family has no SDPA
    plain = AutoModelForMaskedLM.from_config(config, attn_implementation=ours.config._attn_implementation).eval()
    ours.load_state_dict(plain.state_dict())
    return plain, ours


FAMILIES = ["bert", "roberta", "modernbert", "distilbert", "albert", "electra", "deberta-v2"]


@pytest.mark.parametrize("family", FAMILIES + ["xlm-roberta"])
@pytest.mark.parametrize("index_list", [False, True])
def test_masked_only_head_equals_the_full_head(family, index_list):
    plain, ours = pair(family)
    assert type(ours).__name__ == f"MaskedOnly{type(plain).__name__}"
    batch = make_batch()
    extra = {"masked_positions": torch.from_numpy(masked_positions(batch["labels"].numpy()))} if index_list else {}
    expected = plain(**batch).loss
    got = ours(**batch, **extra)
    torch.testing.assert_close(got.loss, expected, rtol=1e-5, atol=1e-6)
    n_targets = int((batch["labels"] != -100).sum())
    assert int(got.mlm_count) == n_targets
    assert got.logits.shape[0] == (len(extra["masked_positions"]) if index_list else n_targets)
    expected.backward()
    got.loss.backward()
    for (name, p_plain), (_, p_ours) in zip(plain.named_parameters(), ours.named_parameters()):
        assert p_plain.grad is not None, name
        torch.testing.assert_close(p_ours.grad, p_plain.grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("family", FAMILIES)
def test_without_labels_it_gives_the_full_logits(family):
    plain, ours = pair(family)
    batch = make_batch()
    del batch["labels"]
    with torch.no_grad():
        torch.testing.assert_close(ours(**batch).logits, plain(**batch).logits)


def test_global_count_normalises_the_loss():
    _, ours = pair("roberta")
    batch = make_batch()
    local = ours(**batch).loss
    n_masked = int((batch["labels"] != -100).sum())
    torch.testing.assert_close(ours(**batch, num_items_in_batch=torch.tensor(2 * n_masked)).loss, local / 2)
    torch.testing.assert_close(ours(**batch, num_items_in_batch=torch.tensor([2 * n_masked, 12])).loss, local / 2)


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_directory_loads_with_plain_automodel_without_kmb(family, tmp_path, plain_python):
    plain, ours = pair(family)
    folder = tmp_path / family
    ours.save_pretrained(str(folder))
    assert json.loads((folder / "config.json").read_text())["architectures"] == [type(plain).__name__]
    batch = make_batch()
    with torch.no_grad():
        expected = plain(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    torch.save(
        {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "logits": expected},
        tmp_path / "reference.pt",
    )
    script = f"""
import sys, torch
from transformers import AutoModelForMaskedLM
model = AutoModelForMaskedLM.from_pretrained({str(folder)!r}).eval()
ref = torch.load({str(tmp_path / "reference.pt")!r})
with torch.no_grad():
    logits = model(input_ids=ref["input_ids"], attention_mask=ref["attention_mask"]).logits
torch.testing.assert_close(logits, ref["logits"])
assert not any(m == "kmb" or m.startswith("kmb.") for m in sys.modules)
print(type(model).__name__)
"""
    done = plain_python(script, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == type(plain).__name__
    again = masked_only_mlm(folder)  # and back into the masked-only class, same weights
    assert torch.equal(again.get_input_embeddings().weight, ours.get_input_embeddings().weight)


def test_deberta_v2_runs_with_its_own_attention():
    _, ours = pair("deberta-v2")
    assert ours.config._attn_implementation == "eager" and pair("bert")[1].config._attn_implementation == "sdpa"


@pytest.mark.parametrize("family", ["electra", "deberta-v2"])
def test_a_head_kmb_does_not_know_takes_the_general_path(family, monkeypatch):
    plain, ours = pair(family)
    monkeypatch.setattr(ours, "kmb_known_head", False)  # as for a family whose head is not listed
    batch = make_batch()
    expected = plain(**batch).loss
    got = ours(**batch, masked_positions=torch.from_numpy(masked_positions(batch["labels"].numpy())))
    torch.testing.assert_close(got.loss, expected, rtol=1e-5, atol=1e-6)
    assert int(got.mlm_count) == int((batch["labels"] != -100).sum())


def test_one_class_per_family_and_a_model_without_an_mlm_class_is_one_error():
    from transformers import BertForMaskedLM, BertModel

    assert masked_only_class(BertForMaskedLM) is masked_only_class(BertForMaskedLM)
    headless = masked_only_class(BertModel)(BertConfig(**SIZE))
    assert headless.mlm_logits(torch.zeros(1, 32)) is None  # no head: the general path
    from transformers import GPT2Config

    with pytest.raises(KmbError, match="no AutoModelForMaskedLM"):
        masked_only_mlm(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=VOCAB))
