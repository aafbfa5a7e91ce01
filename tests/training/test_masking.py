"""Statistics of the MLM masking rule over many samples: 15% selected, 80/10/10, no specials.

Both sources of random draws are checked: a torch generator (`kmb evaluate mlm`) and the
counter-based draws of pretraining batches (mask_batch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kmb.training.masking import IGNORE_INDEX, mask_batch, mask_keys, mask_tokens, masked_positions, pair_generator

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
        return mask_tokens(
            ids, special, mask_token_id=MASK_ID, vocab_size=VOCAB, generator=torch.Generator().manual_seed(seed)
        )
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
    one_masked, one_labels = mask_tokens(
        ids[0], special[0], mask_token_id=MASK_ID, vocab_size=VOCAB, generator=torch.Generator().manual_seed(0)
    )
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


# --- whole-word masking ----------------------------------------------------------------------------
def _words_batch(rows: int = 4000, length: int = 64, seed: int = 0):
    """A batch whose words are 1-4 tokens long: word_starts marks each word's first token."""
    ids, special = _batch(rows, length, seed)
    rng = np.random.default_rng(seed)
    starts = np.zeros((rows, length), dtype=bool)
    for r in range(rows):
        position = 1
        while position < length:
            starts[r, position] = True
            position += int(rng.integers(1, 5))
    return ids, special, starts


def _word_numbers(special, starts):
    """The word each candidate position belongs to (-1 at specials), row-major numbering."""
    after_special = np.ones_like(special)
    after_special[:, 1:] = special[:, :-1]
    begins = ~special & (starts | after_special)
    numbers = np.cumsum(begins.ravel()).reshape(special.shape) - 1
    return np.where(special, -1, numbers)


def test_whole_word_masking_statistics():
    ids, special, starts = _words_batch()
    ids, special = ids.numpy(), special.numpy()
    keys = mask_keys(1, np.zeros(len(ids), dtype=np.int64), np.arange(len(ids)))
    masked, labels = mask_batch(ids, special, keys, mask_token_id=MASK_ID, vocab_size=VOCAB, word_starts=starts)
    selected = labels != IGNORE_INDEX
    # 15% of the candidate tokens in expectation, every row at least one word, never a special
    assert abs(selected.sum() / (~special).sum() - 0.15) < 0.01
    # (the one-word minimum lifts short rows a little; rows long enough not to need it: 15% exactly)
    long_rows = (~special).sum(1) >= 40
    assert abs(selected[long_rows].sum() / (~special[long_rows]).sum() - 0.15) < 0.003
    assert (selected.sum(1) >= 1).all() and not selected[special].any()
    assert np.array_equal(labels[selected], ids[selected])
    assert np.array_equal(masked[~selected], ids[~selected])
    # a word is chosen whole or not at all
    words = _word_numbers(special, starts)
    flat_words, flat_selected = words[~special], selected[~special]
    per_word = np.bincount(flat_words, weights=flat_selected) / np.bincount(flat_words)
    assert set(np.unique(per_word)) <= {0.0, 1.0}
    # 80/10/10 per chosen word: all its pieces [MASK], all replaced at random, or all kept
    chosen = np.flatnonzero(per_word == 1.0)
    in_chosen = np.isin(words, chosen)
    n_pieces = np.bincount(words[in_chosen], minlength=len(per_word))[chosen]
    n_mask = np.bincount(words[in_chosen], weights=(masked == MASK_ID)[in_chosen], minlength=len(per_word))[chosen]
    n_kept = np.bincount(words[in_chosen], weights=(masked == ids)[in_chosen], minlength=len(per_word))[chosen]
    all_mask, all_kept = n_mask == n_pieces, n_kept == n_pieces
    assert abs(all_mask.mean() - 0.8) < 0.01
    assert abs(all_kept.mean() - 0.1) < 0.01
    assert abs((~all_mask & ~all_kept).mean() - 0.1) < 0.01
    # a randomly replaced word holds no [MASK] (but by a 1-in-1000 random draw)
    assert (n_mask[~all_mask & ~all_kept] == 0).mean() > 0.99


def test_whole_word_masks_depend_only_on_the_row_key():
    ids, special, starts = _words_batch(rows=64, length=40)
    keys = mask_keys(5, np.full(64, 3), np.arange(64))
    masked, labels = mask_batch(
        ids.numpy(), special.numpy(), keys, mask_token_id=MASK_ID, vocab_size=VOCAB, word_starts=starts
    )
    order = np.random.default_rng(0).permutation(64)[:20]
    wider = [
        np.pad(a[order], ((0, 0), (0, 24)), constant_values=c)
        for a, c in ((ids.numpy(), 0), (special.numpy(), True), (starts, False))
    ]
    m2, l2 = mask_batch(*wider[:2], keys[order], mask_token_id=MASK_ID, vocab_size=VOCAB, word_starts=wider[2])
    assert np.array_equal(m2[:, :40], masked[order]) and np.array_equal(l2[:, :40], labels[order])


def test_whole_word_index_list_has_room_for_every_target():
    ids, special, starts = _words_batch(rows=3, length=12)
    keys = mask_keys(0, np.zeros(3, dtype=np.int64), np.arange(3))
    _, labels = mask_batch(
        ids.numpy(), special.numpy(), keys, mask_token_id=MASK_ID, vocab_size=VOCAB, word_starts=np.zeros_like(starts)
    )  # each row one word: every candidate a target
    positions = masked_positions(labels, whole_word=True)
    assert np.array_equal(np.sort(positions[positions > 0]), np.flatnonzero(labels.ravel() != IGNORE_INDEX))
    with pytest.raises(ValueError, match="exceed the bound"):
        masked_positions(labels)


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_word_start_table_finds_the_eojeol_of_each_tokenizer_family(kind, tiny_tokenizer_dir):
    """Grouping a sentence's tokens at the table's word starts gives back its white-space words."""
    from pathlib import Path

    from transformers import AutoTokenizer

    from kmb.training.masking import word_start_table

    folder = tiny_tokenizer_dir if kind == "wordpiece" else Path(__file__).parents[1] / "fixtures" / "tokenizers" / kind
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    text = "고혈압약 병원에왔다" if kind == "wordpiece" else "고혈압 환자는 혈압약을 복용"
    ids = tokenizer(text)["input_ids"]
    table = word_start_table(tokenizer)
    assert table.shape == (len(tokenizer),) and not table[tokenizer.all_special_ids].any()
    special = np.isin(ids, tokenizer.all_special_ids)
    after_special = np.concatenate(([True], special[:-1]))
    groups = []
    for token_id, begins, is_special in zip(ids, table[ids] | after_special, special):
        if not is_special:
            if begins:
                groups.append([])
            groups[-1].append(tokenizer.convert_ids_to_tokens(int(token_id)))
    assert [tokenizer.convert_tokens_to_string(g).strip() for g in groups] == text.split()
    assert sum(len(g) for g in groups) > len(groups)  # some word has several pieces


def test_mask_epoch_and_index_of_a_dataset_key():
    from kmb.training.masking import mask_epoch_and_index

    assert mask_epoch_and_index((3, 7)) == (3, 7) and mask_epoch_and_index(7) == (0, 7)
    assert mask_epoch_and_index((3, 7), static_masking=True) == (0, 7)
    assert mask_epoch_and_index((3, 7), fixed_epoch=1_000_003, static_masking=True) == (1_000_003, 7)
