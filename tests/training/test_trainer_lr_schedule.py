"""--lr-schedule warmup_stable_decay: warmup, the peak rate held, then a 1-sqrt decay to zero."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import TrainerCallback, get_scheduler

from kmb.errors import KmbError
from kmb.training.pretrain import run_pretraining
from kmb.training.trainer import wsd_kwargs


def test_wsd_kwargs_give_warmup_stable_and_a_1_sqrt_decay():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = get_scheduler("warmup_stable_decay", optimizer, num_warmup_steps=10, num_training_steps=100,
                             scheduler_specific_kwargs=wsd_kwargs(100, 0.2))  # fmt: skip
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == 0.0 and rates[5] == pytest.approx(0.5)  # linear warmup
    assert all(r == pytest.approx(1.0) for r in rates[10:80])  # stable at the peak
    assert rates[90] == pytest.approx(1 - math.sqrt(10 / 20))  # 1-sqrt over the last 20 steps
    assert rates[99] < 0.25 and rates == rates[:80] + sorted(rates[80:], reverse=True)


class RateCapture(TrainerCallback):
    def __init__(self):
        self.rates: dict[int, float] = {}

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "learning_rate" in logs:
            self.rates[state.global_step] = float(logs["learning_rate"])


def test_a_run_follows_the_schedule(corpus_workspace, tiny_base_dir, helpers):
    capture = RateCapture()
    config = helpers.config(corpus_workspace, tiny_base_dir, "wsd", max_steps=10, warmup=2,
                            lr_schedule="warmup_stable_decay", decay=0.3, lr=1e-3)  # fmt: skip
    run_pretraining(config, [capture])
    rates = [capture.rates[step] for step in sorted(capture.rates)]
    assert len(rates) == 10
    assert rates[2:7] == [pytest.approx(1e-3)] * 5  # after 2 warmup steps, until the last 3
    assert rates[7] > rates[8] > rates[9] and rates[9] < 1e-3


def test_a_bad_schedule_or_decay_is_one_line(corpus_workspace, tiny_base_dir, helpers):
    with pytest.raises(KmbError, match="--lr-schedule"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, lr_schedule="exponential"))
    with pytest.raises(KmbError, match="--decay"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, decay=0.0))
    helpers.nothing_written(corpus_workspace)
