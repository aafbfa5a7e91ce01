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
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE_INDEX = -100


def apply_masking_rule(input_ids: np.ndarray, special: np.ndarray, scores: np.ndarray, action: np.ndarray,
                       random_ids: np.ndarray, *, mask_token_id: int, mlm_probability: float = 0.15):
    """-> (masked_input_ids, labels) for a [rows, length] batch given its random draws (uniform
    ``scores`` and ``action`` in [0, 1), ``random_ids`` in the vocabulary); ``special`` is True
    for [CLS]/[SEP]/[PAD], which are never selected."""
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
    labels = np.where(selected, input_ids, IGNORE_INDEX)
    masked = np.where(selected & (action < 0.8), mask_token_id, input_ids)
    masked = np.where(selected & (action >= 0.8) & (action < 0.9), random_ids, masked)
    return masked, labels


def max_selected(length: int, mlm_probability: float = 0.15) -> int:
    """An upper bound on the targets the rule selects in one row of ``length`` positions (the
    same rounding as :func:`apply_masking_rule`, applied as if every position were a candidate)."""
    return max(int(np.rint(np.float32(length) * np.float32(mlm_probability))), 1)


def masked_positions(labels: np.ndarray, mlm_probability: float = 0.15) -> np.ndarray:
    """Flat indices (into ``labels.reshape(-1)``) of the selected positions of a [rows, length]
    batch, padded with 0 to ``rows * max_selected(length)`` entries.

    The model gathers the hidden states at these indices before its MLM head. The size depends only
    on the batch's shape, so the gather needs no data-dependent size on the GPU (a boolean mask
    would make the host wait for the device every step) and compiled graphs see fixed shapes.
    Padding entries point at position 0, the first row's [CLS], whose label is always ignored."""
    rows, length = labels.shape
    if labels[0, 0] != IGNORE_INDEX:
        raise ValueError("position 0 must not be a target: it pads the index list")
    selected = np.flatnonzero(labels.reshape(-1) != IGNORE_INDEX)
    positions = np.zeros(rows * max_selected(length, mlm_probability), dtype=np.int64)
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
            input_ids[None], special_tokens_mask[None], mask_token_id=mask_token_id,
            vocab_size=vocab_size, generator=generator, mlm_probability=mlm_probability,
        )
        return masked[0], labels[0]
    shape = input_ids.shape
    # The draws, in the same order as before the rule was shared (same generator, same masks).
    scores = torch.rand(shape, generator=generator)
    action = torch.rand(shape, generator=generator)
    random_ids = torch.randint(vocab_size, shape, generator=generator, dtype=input_ids.dtype)
    masked, labels = apply_masking_rule(
        input_ids.numpy(), special_tokens_mask.to(torch.bool).numpy(), scores.numpy(), action.numpy(),
        random_ids.numpy(), mask_token_id=mask_token_id, mlm_probability=mlm_probability,
    )
    return torch.from_numpy(masked).to(input_ids.dtype), torch.from_numpy(labels).to(input_ids.dtype)


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


def mask_batch(input_ids: np.ndarray, special: np.ndarray, keys: np.ndarray, *, mask_token_id: int,
               vocab_size: int, mlm_probability: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """The masking rule over a padded [rows, length] batch, each row's draws from its key
    (:func:`mask_keys`) and positions alone: padding a row longer does not change its masks."""
    length = input_ids.shape[1]
    random_ids = np.minimum((_uniforms(keys, length, 2) * vocab_size).astype(np.int64), vocab_size - 1)
    return apply_masking_rule(input_ids, special, _uniforms(keys, length, 0), _uniforms(keys, length, 1),
                              random_ids, mask_token_id=mask_token_id, mlm_probability=mlm_probability)
