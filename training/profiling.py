"""`kmb pretrain --profile-steps N`: where a training step's time goes, from torch.profiler.

Profiles N consecutive training steps after the throughput meter's warm-up and writes, per process,

    pretrain/<name>/profile/trace-rank<r>.json     Chrome trace (open in chrome://tracing or Perfetto)
    pretrain/<name>/profile/top-ops-rank<r>.txt    the costliest operations, by device time on a GPU

and adds to the summary the mean step time of the window and, on a GPU, the share of it during
which the GPU was running kernels or copies ("GPU busy"). A low share means the host (Python,
kernel launches, the data loader, waiting) is the limit; a high share means the GPU is. The
throughput figures of the summary are measured after the profiled steps, which run slower.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from kmb.storage import atomic_path, write_text_atomic
from kmb.training.throughput import ThroughputMeter

logger = logging.getLogger(__name__)
START_AFTER = ThroughputMeter.WARMUP_STEPS  # the warm-up steps the throughput meter leaves out


class StepProfiler(TrainerCallback):
    def __init__(self, out_dir: Path, steps: int, rank: int = 0):
        self.out_dir = Path(out_dir)
        self.steps = steps
        self.rank = rank
        self.profiler = None
        self.started = 0.0
        self.first_step = None
        self.result: dict = {}

    def _sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_step_end(self, args, state, control, **kwargs):
        # Start at the end of a step, so the window holds whole steps: fetching the batch,
        # forward, backward, clipping, optimizer and callbacks.
        start_at = min(START_AFTER, max(state.max_steps - self.steps, 0))
        if self.profiler is None and self.first_step is None and state.global_step >= start_at:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self.profiler = torch.profiler.profile(activities=activities, record_shapes=False)
            self._sync()
            self.profiler.__enter__()
            self.first_step = state.global_step
            self.started = time.perf_counter()
        elif self.profiler is not None and state.global_step >= self.first_step + self.steps:
            self._finish(state.global_step - self.first_step)
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self.profiler is not None:  # training ended inside the window
            self._finish(state.global_step - self.first_step)
        return control

    def _finish(self, steps: int) -> None:
        self._sync()
        seconds = time.perf_counter() - self.started
        profiler, self.profiler = self.profiler, None
        profiler.__exit__(None, None, None)
        if steps <= 0:
            return
        self.result = {
            "profile": str(self.out_dir),
            "profiled steps": steps,
            "profiled step ms": round(seconds / steps * 1000, 1),
        }
        try:
            self._write(profiler, steps, seconds)
        except Exception as exc:  # a diagnostic must never cost the training run its model
            logger.warning(
                "kmb pretrain: writing the profile failed (%s: %s); training goes on", type(exc).__name__, exc
            )
            self.result["profile"] = f"not written: {type(exc).__name__}: {exc}"

    def _write(self, profiler, steps: int, seconds: float) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        on_gpu = torch.cuda.is_available()
        sort_by = "self_device_time_total" if on_gpu else "self_cpu_time_total"
        table = profiler.key_averages().table(sort_by=sort_by, row_limit=30)
        top = self.out_dir / f"top-ops-rank{self.rank}.txt"
        write_text_atomic(top, f"{steps} training steps, {seconds / steps * 1000:.1f} ms each\n\n{table}\n")
        with atomic_path(self.out_dir / f"trace-rank{self.rank}.json") as tmp:
            profiler.export_chrome_trace(str(tmp))
        if on_gpu:
            self.result["GPU busy"] = round(min(kernel_seconds(profiler) / seconds, 1.0), 3)


def kernel_seconds(profiler) -> float:
    """Seconds during which at least one GPU kernel ran (overlapping kernels counted once)."""
    spans = sorted(
        (e.time_range.start, e.time_range.end)
        for e in profiler.events()
        if e.device_type == torch.autograd.DeviceType.CUDA and e.time_range.end > e.time_range.start
    )
    busy, end = 0.0, float("-inf")
    for start, stop in spans:
        if start > end:
            busy += stop - start
        elif stop > end:
            busy += stop - end
        end = max(end, stop)
    return busy / 1e6  # profiler times are microseconds
