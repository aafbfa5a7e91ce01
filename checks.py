"""Checks of option values, with one message form: ``--name must be RULE, not VALUE``.

Part of kmb's foundation (with ``storage.py``, ``workspace.py`` and ``errors.py``): every stage's
options dataclass checks its numbers and choices through these functions, before anything is read
or written, so a bad option is one :class:`KmbError` line whatever the command.

    number("--batch-size", 0, at_least(1))      -> KmbError: --batch-size must be at least 1, not 0
    choice("--backend", "fast", ("punct", "mecab"))  -> KmbError: --backend must be punct or mecab, not 'fast'

A value of ``None`` means "not given" (the default or the model's own applies) and passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kmb.errors import KmbError

SEED_LIMIT = 2**32  # numpy's seeds are 0 to 2**32 - 1


@dataclass(frozen=True)
class Rule:
    """A test of a number and the words that say what it allows ("at least 1")."""

    test: Callable[[float], bool]
    words: str


def at_least(low: float, why: str = "") -> Rule:
    return Rule(lambda v: v >= low, f"at least {low}" + (f" ({why})" if why else ""))


def more_than(low: float, why: str = "") -> Rule:
    return Rule(lambda v: v > low, f"more than {low}" + (f" ({why})" if why else ""))


def at_most(high: float, why: str = "") -> Rule:
    return Rule(lambda v: v <= high, f"at most {high}" + (f" ({why})" if why else ""))


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False, why: str = "") -> Rule:
    """``low <= v <= high``; an open end excludes its bound (``between(0, 1, high_open=True)`` is [0, 1))."""

    def test(v: float) -> bool:
        return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

    if low_open and high_open:
        words = f"between {low} and {high} (both excluded)"
    elif low_open or high_open:
        words = f"between {low} and {high} ({high if high_open else low} excluded)"
    else:
        words = f"between {low} and {high}"
    return Rule(test, words + (f" ({why})" if why else ""))


SEED = between(0, SEED_LIMIT - 1)
FRACTION = between(0, 1, low_open=True, high_open=True)  # a share strictly between 0 and 1


def number(option: str, value, rule: Rule, *, whole: bool = False):
    """``value`` if it is a finite number that passes ``rule`` (None passes), else one KmbError line.

    Strings are accepted and converted (Scrapy's ``-a`` arguments arrive as text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise KmbError(f"{option} must be a number, not {value!r}")
    if isinstance(value, str):
        try:
            value = int(value.strip()) if whole else float(value.strip())
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise KmbError(f"{option} must be {kind}, not {value!r}") from None
    if whole and isinstance(value, float):
        if not value.is_integer():
            raise KmbError(f"{option} must be a whole number, not {value!r}")
        value = int(value)
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise KmbError(f"{option} must be {rule.words}, not {value!r}")
    if not rule.test(value):
        raise KmbError(f"{option} must be {rule.words}, not {value!r}")
    return value


def numbers(rules: Iterable[tuple[str, object, Rule]]) -> None:
    """Check (option, value, rule) triples in order; the first bad one raises."""
    for option, value, rule in rules:
        number(option, value, rule)


def choice(option: str, value, choices: Iterable[str]):
    """``value`` if it is one of ``choices`` (None passes), else one KmbError line naming them."""
    choices = list(choices)
    if value is None or value in choices:
        return value
    words = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    raise KmbError(f"{option} must be {words}, not {value!r}")


def option_name(field_name: str) -> str:
    """A dataclass field's command-line spelling: ``batch_size`` -> ``--batch-size``."""
    return "--" + field_name.replace("_", "-")
