"""The foundation's option checks: one message form, `--name must be RULE, not VALUE`."""

from __future__ import annotations

import math

import pytest

from kmb import checks
from kmb.errors import KmbError


def test_a_passing_number_is_returned_and_none_passes():
    assert checks.number("--batch-size", 32, checks.at_least(1)) == 32
    assert checks.number("--dropout", None, checks.between(0, 1)) is None


@pytest.mark.parametrize(
    "value, rule, message",
    [
        (0, checks.at_least(1), "--x must be at least 1, not 0"),
        (0.0, checks.more_than(0), "--x must be more than 0, not 0.0"),
        (1.0, checks.FRACTION, "--x must be between 0 and 1 (both excluded), not 1.0"),
        (1.0, checks.between(0, 1, high_open=True), "--x must be between 0 and 1 (1 excluded), not 1.0"),
        (2**32, checks.SEED, "--x must be between 0 and 4294967295, not 4294967296"),
        (math.nan, checks.at_least(0), "--x must be at least 0, not nan"),
        (math.inf, checks.at_least(0), "--x must be at least 0, not inf"),
    ],
)
def test_a_bad_number_is_one_line_in_one_form(value, rule, message):
    with pytest.raises(KmbError) as caught:
        checks.number("--x", value, rule)
    assert str(caught.value) == message


def test_text_values_are_converted_as_scrapy_arguments_arrive():
    assert checks.number("--delay", "1.5", checks.at_least(0)) == 1.5
    assert checks.number("--max-articles", "5", checks.at_least(0), whole=True) == 5
    with pytest.raises(KmbError, match=r"--max-articles must be a whole number, not 'five'"):
        checks.number("--max-articles", "five", checks.at_least(0), whole=True)
    with pytest.raises(KmbError, match=r"must be a whole number, not 2.5"):
        checks.number("--folds", 2.5, checks.at_least(2), whole=True)


def test_a_flag_is_not_a_number():
    with pytest.raises(KmbError, match="must be a number, not True"):
        checks.number("--x", True, checks.at_least(0))


def test_choice_names_every_allowed_value():
    assert checks.choice("--backend", "punct", ("punct", "mecab", "pecab")) == "punct"
    with pytest.raises(KmbError) as caught:
        checks.choice("--backend", "fast", ("punct", "mecab", "pecab"))
    assert str(caught.value) == "--backend must be punct, mecab or pecab, not 'fast'"


def test_option_name_spells_a_field_as_the_command_line_does():
    assert checks.option_name("max_eval_pairs") == "--max-eval-pairs"
