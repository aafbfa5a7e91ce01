"""The GPU-busy share of a profile: overlapping kernels count once."""

from __future__ import annotations

import pytest
import torch


def test_gpu_busy_counts_overlapping_kernels_once():
    from types import SimpleNamespace

    from kmb.training.profiling import kernel_seconds

    cuda = torch.autograd.DeviceType.CUDA

    def event(start, end, device=cuda):
        return SimpleNamespace(time_range=SimpleNamespace(start=start, end=end), device_type=device)

    events = [event(0, 10), event(5, 15), event(20, 30), event(40, 45, torch.autograd.DeviceType.CPU)]
    assert kernel_seconds(SimpleNamespace(events=lambda: events)) == pytest.approx(25e-6)
