"""Statistics of the MLM masking rule over many samples: 15% selected, 80/10/10, no specials.

Both sources of random draws are checked: a torch generator (`kmb evaluate mlm`) and the
counter-based draws of pretraining batches (mask_batch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kmb.training.masking import IGNORE_INDEX, mask_batch, mask_keys, mask_tokens, pair_generator

MASK_ID, VOCAB = 4, 1000


def _batch(rows: int = 4000, length: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(10, VOCAB, (rows, length), generator=g)
    lengths = torch.randint(8, length + 1, (rows,), generator=g)
    positions = torch.arange(length)[None, :]
    ids[:, 0] = 2  # [CLS]
    ids[torch.arange(rows), lengths - 1] = 3  # final [SEP]
    ids[positions >= lengths[:, None]] = 0  # [PAD]
    special = (ids == 0) | (ids == 2) | (ids == 3)
    return ids, special


def _mask(source: str, ids, special, seed: int):
    if source == "generator":
        return mask_tokens(ids, special, mask_token_id=MASK_ID, vocab_size=VOCAB,
                           generator=torch.Generator().manual_seed(seed))
    keys = mask_keys(seed, np.zeros(len(ids), dtype=np.int64), np.arange(len(ids)))
    masked, labels = mask_batch(ids.numpy(), special.numpy(), keys, mask_token_id=MASK_ID, vocab_size=VOCAB)
    return torch.from_numpy(masked), torch.from_numpy(labels)


@pytest.mark.parametrize("source", ["generator", "hashed"])
def test_masking_rates_over_many_samples(source):
    ids, special = _batch()
    masked, labels = _mask(source, ids, special, 1)
    selected = labels != IGNORE_INDEX
    rate = selected.sum().item() / (~special).sum().item()
    assert abs(rate - 0.15) < 0.01
    # every row gets at least one target, and at most round(15%) of its candidates
    assert bool((selected.sum(1) >= 1).all())
    # labels keep the original ids
    assert torch.equal(labels[selected], ids[selected])
    n = selected.sum().item()
    to_mask = (masked == MASK_ID) & selected
    unchanged = (masked == ids) & selected
    to_random = selected & ~to_mask & ~unchanged
    assert abs(to_mask.sum().item() / n - 0.8) < 0.015
    # a random replacement can draw the same id by chance (1 in VOCAB), so unchanged is ~10.01%
    assert abs(unchanged.sum().item() / n - 0.1) < 0.01
    assert abs(to_random.sum().item() / n - 0.1) < 0.01


@pytest.mark.parametrize("source", ["generator", "hashed"])
def test_specials_and_unselected_positions_are_never_touched(source):
    ids, special = _batch(rows=2000)
    masked, labels = _mask(source, ids, special, 2)
    # exactly max(1, round(15%)) targets per row
    n_candidates = (~special).sum(1).float()
    assert torch.equal((labels != IGNORE_INDEX).sum(1), torch.clamp(torch.round(n_candidates * 0.15), min=1).long())
    assert bool((labels[special] == IGNORE_INDEX).all())
    not_selected = labels == IGNORE_INDEX
    assert torch.equal(masked[not_selected], ids[not_selected])


def test_same_generator_state_gives_same_masks_and_one_dim_input_works():
    ids, special = _batch(rows=50)
    a = mask_tokens(ids, special, mask_token_id=MASK_ID, vocab_size=VOCAB, generator=pair_generator(7, 0, 3))
    b = mask_tokens(ids, special, mask_token_id=MASK_ID, vocab_size=VOCAB, generator=pair_generator(7, 0, 3))
    c = mask_tokens(ids, special, mask_token_id=MASK_ID, vocab_size=VOCAB, generator=pair_generator(7, 1, 3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    one_masked, one_labels = mask_tokens(ids[0], special[0], mask_token_id=MASK_ID, vocab_size=VOCAB,
                                         generator=torch.Generator().manual_seed(0))
    assert one_masked.shape == ids[0].shape and (one_labels != IGNORE_INDEX).sum() >= 1


def test_hashed_masks_depend_only_on_the_pair_key():
    """A pair's masks do not change with the batch it is in, its row, or how far it is padded:
    the property that makes 1 x 32 equal 2 x 16 and resume equal an uninterrupted run."""
    ids, special = _batch(rows=64, length=40)
    keys = mask_keys(5, np.full(64, 3), np.arange(100, 164))
    masked, labels = mask_batch(ids.numpy(), special.numpy(), keys, mask_token_id=MASK_ID, vocab_size=VOCAB)
    order = np.random.default_rng(0).permutation(64)[:20]
    wider_ids = np.pad(ids.numpy()[order], ((0, 0), (0, 24)))
    wider_special = np.pad(special.numpy()[order], ((0, 0), (0, 24)), constant_values=True)
    m2, l2 = mask_batch(wider_ids, wider_special, keys[order], mask_token_id=MASK_ID, vocab_size=VOCAB)
    assert np.array_equal(m2[:, :40], masked[order]) and np.array_equal(l2[:, :40], labels[order])
    assert (l2[:, 40:] == IGNORE_INDEX).all()
    other_epoch = mask_keys(5, np.full(64, 4), np.arange(100, 164))
    _, l3 = mask_batch(ids.numpy(), special.numpy(), other_epoch, mask_token_id=MASK_ID, vocab_size=VOCAB)
    assert not np.array_equal(l3, labels)
    assert len(set(keys.tolist()) | set(other_epoch.tolist())) == 128  # no key collisions
