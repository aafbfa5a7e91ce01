"""The masked-only MLM head gives the same loss and gradients as plain BertForPreTraining."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForPreTraining

from kmb.training.masking import mask_tokens
from kmb.training.model import MaskedOnlyBertForPreTraining

CONFIG = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
              max_position_embeddings=128, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


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
    return dict(input_ids=masked, attention_mask=attention, token_type_ids=token_type, labels=labels,
                next_sentence_label=nsp)


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
