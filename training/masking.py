"""BERT's masked-language-model corruption, shared by pretraining and `kmb evaluate mlm`.

The rule (Devlin et al. 2019, kept by KM-BERT): 15% of the non-special tokens of a sequence are
selected as prediction targets; of those, 80% become [MASK], 10% a random token and 10% stay as
they are. The loss is computed at the selected positions only (labels are -100 elsewhere).

We select an exact count per row, ``max(1, round(15% of its non-special tokens))``, as Google's
``create_pretraining_data.py`` does, rather than an independent coin per token: every pair then
has at least one target and the rate does not wobble with sentence length.

All randomness comes from the ``generator`` argument, so the same generator state gives the same
masks. Pretraining seeds one generator per pair from (seed, epoch, pair index) with
:func:`pair_generator`, which makes masks independent of batch size, process count and resume.
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE_INDEX = -100


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
    special = special_tokens_mask.to(torch.bool)
    candidates = ~special
    n_candidates = candidates.sum(dim=1)
    # Exact count per row: round(p * n), at least one when the row has any candidate.
    n_selected = torch.clamp(torch.round(n_candidates.to(torch.float32) * mlm_probability).to(torch.long), min=1)
    n_selected = torch.minimum(n_selected, n_candidates)

    # Random scores; specials score above every candidate, so the lowest n_selected scores of a
    # row are a uniform random subset of its candidates.
    scores = torch.rand(input_ids.shape, generator=generator)
    scores = scores.masked_fill(special, 2.0)
    rank = scores.argsort(dim=1).argsort(dim=1)
    selected = rank < n_selected[:, None]

    labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))

    # One more uniform draw splits the selected positions 80 / 10 / 10.
    action = torch.rand(input_ids.shape, generator=generator)
    to_mask = selected & (action < 0.8)
    to_random = selected & (action >= 0.8) & (action < 0.9)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator, dtype=input_ids.dtype)

    masked = input_ids.clone()
    masked[to_mask] = mask_token_id
    masked[to_random] = random_ids[to_random]
    return masked, labels


def pair_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator seeded from (seed, epoch, pair index): a pair's masks depend on nothing else."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)
