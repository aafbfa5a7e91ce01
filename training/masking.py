"""BERT's masked-language-model corruption, shared by pretraining and `kmb evaluate mlm`.

The rule (Devlin et al. 2019, kept by KM-BERT): 15% of the non-special tokens of a sequence are
selected as prediction targets; of those, 80% become [MASK], 10% a random token and 10% stay as
they are. The loss is computed at the selected positions only (labels are -100 elsewhere).

We select an exact count per row, ``max(1, round(15% of its non-special tokens))``, as Google's
``create_pretraining_data.py`` does, rather than an independent coin per token: every pair then
has at least one target and the rate does not wobble with sentence length.

The rule is one function, :func:`apply_masking_rule`, fed with three random draws per position
(a selection score, an 80/10/10 action, a random token). Two sources feed it:

- :func:`mask_tokens` draws them from a ``torch.Generator`` (`kmb evaluate mlm`);
- :func:`mask_batch` draws them from a counter-based hash of (seed, epoch, pair index, position),
  a whole padded batch at once in numpy. Pretraining masks in its collator this way: a pair's
  masks depend on nothing but its key, so they do not change with batch size, process count or
  resume, and masking costs a few vectorised passes per batch instead of ~20 small torch calls
  per pair (which starved a GPU: see docs/performance.md).

Whole-word masking (:func:`apply_whole_word_rule`, ``mask_batch(..., word_starts=...)``; KLUE-RoBERTa
was pretrained this way) chooses eojeol (white-space words) instead of tokens: every piece of a
chosen word is a target, and the word's one 80/10/10 draw applies to all its pieces. Words are
taken in random order until 15% of the row's tokens are covered; the word that crosses the line is
kept with the probability that makes the covered share 15% in expectation. Word starts come from
:func:`word_start_table`: a lookup over the vocab ("##" continuation pieces for WordPiece, "Ġ"/"▁"
word-start markers for byte-level BPE and Unigram), so a batch needs one vectorised gather; next
to added tokens the shards' corrections apply (:mod:`kmb.training.word_starts` says what a word is).
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE_INDEX = -100


def apply_masking_rule(
    input_ids: np.ndarray,
    special: np.ndarray,
    scores: np.ndarray,
    action: np.ndarray,
    random_ids: np.ndarray,
    *,
    mask_token_id: int,
    mlm_probability: float = 0.15,
):
    """-> (masked_input_ids, labels) for a [rows, length] batch given its random draws (uniform
    ``scores`` and ``action`` in [0, 1), ``random_ids`` in the vocabulary); ``special`` is True
    for [CLS]/[SEP]/[PAD], which are never selected. ``mlm_probability`` is one rate or one per row."""
    candidates = ~special
    n_candidates = candidates.sum(axis=1)
    # Exact count per row: round(p * n) (half to even, as torch.round), at least one when the row
    # has any candidate.
    n_selected = np.maximum(np.rint(n_candidates.astype(np.float32) * np.float32(mlm_probability)), 1).astype(np.int64)
    n_selected = np.minimum(n_selected, n_candidates)
    # Specials score above every candidate, so the lowest n_selected scores of a row are a uniform
    # random subset of its candidates.
    ranked = np.where(special, 2.0, scores).argsort(axis=1, kind="stable").argsort(axis=1, kind="stable")
    selected = ranked < n_selected[:, None]
    return _corrupt(input_ids, selected, action, random_ids, mask_token_id)


def apply_whole_word_rule(
    input_ids: np.ndarray,
    special: np.ndarray,
    word_starts: np.ndarray,
    scores: np.ndarray,
    action: np.ndarray,
    random_ids: np.ndarray,
    boundary: np.ndarray,
    *,
    mask_token_id: int,
    mlm_probability: float = 0.15,
):
    """-> (masked_input_ids, labels) choosing whole words of a [rows, length] batch.

    ``word_starts`` is True where a token begins a word (a candidate right after a special token
    always does). A word's ``scores``, ``action`` and ``boundary`` draws are those at its first
    token; ``random_ids`` are drawn per token. Each row gets at least one word when it has any.
    ``mlm_probability`` is one rate or one per row."""
    rows, length = input_ids.shape
    candidates = (~special).ravel()
    after_special = np.ones_like(special)
    after_special[:, 1:] = special[:, :-1]
    starts = candidates & (word_starts | after_special).ravel()
    start_at = np.flatnonzero(starts)
    word_of = np.cumsum(starts) - 1  # the word each candidate position belongs to
    word_len = np.bincount(word_of[candidates], minlength=len(start_at))
    word_row = start_at // length
    # Words of a row in random order (by score), and the tokens the words before each cover.
    order = np.lexsort((scores.ravel()[start_at], word_row))
    length_sorted, row_sorted = word_len[order], word_row[order]
    covered = np.cumsum(length_sorted)
    row_base = np.concatenate(([0], covered))[np.searchsorted(row_sorted, np.arange(rows))]
    before = covered - length_sorted - row_base[row_sorted]
    target = (mlm_probability * candidates.reshape(rows, length).sum(axis=1))[row_sorted]
    crossing = boundary.ravel()[start_at[order]] * length_sorted < target - before
    take = (before < target) & ((before + length_sorted <= target) | crossing) | (before == 0)
    chosen = np.zeros(len(start_at), dtype=bool)
    chosen[order] = take
    selected = np.zeros(rows * length, dtype=bool)
    selected[candidates] = chosen[word_of[candidates]]
    word_action = np.ones(rows * length)
    word_action[candidates] = action.ravel()[start_at][word_of[candidates]]
    return _corrupt(
        input_ids, selected.reshape(rows, length), word_action.reshape(rows, length), random_ids, mask_token_id
    )


def _corrupt(input_ids, selected, action, random_ids, mask_token_id):
    """80% [MASK], 10% a random token, 10% unchanged at the selected positions; labels elsewhere -100."""
    labels = np.where(selected, input_ids, IGNORE_INDEX)
    masked = np.where(selected & (action < 0.8), mask_token_id, input_ids)
    masked = np.where(selected & (action >= 0.8) & (action < 0.9), random_ids, masked)
    return masked, labels


WORD_MARKERS = ("##", "\u0120", "\u2581")  # WordPiece continuation; byte-level BPE "Ġ", Metaspace "▁" word starts


def word_marker(tokens) -> str:
    """Which of :data:`WORD_MARKERS` a vocab (its tokens) uses: the most common of the three."""
    counts = [0] * len(WORD_MARKERS)
    for token in tokens:
        for i, marker in enumerate(WORD_MARKERS):
            counts[i] += token.startswith(marker)
    return WORD_MARKERS[int(np.argmax(counts))]


def word_start_table(tokenizer) -> np.ndarray:
    """[vocab rows] bool: True for a token that begins a word, for :func:`mask_batch`'s ``word_starts``.

    The convention is read off the vocab: the most common of the three markers wins. With "##"
    a token starts a word unless it is a continuation piece; with "Ġ" or "▁" it starts one only
    when it carries the marker. Added (non-special) tokens, e.g. whole medical terms added to a
    BPE vocab, start a word; special tokens do not (they are never masked)."""
    vocab = tokenizer.get_vocab()
    tokens = [""] * (max(vocab.values()) + 1)
    for token, index in vocab.items():
        tokens[index] = token
    marker = word_marker(tokens)
    if marker == "##":
        table = np.array([not t.startswith("##") for t in tokens])
    else:
        table = np.array([t.startswith(marker) for t in tokens])
    added = getattr(tokenizer, "added_tokens_decoder", {})
    for index, token in added.items():
        if index < len(table):
            table[index] = not getattr(token, "special", False)
    table[[i for i in tokenizer.all_special_ids if i is not None and i < len(table)]] = False
    return table


def max_selected(length: int, mlm_probability: float = 0.15) -> int:
    """An upper bound on the targets the rule selects in one row of ``length`` positions (the
    same rounding as :func:`apply_masking_rule`, applied as if every position were a candidate)."""
    return max(int(np.rint(np.float32(length) * np.float32(mlm_probability))), 1)


def masked_positions(labels: np.ndarray, mlm_probability: float = 0.15, whole_word: bool = False) -> np.ndarray:
    """Flat indices (into ``labels.reshape(-1)``) of the selected positions of a [rows, length]
    batch, padded with 0 to ``rows * max_selected(length)`` entries.

    The model gathers the hidden states at these indices before its MLM head. The size depends only
    on the batch's shape, so the gather needs no data-dependent size on the GPU (a boolean mask
    would make the host wait for the device every step) and compiled graphs see fixed shapes.
    Padding entries point at position 0, the first row's [CLS], whose label is always ignored.

    With ``whole_word`` a chosen word can take a row past that bound, so the list has room for
    twice the bound; a (rare) batch with more targets gets a list rounded up to a multiple of
    ``rows``, a new shape for compiled graphs but no device synchronisation."""
    rows, length = labels.shape
    if labels[0, 0] != IGNORE_INDEX:
        raise ValueError("position 0 must not be a target: it pads the index list")
    selected = np.flatnonzero(labels.reshape(-1) != IGNORE_INDEX)
    size = rows * max_selected(length, mlm_probability)
    if whole_word:
        size = max(2 * size, -(-len(selected) // rows) * rows)
    positions = np.zeros(size, dtype=np.int64)
    if len(selected) > len(positions):
        raise ValueError(f"{len(selected)} selected positions exceed the bound {len(positions)}")
    positions[: len(selected)] = selected
    return positions


def mask_tokens(
    input_ids: torch.Tensor,
    special_tokens_mask: torch.Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (masked_input_ids, labels) with labels = -100 where not selected. 15% of non-special tokens
    (special_tokens_mask True for [CLS]/[SEP]/[PAD]); of those 80% [MASK], 10% random, 10% unchanged."""
    if input_ids.dim() == 1:
        masked, labels = mask_tokens(
            input_ids[None],
            special_tokens_mask[None],
            mask_token_id=mask_token_id,
            vocab_size=vocab_size,
            generator=generator,
            mlm_probability=mlm_probability,
        )
        return masked[0], labels[0]
    shape = input_ids.shape
    # The draws, in the same order as before the rule was shared (same generator, same masks).
    scores = torch.rand(shape, generator=generator)
    action = torch.rand(shape, generator=generator)
    random_ids = torch.randint(vocab_size, shape, generator=generator, dtype=input_ids.dtype)
    masked, labels = apply_masking_rule(
        input_ids.numpy(),
        special_tokens_mask.to(torch.bool).numpy(),
        scores.numpy(),
        action.numpy(),
        random_ids.numpy(),
        mask_token_id=mask_token_id,
        mlm_probability=mlm_probability,
    )
    return torch.from_numpy(masked).to(input_ids.dtype), torch.from_numpy(labels).to(input_ids.dtype)


def mask_epoch_and_index(key, fixed_epoch: int | None = None, static_masking: bool = False) -> tuple[int, int]:
    """(epoch, index) of a dataset key ``(epoch, i)`` or ``i``, as the masks see it: a
    ``fixed_epoch`` (validation) wins, ``static_masking`` uses epoch 0 (the paper's fixed masks)."""
    epoch, index = key if isinstance(key, tuple) else (0, key)
    if fixed_epoch is not None:
        epoch = fixed_epoch
    elif static_masking:
        epoch = 0
    return int(epoch), int(index)


def pair_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator seeded from (seed, epoch, pair index): a pair's masks depend on nothing else."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


# --- counter-based draws for pretraining batches -------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele et al. 2014): a bijective 64-bit mixer, vectorised."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def mask_keys(seed: int, epochs: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """One 64-bit key per pair from (seed, epoch, pair index)."""
    with np.errstate(over="ignore"):
        key = _splitmix64(np.full(len(indices), seed, dtype=np.uint64) + _GOLDEN)
        key = _splitmix64(key ^ (np.asarray(epochs, dtype=np.uint64) + _GOLDEN))
        return _splitmix64(key ^ (np.asarray(indices, dtype=np.uint64) + _GOLDEN))


def _uniforms(keys: np.ndarray, length: int, stream: int) -> np.ndarray:
    """[rows, length] uniforms in [0, 1): draw ``stream`` at each position of each keyed pair."""
    with np.errstate(over="ignore"):
        counters = (np.arange(length, dtype=np.uint64) * np.uint64(3) + np.uint64(stream + 1)) * _GOLDEN
        bits = _splitmix64(keys[:, None] ^ counters[None, :])
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def mask_batch(
    input_ids: np.ndarray,
    special: np.ndarray,
    keys: np.ndarray,
    *,
    mask_token_id: int,
    vocab_size: int,
    mlm_probability: float | np.ndarray = 0.15,
    word_starts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The masking rule over a padded [rows, length] batch, each row's draws from its key
    (:func:`mask_keys`) and positions alone: padding a row longer does not change its masks.
    ``mlm_probability``: one rate, or one per row (a rate that changes over the run).
    With ``word_starts`` ([rows, length] bool, e.g. ``word_start_table(tokenizer)[input_ids]``)
    whole words are masked (:func:`apply_whole_word_rule`)."""
    length = input_ids.shape[1]
    random_ids = np.minimum((_uniforms(keys, length, 2) * vocab_size).astype(np.int64), vocab_size - 1)
    if word_starts is not None:
        return apply_whole_word_rule(
            input_ids,
            special,
            word_starts,
            _uniforms(keys, length, 0),
            _uniforms(keys, length, 1),
            random_ids,
            _uniforms(keys, length, 3),
            mask_token_id=mask_token_id,
            mlm_probability=mlm_probability,
        )
    return apply_masking_rule(
        input_ids,
        special,
        _uniforms(keys, length, 0),
        _uniforms(keys, length, 1),
        random_ids,
        mask_token_id=mask_token_id,
        mlm_probability=mlm_probability,
    )
