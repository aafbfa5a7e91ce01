"""The Trainer's pieces: the length-grouped sampler and the epoch-end evaluation."""

from __future__ import annotations

import numpy as np

from kmb.training.trainer import EvaluateAtEpochEnd, LengthGroupedSampler


def test_length_grouped_sampler_is_seeded_groups_lengths_and_covers_every_pair():
    lengths = np.random.default_rng(0).integers(5, 128, size=5000).astype(np.int16)
    sampler = LengthGroupedSampler(lengths, global_batch=32, seed=3)
    first = list(sampler)
    assert sorted(i for _, i in first) == list(range(5000)) and {e for e, _ in first} == {0}
    assert first == list(sampler)  # same seed and epoch: same order
    sampler.set_epoch(1)
    second = list(sampler)
    assert {e for e, _ in second} == {1} and [i for _, i in second] != [i for _, i in first]
    batches = np.array([i for _, i in first][: 32 * 150]).reshape(150, 32)
    padded_grouped = (lengths[batches].max(1) * 32).sum()
    shuffled = np.random.default_rng(1).permutation(5000)[: 32 * 150].reshape(150, 32)
    assert padded_grouped < 0.7 * (lengths[shuffled].max(1) * 32).sum()  # far less padding


def test_every_epoch_end_asks_for_an_evaluation():
    from transformers import TrainerControl, TrainerState, TrainingArguments

    control = TrainerControl()
    assert not control.should_evaluate
    args = TrainingArguments(output_dir="unused", use_cpu=True, report_to="none")
    assert EvaluateAtEpochEnd().on_epoch_end(args, TrainerState(), control).should_evaluate
