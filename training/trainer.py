"""The Hugging Face Trainer with kmb's hooks, and the sampler and callback it uses.

The Trainer is the training loop (checkpoints, gradient accumulation, mixed precision, resume,
torchrun). `PretrainingTrainer` changes three things only: the order of the pairs (a seeded
length-grouped sampler defined on the global batch), the loss normalisation (global counts of
masked tokens and pairs, see kmb.training.model), and evaluation (the paper's four numbers on the
validation pairs, or the two MLM numbers with MLM alone, appended to metrics.jsonl).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from transformers import Trainer, TrainerCallback

from kmb.training.masking import IGNORE_INDEX
from kmb.training.metrics import append_metrics, validation_metrics
from kmb.training.throughput import ThroughputMeter


class LengthGroupedSampler(torch.utils.data.Sampler):
    """Shuffle pairs, then sort within mega-batches of 50 global batches by length, so each batch
    holds pairs of similar length and padding shrinks. Seeded by (seed, epoch); yields
    ``(epoch, index)`` so the dataset draws that epoch's masks. Batch boundaries are defined on
    the *global* batch, so 1 process x 32 and 2 processes x 16 see the same pairs per step.

    With ``total_steps`` (a masking rate that changes over the run) it yields ``(epoch, index,
    progress)``: the progress of the optimizer step the pair is trained in, 0 at the first step and
    1 at the last (:func:`step_progress`). It is computed here, in the main process, from the
    pair's place in the order, so it travels with the key into the data-loader workers and is the
    same after --resume and for any number of workers or processes."""

    def __init__(
        self, lengths: np.ndarray, global_batch: int, seed: int, group: bool = True, total_steps: int | None = None
    ):
        self.lengths = lengths
        self.global_batch = global_batch
        self.seed = seed
        self.group = group
        self.total_steps = total_steps
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        if self.group:
            mega = self.global_batch * 50
            for start in range(0, len(order), mega):
                block = order[start : start + mega]
                # stable sort, longest first: the first batch is the largest, so memory fails early
                order[start : start + mega] = block[np.argsort(-self.lengths[block], kind="stable")]
            # Shuffle whole global batches so long and short ones alternate over the epoch.
            n_full = len(order) // self.global_batch
            batches = order[: n_full * self.global_batch].reshape(n_full, self.global_batch)
            batches = batches[rng.permutation(n_full)]
            order = np.concatenate([batches.reshape(-1), order[n_full * self.global_batch :]])
        for start in range(0, len(order), 65_536):  # no Python list of the whole epoch
            chunk = order[start : start + 65_536].tolist()
            if self.total_steps is None:
                for index in chunk:
                    yield (self.epoch, index)
            else:
                places = start + np.arange(len(chunk))
                progress = step_progress(self.epoch, places, len(order), self.global_batch, self.total_steps)
                for index, at in zip(chunk, progress.tolist()):
                    yield (self.epoch, index, at)


def steps_per_epoch(examples: int, global_batch: int) -> int:
    """Optimizer steps in one pass over ``examples``, as the Trainer counts them (a short last batch is a step)."""
    return max(-(-examples // global_batch), 1)


def run_steps(examples: int, global_batch: int, max_steps: int, epochs: float) -> int:
    """The optimizer steps of a run, as the Trainer counts them: --max-steps, or --epochs of steps."""
    return max_steps if max_steps > 0 else max(math.ceil(epochs * steps_per_epoch(examples, global_batch)), 1)


def step_progress(epoch: int, places: np.ndarray, examples: int, global_batch: int, total_steps: int) -> np.ndarray:
    """The progress of the run (0 at the first optimizer step, 1 at the last) at which the pairs at
    ``places`` of ``epoch``'s order are trained: their optimizer step over the last step's number."""
    step = epoch * steps_per_epoch(examples, global_batch) + places // global_batch
    return np.minimum(step / max(total_steps - 1, 1), 1.0)


class EvaluateAtEpochEnd(TrainerCallback):
    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_evaluate = True
        return control


def wsd_kwargs(num_training_steps: int, decay_fraction: float) -> dict:
    """The warmup-stable-decay schedule's arguments: the last ``decay_fraction`` of the steps decay
    with the 1-sqrt shape (Hägele et al. 2024); the steps between warmup and decay keep the peak rate."""
    return {"num_decay_steps": max(1, round(decay_fraction * num_training_steps)), "decay_type": "1-sqrt"}


class PretrainingTrainer(Trainer):
    """The HF Trainer with a length-grouped sampler, global loss normalisation and our evaluation.

    ``seed`` and ``group_by_length`` order the pairs; ``mask_rate_schedule`` makes the sampler's
    keys carry each step's progress (a masking rate that changes over the run); ``profile_steps``
    (profiled, so slower) are left out of the throughput measure."""

    def __init__(
        self,
        *args,
        lengths,
        global_batch,
        seed: int,
        group_by_length: bool,
        profile_steps: int,
        metrics_path: Path,
        eval_collator,
        decay_fraction: float = 0.1,
        mask_rate_schedule: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.kmb_decay_fraction = decay_fraction
        self.kmb_mask_rate_schedule = mask_rate_schedule
        self.kmb_lengths = lengths
        self.kmb_global_batch = global_batch
        self.kmb_seed = seed
        self.kmb_group_by_length = group_by_length
        self.kmb_metrics_path = metrics_path
        self.kmb_eval_collator = eval_collator
        self.kmb_last_eval_step = -1
        self.kmb_last_metrics = {}
        # Throughput is measured after any profiled steps (profiling slows them down).
        self.kmb_meter = ThroughputMeter(self, warmup_steps=ThroughputMeter.WARMUP_STEPS + profile_steps)
        self.add_callback(self.kmb_meter)

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        # Warmup-stable-decay needs its decay length in steps, known only here (with --epochs too).
        if self.lr_scheduler is None and self.args.lr_scheduler_type == "warmup_stable_decay":
            self.args.lr_scheduler_kwargs = wsd_kwargs(num_training_steps, self.kmb_decay_fraction)
        return super().create_scheduler(num_training_steps, optimizer)

    def _get_train_sampler(self, train_dataset=None):
        # A masking-rate schedule needs the run's length: the keys carry each step's progress.
        args, examples = self.args, len(self.kmb_lengths)
        total = run_steps(examples, self.kmb_global_batch, args.max_steps, args.num_train_epochs)
        return LengthGroupedSampler(
            self.kmb_lengths,
            self.kmb_global_batch,
            self.kmb_seed,
            group=self.kmb_group_by_length,
            total_steps=total if self.kmb_mask_rate_schedule else None,
        )

    def _get_num_items_in_batch(self, batch_samples, device):
        # Global counts of masked tokens and of pairs over all micro-batches and processes:
        # the model divides its summed losses by them (see kmb.training.model). Counted where
        # the batches are (the GPU), so the step never waits for the device here.
        counts = torch.zeros(2, dtype=torch.long, device=device)
        for batch in batch_samples:
            counts[0] += batch["labels"].ne(IGNORE_INDEX).sum().to(device)
            counts[1] += batch["input_ids"].shape[0]  # pairs (NSP), or segments with MLM alone
            self.kmb_meter.count(batch, self.model.config)
        if self.args.world_size > 1:
            counts = self.accelerator.gather(counts).view(-1, 2).sum(0)
        return counts

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval", phase="train"):
        """Score MLM/NSP accuracy and loss on the validation pairs; ``phase="base"`` for the start model."""
        with self.kmb_meter.paused():
            return self._kmb_evaluate(eval_dataset, metric_key_prefix, phase)

    def _kmb_evaluate(self, eval_dataset, metric_key_prefix, phase):
        step = self.state.global_step
        if phase == "train" and step == self.kmb_last_eval_step:
            return self.kmb_last_metrics  # e.g. max_steps reached on an eval step, then epoch end
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        model = self.accelerator.unwrap_model(self.model)
        metrics = validation_metrics(
            model,
            dataset,
            self.kmb_eval_collator,
            batch_size=self.args.per_device_eval_batch_size,
            device=self.args.device,
            rank=self.args.process_index,
            world_size=self.args.world_size,
            reduce=(lambda t: self.accelerator.reduce(t, "sum")) if self.args.world_size > 1 else None,
            autocast=self.accelerator.autocast,
        )
        self.kmb_last_eval_step = step
        record = {"phase": phase, "step": step, "epoch": round(self.state.epoch or 0.0, 4), **metrics}
        if self.is_world_process_zero():
            append_metrics(self.kmb_metrics_path, record)
        logged = {f"{metric_key_prefix}_{k}": round(v, 4) for k, v in metrics.items()}
        self.kmb_last_metrics = logged
        if phase == "train":
            self.log(logged)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, logged)
        return logged
