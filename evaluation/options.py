"""Checks of the evaluation commands' numeric options, run before anything is read or written."""

from __future__ import annotations

from kmb.errors import KmbError

# The smallest value each numeric option accepts, and why.
MINIMUM = {
    "batch_size": (1, "a batch holds at least one input"),
    "max_length": (5, "[CLS] s1 [SEP] s2 [SEP] needs at least 5 tokens"),
    "seed": (0, "seeds are 0 to 2**32 - 1"),
    "repeats": (1, "at least one masking"),
    "folds": (2, "cross validation needs at least 2 folds"),
    "max_train": (2, "a dev split is cut from the training pairs"),
    "max_test": (1, "at least one test pair"),
    "min_chars": (0, "a length cannot be negative"),
    "per_type": (1, "at least one pair per type"),
}
SEED_LIMIT = 2**32  # numpy's seeds end here


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_numbers(**values: int | None) -> None:
    """Each named value (None = not given) at least its MINIMUM; a seed also below 2**32."""
    for name, value in values.items():
        if value is None:
            continue
        minimum, why = MINIMUM[name]
        if value < minimum or (name == "seed" and value >= SEED_LIMIT):
            bound = f"between 0 and {SEED_LIMIT - 1}" if name == "seed" else f"at least {minimum}"
            raise KmbError(f"{option_name(name)} must be {bound} ({why}), got {value}")


def check_fraction(option: str, value: float) -> None:
    """A share strictly between 0 and 1."""
    if not 0.0 < value < 1.0:
        raise KmbError(f"{option} must be between 0 and 1 (exclusive), got {value}")
