"""The objective from --objective and the base checkpoint's heads, read from its weight names."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertModel,
    ElectraConfig,
    ElectraForPreTraining,
    ModernBertConfig,
    ModernBertForMaskedLM,
    RobertaConfig,
    RobertaForMaskedLM,
)

from kmb.errors import KmbError
from kmb.training.objectives import base_heads, checkpoint_keys, choose_objective, max_positions

SIZE = dict(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


def saved(tmp_path, model, name):
    folder = tmp_path / name
    model.save_pretrained(str(folder))
    return folder


def heads_and_objectives(folder, config):
    heads = base_heads(folder, config)
    chosen = {}
    for requested in ("auto", "mlm", "mlm+nsp"):
        try:
            chosen[requested] = choose_objective(requested, config, heads, folder)
        except KmbError as exc:
            chosen[requested] = str(exc).split(": ", 1)[1][:40]
    return (heads.mlm, heads.nsp), chosen


def test_bert_checkpoints_choose_by_their_heads(tmp_path):
    config = BertConfig(**SIZE)
    (heads, chosen) = heads_and_objectives(saved(tmp_path, BertForPreTraining(config), "pre"), config)
    assert heads == (True, True) and chosen == {"auto": "mlm+nsp", "mlm": "mlm", "mlm+nsp": "mlm+nsp"}
    (heads, chosen) = heads_and_objectives(saved(tmp_path, BertForMaskedLM(config), "mlm"), config)
    assert heads == (True, False) and chosen == {"auto": "mlm", "mlm": "mlm", "mlm+nsp": "mlm+nsp"}
    # a bare encoder: BERT's own recipe, both heads fresh (as before --objective); MLM alone is refused
    (heads, chosen) = heads_and_objectives(saved(tmp_path, BertModel(config), "bare"), config)
    assert heads == (False, False) and chosen["auto"] == "mlm+nsp" and chosen["mlm+nsp"] == "mlm+nsp"
    assert chosen["mlm"].startswith("the base model (BertModel) has no MLM")


def test_other_families_train_mlm_alone_and_an_electra_discriminator_is_refused(tmp_path):
    roberta = RobertaConfig(pad_token_id=1, max_position_embeddings=130, **SIZE)
    (heads, chosen) = heads_and_objectives(saved(tmp_path, RobertaForMaskedLM(roberta), "roberta"), roberta)
    assert heads == (True, False) and chosen["auto"] == chosen["mlm"] == "mlm"
    assert chosen["mlm+nsp"].startswith("--objective mlm+nsp: a 'roberta' model")
    modern = ModernBertConfig(
        global_attn_every_n_layers=1,
        local_attention=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
        **SIZE,
    )
    (heads, chosen) = heads_and_objectives(saved(tmp_path, ModernBertForMaskedLM(modern), "modern"), modern)
    assert heads == (True, False) and chosen["auto"] == "mlm"
    electra = ElectraConfig(embedding_size=32, **SIZE)
    (heads, chosen) = heads_and_objectives(saved(tmp_path, ElectraForPreTraining(electra), "electra"), electra)
    assert heads == (False, False)
    assert chosen["auto"] == chosen["mlm"] == "the base model (ElectraForPreTraining) h"


def test_from_scratch_is_a_bert_and_weights_are_read_from_bin_files_too(tmp_path):
    assert choose_objective("auto", BertConfig(), None) == "mlm+nsp"
    assert choose_objective("mlm", BertConfig(), None) == "mlm"
    folder = tmp_path / "bin"
    folder.mkdir()
    torch.save(BertForPreTraining(BertConfig(**SIZE)).state_dict(), folder / "pytorch_model.bin")
    assert "cls.seq_relationship.weight" in checkpoint_keys(folder)
    with pytest.raises(KmbError, match="no model weights here"):
        checkpoint_keys(tmp_path)


def test_positions_left_by_a_padding_offset():
    assert max_positions(RobertaConfig(pad_token_id=1, max_position_embeddings=514)) == 512
    assert max_positions(BertConfig(max_position_embeddings=512)) == 512


def test_weights_are_read_from_a_legacy_non_zip_bin_file(tmp_path):
    import zipfile

    model = BertForPreTraining(BertConfig(**SIZE))
    folder = tmp_path / "legacy"
    folder.mkdir()
    torch.save(model.state_dict(), folder / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(folder / "pytorch_model.bin")  # the format torch wrote before 1.6
    assert checkpoint_keys(folder) == set(model.state_dict())
    heads = base_heads(folder, model.config)
    assert (heads.mlm, heads.nsp) == (True, True)
