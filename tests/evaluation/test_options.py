"""The numeric option checks shared by the evaluate commands."""

from __future__ import annotations

import pytest

from kmb.errors import KmbError
from kmb.evaluation.options import check_fraction, check_numbers


def test_check_numbers_names_the_option_and_the_bound():
    check_numbers(batch_size=1, max_length=5, seed=0, repeats=1, folds=2, max_train=2, max_test=1, min_chars=0, per_type=1)
    check_numbers(max_train=None, seed=2**32 - 1)  # None: not given
    with pytest.raises(KmbError, match=r"^--per-type must be at least 1 \(at least one pair per type\), got 0$"):
        check_numbers(per_type=0)
    with pytest.raises(KmbError, match="--folds must be at least 2"):
        check_numbers(folds=1)
    with pytest.raises(KmbError, match="--seed must be between 0 and 4294967295"):
        check_numbers(seed=2**32)


def test_check_fraction_is_exclusive():
    check_fraction("--dev-fraction", 0.5)
    for bad in (0.0, 1.0, -0.1, 2.0):
        with pytest.raises(KmbError, match="--dev-fraction must be between 0 and 1"):
            check_fraction("--dev-fraction", bad)
