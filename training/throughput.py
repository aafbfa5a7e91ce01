"""Training throughput: real tokens per second and model FLOPs utilisation (MFU).

``pretraining_flops`` counts a step's FLOPs; ``ThroughputMeter``, a Trainer callback, turns the
counts into the figures at the end of `kmb pretrain`'s summary.

MFU = the FLOPs the model needs per second / the accelerator's peak dense bf16 FLOPs
(Chowdhery et al. 2022, PaLM, appendix B). We count conservatively:

- only real tokens: padding positions are computed by the GPU but are not useful work;
- a transformer layer costs 24·h² FLOPs per token forward (QKV 6h², attention output 2h²,
  feed-forward 16h²) plus 4·h·n per token for attention scores and the weighted sum over a
  sequence of n tokens;
- the pooler and NSP head once per pair; the MLM head (transform + vocabulary projection) only
  at the masked positions, since that is all kmb computes (counting the full head would flatter us);
- backward costs twice the forward, so a training step is 3x the forward.

Peak numbers are the vendors' dense (not sparse) bf16 tensor-core figures.
"""

from __future__ import annotations

import contextlib
import time

import torch
from transformers import TrainerCallback

from kmb.training.masking import IGNORE_INDEX

# Dense bf16 tensor-core peaks in TFLOP/s, first match of the device name wins (order matters).
PEAK_BF16_TFLOPS: list[tuple[str, float]] = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # SXM / HBM3
    ("H200", 989.4),
    ("H800", 989.4),
    ("GH200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.1),
    ("L4", 121.0),
    ("A10", 125.0),
    ("RTX 4090", 165.2),
    ("RTX 3090", 71.0),
]


def peak_bf16_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU by its name (torch.cuda.get_device_name), None if unknown."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if key in device_name:
            return tflops
    return None


def pretraining_flops(config, attention_mask, labels):
    """FLOPs of one training step (forward + backward) of BertForPreTraining with the masked-only
    head on one batch. Works on numpy arrays and on torch tensors; on a GPU the result stays a
    GPU tensor, so counting never waits for the device."""
    h, n_layers, vocab = config.hidden_size, config.num_hidden_layers, config.vocab_size
    lengths = attention_mask.sum(1) * 1.0  # real tokens per pair, as float
    n_masked = (labels != IGNORE_INDEX).sum() * 1.0
    ffn = (
        getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", None) or 4 * h
    )  # DistilBERT: hidden_dim
    per_token = n_layers * (8 * h * h + 4 * h * ffn)  # QKV + output, two FFN matmuls
    encoder = per_token * lengths.sum() + n_layers * 4 * h * (lengths * lengths).sum()
    pooler_nsp = lengths.shape[0] * (2 * h * h + 2 * h * 2)
    mlm_head = n_masked * (2 * h * h + 2 * h * vocab)
    return 3.0 * (encoder + pooler_nsp + mlm_head)


class ThroughputMeter(TrainerCallback):
    """Real tokens per second and model FLOPs utilisation of the training steps, measured from the
    end of the first few (warm-up) steps to the end of training, evaluation time left out.

    The trainer calls ``count`` for each micro-batch; totals stay on the device until the end."""

    WARMUP_STEPS = 5

    def __init__(self, trainer, warmup_steps: int = WARMUP_STEPS):
        self.trainer = trainer
        self.warmup_steps = warmup_steps
        self.flops = self.tokens = self.positions = None
        self.start = None  # (time, flops, tokens, positions) when the measured window opened
        self.paused_seconds = 0.0
        self.result: dict = {}

    def count(self, batch, config) -> None:
        mask = batch["attention_mask"]
        if self.flops is None:
            self.flops = torch.zeros((), dtype=torch.float64, device=mask.device)
            self.tokens = torch.zeros((), dtype=torch.float64, device=mask.device)
            self.positions = 0
        self.flops += pretraining_flops(config, mask, batch["labels"])
        self.tokens += mask.sum()
        self.positions += mask.numel()

    def _now(self) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    @contextlib.contextmanager
    def paused(self):
        start = self._now() if self.start is not None else None
        try:
            yield
        finally:
            if start is not None:
                self.paused_seconds += self._now() - start

    def _totals(self) -> tuple[float, float, int]:
        if self.flops is None:
            return 0.0, 0.0, 0
        return float(self.flops), float(self.tokens), self.positions

    def on_step_end(self, args, state, control, **kwargs):
        warmup = self.warmup_steps if state.max_steps > 2 * self.warmup_steps else 0
        if self.start is None and state.global_step >= warmup:
            self.start = (self._now(), *self._totals())
            self.paused_seconds = 0.0
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self.start is None:
            return control
        seconds = self._now() - self.start[0] - self.paused_seconds
        flops, tokens, positions = self._totals()
        window = torch.tensor(
            [flops - self.start[1], tokens - self.start[2], positions - self.start[3]],
            dtype=torch.float64,
            device=args.device,
        )
        if args.world_size > 1:
            window = self.trainer.accelerator.reduce(window, "sum")
        flops, tokens, positions = window.tolist()
        if seconds <= 0 or tokens <= 0:
            return control
        tflops = flops / seconds / args.world_size / 1e12
        self.result = {
            "tokens/s": round(tokens / seconds),
            "padding": round(1 - tokens / positions, 4),
            "TFLOP/s per device": float(f"{tflops:.3g}"),
        }
        if torch.cuda.is_available():
            name = torch.cuda.get_device_name()
            peak = peak_bf16_tflops(name)
            self.result["device"] = name
            if peak:
                self.result["MFU"] = round(tflops / peak, 4)
        return control
