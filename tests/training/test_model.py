"""The masked-only MLM head gives the same loss and gradients as plain BertForPreTraining."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForPreTraining

from kmb.training.masking import mask_tokens, masked_positions, max_selected
from kmb.training.model import MaskedOnlyBertForPreTraining

CONFIG = dict(
    vocab_size=300,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=128,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)


def _batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 300, (6, 40), generator=g)
    ids[:, 0] = 2
    ids[:, 20] = 3
    ids[:, -1] = 3
    attention = torch.ones_like(ids)
    attention[3:, 30:] = 0
    ids[3:, 30:] = 0
    ids[3:, 29] = 3
    special = (ids == 0) | (ids == 2) | (ids == 3)
    masked, labels = mask_tokens(ids, special, mask_token_id=4, vocab_size=300, generator=g)
    token_type = torch.zeros_like(ids)
    token_type[:, 21:] = 1
    nsp = torch.tensor([0, 1, 0, 1, 1, 0])
    return dict(
        input_ids=masked, attention_mask=attention, token_type_ids=token_type, labels=labels, next_sentence_label=nsp
    )


def test_masked_only_head_equals_full_head_loss_and_gradients():
    torch.manual_seed(0)
    plain = BertForPreTraining(BertConfig(**CONFIG)).eval()
    ours = MaskedOnlyBertForPreTraining(BertConfig(**CONFIG)).eval()
    ours.load_state_dict(plain.state_dict())
    batch = _batch()
    expected = plain(**batch).loss
    got = ours(**batch)
    torch.testing.assert_close(got.loss, expected, rtol=1e-5, atol=1e-6)
    assert got.prediction_logits.shape == (int((batch["labels"] != -100).sum()), 300)
    expected.backward()
    got.loss.backward()
    for (name, p_plain), (_, p_ours) in zip(plain.named_parameters(), ours.named_parameters()):
        torch.testing.assert_close(p_ours.grad, p_plain.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_global_counts_normalise_the_two_losses():
    torch.manual_seed(0)
    model = MaskedOnlyBertForPreTraining(BertConfig(**CONFIG)).eval()
    batch = _batch()
    local = model(**batch)
    n_masked = int((batch["labels"] != -100).sum())
    # Counts twice as large (as if another process had as many): both losses halve.
    doubled = model(**batch, num_items_in_batch=torch.tensor([2 * n_masked, 12]))
    torch.testing.assert_close(doubled.loss, local.loss / 2)


def test_fixed_size_gather_equals_the_boolean_gather():
    """The collator's index list (padded to a size fixed by the batch shape) gives the same loss,
    gradients and counts as selecting by labels, and a logits shape that depends only on the shape."""
    torch.manual_seed(0)
    by_labels = MaskedOnlyBertForPreTraining(BertConfig(**CONFIG)).eval()
    by_index = MaskedOnlyBertForPreTraining(BertConfig(**CONFIG)).eval()
    by_index.load_state_dict(by_labels.state_dict())
    batch = _batch()
    positions = torch.from_numpy(masked_positions(batch["labels"].numpy()))
    n_targets = int((batch["labels"] != -100).sum())
    assert len(positions) == 6 * max_selected(40) > n_targets  # padding slots present
    expected = by_labels(**batch)
    got = by_index(**batch, masked_positions=positions)
    torch.testing.assert_close(got.loss, expected.loss, rtol=1e-6, atol=1e-6)
    assert got.prediction_logits.shape == (6 * max_selected(40), 300)
    assert int(got.mlm_count) == int(expected.mlm_count) == n_targets
    assert int(got.mlm_correct) == int(expected.mlm_correct)
    expected.loss.backward()
    got.loss.backward()
    for (name, p1), (_, p2) in zip(by_labels.named_parameters(), by_index.named_parameters()):
        torch.testing.assert_close(p2.grad, p1.grad, rtol=1e-5, atol=1e-7, msg=name)


def test_index_list_refuses_a_target_at_its_padding_position():
    labels = np.full((2, 10), -100)
    labels[0, 0] = 7
    with pytest.raises(ValueError, match="position 0"):
        masked_positions(labels)


def test_the_forward_with_an_index_list_is_one_graph_for_torch_compile():
    """`kmb pretrain --compile` compiles the whole model: with the collator's index list there is
    no data-dependent shape, so dynamo captures forward and losses without a break (tracing only)."""
    torch.manual_seed(0)
    model = MaskedOnlyBertForPreTraining(BertConfig(**CONFIG))
    batch = _batch()
    batch["masked_positions"] = torch.from_numpy(masked_positions(batch["labels"].numpy()))
    explained = torch._dynamo.explain(model)(**batch)
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), [b.reason for b in explained.break_reasons]


def test_model_sizes_build_bert_configs_whose_heads_divide_the_hidden_size():
    from kmb.training.model import MODEL_CONFIGS

    assert set(MODEL_CONFIGS) == {"tiny", "small", "base"}
    assert MODEL_CONFIGS["base"] == dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072
    )  # BERT-base
    for size, values in MODEL_CONFIGS.items():
        config = BertConfig(vocab_size=300, **values)
        assert config.hidden_size % config.num_attention_heads == 0, size
