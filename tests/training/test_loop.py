"""Steps 2 and 5 of `kmb pretrain` (kmb.training.loop): resume equals an uninterrupted run, two
processes equal one, no host reads inside the steps, profiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from kmb.training.metrics import read_metrics
from kmb.training.pretrain import run_pretraining

PYTHON = sys.executable


@pytest.mark.parametrize("stop, total", [(3, 6), (27, 29)], ids=["mid-epoch", "next-epoch"])
def test_resume_equals_an_uninterrupted_run(corpus_workspace, tiny_base_dir, stop, total, helpers):
    # 194 train pairs in batches of 8: 25 steps an epoch, so (27, 29) resumes inside epoch 2
    whole = helpers.LogCapture()
    kw = dict(max_steps=total, save_steps=stop, dropout=0.1)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "whole", **kw), [whole])
    first = helpers.LogCapture(stop_at=stop)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "parts", **kw), [first])
    assert sorted(first.losses) == list(range(1, stop + 1))
    second = helpers.LogCapture()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "parts", resume=True, **kw), [second])
    assert sorted(second.losses) == list(range(stop + 1, total + 1))
    for step in range(1, total + 1):
        got = (first.losses | second.losses)[step]
        assert got == pytest.approx(whole.losses[step], rel=1e-5), step
    a = load_file(corpus_workspace.model("whole") / "model.safetensors")
    b = load_file(corpus_workspace.model("parts") / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)
    steps = [r["step"] for r in read_metrics(corpus_workspace.pretrain("parts") / "metrics.jsonl")]
    assert steps[0] == 0 and steps[-1] == total and steps.count(total) == 1


def test_torchrun_two_processes_equal_one_process(corpus_workspace, tiny_base_dir, tiny_tokenizer_dir, helpers):
    one = helpers.LogCapture()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "one", max_steps=4, grad_accum=2), [one])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH="")
    # torch's own launcher under this interpreter (the torchrun script's shebang may name another venv)
    cmd = [
        PYTHON,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "kmb",
        "pretrain",
        "--workspace",
        str(corpus_workspace.root),
        "--base-model",
        str(tiny_base_dir),
        "--output",
        "two",
        "--batch-size",
        "8",
        "--grad-accum",
        "2",
        "--lr",
        "5e-3",
        "--precision",
        "fp32",
        "--logging-steps",
        "1",
        "--max-steps",
        "4",
        "--save-steps",
        "4",
        "--seed",
        "7",
        "--dynamic-masking",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads(
        (corpus_workspace.pretrain("two") / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text()
    )
    two = {r["step"]: r["loss"] for r in state["log_history"] if "loss" in r}
    assert sorted(two) == [1, 2, 3, 4]
    for step in two:
        assert two[step] == pytest.approx(one.losses[step], rel=1e-4), step
    a = load_file(corpus_workspace.model("one") / "model.safetensors")
    b = load_file(corpus_workspace.model("two") / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)
    assert "kmb pretrain" in done.stdout and done.stdout.count("kmb pretrain") == 1


HOST_READS = {
    "aten._local_scalar_dense.default",
    "aten.item.default",
    "aten.is_nonzero.default",
    "aten.nonzero.default",
    "aten.masked_select.default",
    "aten.index.Tensor",
}


class HostReadSpy(TrainerCallback):
    """Records every host-reading operation (with where it came from) in the steps after ``first``
    up to ``last``, inside the Trainer's loop: data, forward, backward, clipping, optimizer, counters."""

    def __init__(self, first: int, last: int):
        from torch.utils._python_dispatch import TorchDispatchMode

        self.first, self.last, self.seen = first, last, []
        spy = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if str(func) in HOST_READS:
                    import traceback

                    spy.seen.append((str(func), traceback.format_stack(limit=8)[:-1]))
                return func(*args, **(kwargs or {}))

        self.mode = Mode()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.first:
            self.mode.__enter__()
        elif state.global_step == self.last:
            self.mode.__exit__(None, None, None)
        return control


def test_training_steps_never_read_a_tensor_on_the_host(corpus_workspace, tiny_base_dir, helpers):
    """Between logging steps nothing reads a tensor's value, so on a GPU the host queues step after
    step without waiting: the masked positions come as a fixed-size index list, the attention mask
    ready-made, and the NaN check and blocking copies are off. (Checked on CPU through the dispatcher.)"""
    spy = HostReadSpy(first=6, last=9)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "sync", max_steps=12, logging_steps=100), [spy])
    assert spy.seen == [], f"{len(spy.seen)} host reads, first {spy.seen[0][0]} at:\n" + "".join(spy.seen[0][1])


def test_profile_steps_write_a_trace_and_the_costliest_operations(corpus_workspace, tiny_base_dir, helpers):
    summary = run_pretraining(
        helpers.config(corpus_workspace, tiny_base_dir, "prof", max_steps=12, logging_steps=100, profile_steps=3)
    )
    folder = corpus_workspace.pretrain("prof") / "profile"
    assert summary["profile"] == str(folder) and summary["profiled steps"] == 3 and summary["profiled step ms"] > 0
    trace = json.loads((folder / "trace-rank0.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert {"aten::addmm", "Optimizer.step#AdamW.step"} & names, sorted(n for n in names if n)[:40]
    top = (folder / "top-ops-rank0.txt").read_text()
    assert top.startswith("3 training steps") and "aten::" in top
    # throughput is measured after the profiled steps: still reported
    assert summary["throughput tokens/s"] > 0


def test_a_failing_profile_write_does_not_cost_the_model(corpus_workspace, tiny_base_dir, monkeypatch, helpers):
    from kmb.training.profiling import StepProfiler

    def broken(self, profiler, steps, seconds):
        raise OSError("disk full")

    monkeypatch.setattr(StepProfiler, "_write", broken)
    summary = run_pretraining(
        helpers.config(corpus_workspace, tiny_base_dir, "prof-broken", max_steps=8, logging_steps=100, profile_steps=2)
    )
    assert summary["profile"] == "not written: OSError: disk full"
    assert (Path(summary["model"]) / "model.safetensors").is_file()
