"""The evaluation options: their checks run before anything is read or written, in one message form."""

from __future__ import annotations

import pytest

from kmb.errors import KmbError
from kmb.evaluation.options import FinetuneConfig, IntrinsicConfig, check_folds, check_pairs_options, check_sizes


def test_the_shared_settings_pass_at_their_bounds():
    FinetuneConfig(batch_size=1, max_length=5, seed=0, dev_fraction=0.5).check()
    IntrinsicConfig(repeats=1, batch_size=1, max_length=5, seed=2**32 - 1).check()
    check_pairs_options(min_chars=0, per_type=1, seed=0)
    check_folds(2)
    check_sizes(None, None)  # None: not given


@pytest.mark.parametrize(
    "check, message",
    [
        (lambda: check_pairs_options(0, 0, 0), "--per-type must be at least 1 (at least one pair per type), not 0"),
        (lambda: check_folds(1), "--folds must be at least 2 (cross validation needs at least 2 folds), not 1"),
        (lambda: IntrinsicConfig(seed=2**32).check(), "--seed must be between 0 and 4294967295, not 4294967296"),
        (
            lambda: check_sizes(1, None),
            "--max-train must be at least 2 (a dev split is cut from the training pairs), not 1",
        ),
    ],
)
def test_a_bad_number_names_the_option_and_the_bound(check, message):
    with pytest.raises(KmbError) as caught:
        check()
    assert str(caught.value) == message


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_the_dev_fraction_is_strictly_between_0_and_1(bad):
    with pytest.raises(KmbError, match="--dev-fraction must be between 0 and 1"):
        FinetuneConfig(dev_fraction=bad).check()


def test_a_grid_is_named_or_explicit():
    assert FinetuneConfig(grid="1e-3:5,2e-5:2").settings() == [(1e-3, 5), (2e-5, 2)]
    with pytest.raises(KmbError, match="--grid must be paper, quick or LR:EPOCHS"):
        FinetuneConfig(grid="fast").settings()
