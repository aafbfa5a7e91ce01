"""`kmb pretrain` end to end on a tiny BERT and our own small corpus (CPU, fp32, no dropout)."""

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
from kmb.training.pretrain import PretrainConfig, run_pretraining

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class LogCapture(TrainerCallback):
    def __init__(self, stop_at: int | None = None):
        self.losses: dict[int, float] = {}
        self.stop_at = stop_at

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses[state.global_step] = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_at is not None and state.global_step >= self.stop_at:
            control.should_training_stop = True  # simulate an interruption right after a checkpoint
        return control


def _config(ws, base, output, **kw):
    values = dict(workspace=ws.root, base_model=str(base), output=output, batch_size=8, lr=5e-3, precision="fp32",
                  logging_steps=1, save_steps=1000, progress=False, seed=7)
    values.update(kw)
    return PretrainConfig(**values)


def test_loss_decreases_and_the_saved_directory_loads_with_plain_transformers(corpus_workspace, tiny_base_dir):
    capture = LogCapture()
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "run", epochs=1, eval_steps=10), [capture])
    steps = sorted(capture.losses)
    first, last = [capture.losses[s] for s in steps[:3]], [capture.losses[s] for s in steps[-3:]]
    assert sum(last) / 3 < sum(first) / 3 - 0.5
    records = read_metrics(corpus_workspace.pretrain("run") / "metrics.jsonl")
    assert records[0]["phase"] == "base" and records[0]["step"] == 0
    assert records[-1]["mlm_loss"] < records[0]["mlm_loss"] and records[-1]["mlm_accuracy"] > records[0]["mlm_accuracy"]
    assert [r["step"] for r in records[1:]] == sorted({r["step"] for r in records[1:]})  # each eval once
    out = Path(summary["model"])
    # the throughput measured over the steps after the warm-up (no GPU here: no MFU line)
    assert summary["throughput tokens/s"] > 0 and 0 <= summary["throughput padding"] < 1
    assert summary["TFLOP/s per device"] > 0 and "MFU" not in summary
    assert (corpus_workspace.pretrain("run") / "curves.png").stat().st_size > 10_000
    assert {"model.safetensors", "config.json", "README.md", "vocab.txt", "metrics.jsonl", "curves.png"} <= {
        p.name for p in out.iterdir()}
    assert not list(out.glob("*.bin"))
    assert "mlm_accuracy" in (out / "README.md").read_text()
    script = (
        "import sys, torch\n"
        "from transformers import AutoModelForPreTraining, AutoModelForMaskedLM, AutoTokenizer\n"
        f"d = {str(out)!r}\n"
        "tok = AutoTokenizer.from_pretrained(d)\n"
        "pre = AutoModelForPreTraining.from_pretrained(d)\n"
        "mlm = AutoModelForMaskedLM.from_pretrained(d)\n"
        "assert type(pre).__name__ == 'BertForPreTraining', type(pre)\n"
        "enc = tok('고혈압 환자는 [MASK] 증상으로 병원에 왔다 .', return_tensors='pt')\n"
        "print(tok.convert_ids_to_tokens(mlm(**enc).logits[0].argmax(-1).tolist()))\n"
        "assert not any(m == 'kmb' or m.startswith('kmb.') for m in sys.modules)\n"
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, cwd="/", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("stop, total", [(3, 6), (27, 29)], ids=["mid-epoch", "next-epoch"])
def test_resume_equals_an_uninterrupted_run(corpus_workspace, tiny_base_dir, stop, total):
    # 194 train pairs in batches of 8: 25 steps an epoch, so (27, 29) resumes inside epoch 2
    whole = LogCapture()
    kw = dict(max_steps=total, save_steps=stop, dropout=0.1)
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "whole", **kw), [whole])
    first = LogCapture(stop_at=stop)
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "parts", **kw), [first])
    assert sorted(first.losses) == list(range(1, stop + 1))
    second = LogCapture()
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "parts", resume=True, **kw), [second])
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


def test_torchrun_two_processes_equal_one_process(corpus_workspace, tiny_base_dir, tiny_tokenizer_dir):
    one = LogCapture()
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "one", max_steps=4, grad_accum=2), [one])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH="")
    torchrun = Path(PYTHON).parent / "torchrun"
    cmd = [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "kmb", "pretrain",
           "--workspace", str(corpus_workspace.root), "--base-model", str(tiny_base_dir), "--output", "two",
           "--batch-size", "8", "--grad-accum", "2", "--lr", "5e-3", "--precision", "fp32", "--logging-steps", "1",
           "--max-steps", "4", "--save-steps", "4", "--seed", "7"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads((corpus_workspace.pretrain("two") / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    two = {r["step"]: r["loss"] for r in state["log_history"] if "loss" in r}
    assert sorted(two) == [1, 2, 3, 4]
    for step in two:
        assert two[step] == pytest.approx(one.losses[step], rel=1e-4), step
    a = load_file(corpus_workspace.model("one") / "model.safetensors")
    b = load_file(corpus_workspace.model("two") / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)
    assert "kmb pretrain" in done.stdout and done.stdout.count("kmb pretrain") == 1


# Operations that read a tensor's value on the host: on a GPU each one waits for the device.
HOST_READS = {"aten._local_scalar_dense.default", "aten.item.default", "aten.is_nonzero.default",
              "aten.nonzero.default", "aten.masked_select.default", "aten.index.Tensor"}


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


def test_training_steps_never_read_a_tensor_on_the_host(corpus_workspace, tiny_base_dir):
    """Between logging steps nothing reads a tensor's value, so on a GPU the host queues step after
    step without waiting: the masked positions come as a fixed-size index list, the attention mask
    ready-made, and the NaN check and blocking copies are off. (Checked on CPU through the dispatcher.)"""
    spy = HostReadSpy(first=6, last=9)
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "sync", max_steps=12, logging_steps=100), [spy])
    assert spy.seen == [], f"{len(spy.seen)} host reads, first {spy.seen[0][0]} at:\n" + "".join(spy.seen[0][1])


def test_profile_steps_write_a_trace_and_the_costliest_operations(corpus_workspace, tiny_base_dir):
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "prof", max_steps=12, logging_steps=100,
                                      profile_steps=3))
    folder = corpus_workspace.pretrain("prof") / "profile"
    assert summary["profile"] == str(folder) and summary["profiled steps"] == 3 and summary["profiled step ms"] > 0
    trace = json.loads((folder / "trace-rank0.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert {"aten::addmm", "Optimizer.step#AdamW.step"} & names, sorted(n for n in names if n)[:40]
    top = (folder / "top-ops-rank0.txt").read_text()
    assert top.startswith("3 training steps") and "aten::" in top
    # throughput is measured after the profiled steps: still reported
    assert summary["throughput tokens/s"] > 0


def test_gpu_busy_counts_overlapping_kernels_once():
    from types import SimpleNamespace

    from kmb.training.profiling import kernel_seconds

    cuda = torch.autograd.DeviceType.CUDA

    def event(start, end, device=cuda):
        return SimpleNamespace(time_range=SimpleNamespace(start=start, end=end), device_type=device)

    events = [event(0, 10), event(5, 15), event(20, 30), event(40, 45, torch.autograd.DeviceType.CPU)]
    assert kernel_seconds(SimpleNamespace(events=lambda: events)) == pytest.approx(25e-6)


def test_a_failing_profile_write_does_not_cost_the_model(corpus_workspace, tiny_base_dir, monkeypatch):
    from kmb.training.profiling import StepProfiler

    def broken(self, profiler, steps, seconds):
        raise OSError("disk full")

    monkeypatch.setattr(StepProfiler, "_write", broken)
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "prof-broken", max_steps=8, logging_steps=100,
                                      profile_steps=2))
    assert summary["profile"] == "not written: OSError: disk full"
    assert (Path(summary["model"]) / "model.safetensors").is_file()
