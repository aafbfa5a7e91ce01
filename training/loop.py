"""Steps 2 and 5 of `kmb pretrain`: the Trainer's settings, and training itself.

`training_arguments` turns the options into TrainingArguments (the global batch split over
processes and accumulation, precision, data-loader workers); `train` scores the start model, runs
kmb.training.trainer.PretrainingTrainer (checkpoints, --resume, torchrun) and scores the end.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from kmb.training.config import PretrainConfig
from kmb.training.inputs import RunInputs
from kmb.training.pretrain_data import TrainingData


def use_expandable_cuda_segments() -> None:
    """Length-grouped batches change shape every step; with fixed-size segments the CUDA allocator
    can end up freeing and re-allocating memory per batch (NVIDIA NeMo measured ~30% overhead from
    this, PR #9061). Expandable segments grow instead. A user's own PYTORCH_CUDA_ALLOC_CONF wins."""
    if torch.cuda.is_available() and "PYTORCH_CUDA_ALLOC_CONF" not in os.environ:
        set_allocator = getattr(torch._C, "_accelerator_setAllocatorSettings", None)  # torch >= 2.9
        (set_allocator or torch.cuda.memory._set_allocator_settings)("expandable_segments:True")


def training_arguments(cfg: PretrainConfig, inputs: RunInputs):
    """Step 2: the TrainingArguments of the run (--batch-size is global: split over processes and accumulation)."""
    from transformers import TrainingArguments

    use_expandable_cuda_segments()
    per_device = cfg.batch_size // (inputs.world * cfg.grad_accum)
    on_gpu = torch.cuda.is_available()
    # Masking and padding run in the data loader's collator: on a GPU it must not starve the
    # device, so it moves to worker processes there. On CPU they would compete with training.
    workers = (
        cfg.dataloader_workers if cfg.dataloader_workers is not None else (min(4, os.cpu_count() or 1) if on_gpu else 0)
    )
    return TrainingArguments(
        output_dir=str(inputs.run_dir / "checkpoints"),
        per_device_train_batch_size=per_device,
        per_device_eval_batch_size=max(per_device, 64),
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup,
        lr_scheduler_type=cfg.lr_schedule,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if cfg.eval_steps else "epoch",
        eval_steps=cfg.eval_steps,
        bf16=inputs.precision == "bf16",
        fp16=inputs.precision == "fp16",
        use_cpu=not on_gpu,
        ddp_backend="gloo" if (inputs.world > 1 and not on_gpu) else None,
        ddp_find_unused_parameters=False,  # every parameter takes part (the NSP head too, with MLM + NSP)
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        dataloader_num_workers=workers,
        dataloader_persistent_workers=workers > 0,  # no re-spawning at each epoch
        # Nothing in a training step waits for the GPU: batches are copied from pinned memory
        # without blocking, and the loss is not checked for NaN on the host every step (a NaN
        # shows in the logged loss instead of being averaged away).
        accelerator_config={"non_blocking": on_gpu},
        logging_nan_inf_filter=False,
        optim="adamw_torch_fused",  # one kernel per step for all parameters (CPU and GPU)
        remove_unused_columns=False,
        average_tokens_across_devices=True,
        disable_tqdm=not cfg.progress,
        label_names=["labels", "next_sentence_label"] if inputs.objective == "mlm+nsp" else ["labels"],
        **cfg.extra,
    )


@dataclass
class TrainedRun:
    trainer: object  # kmb.training.trainer.PretrainingTrainer
    training_loss: float | None  # None: --resume found the run at its last step, nothing was trained
    profiler: object | None  # kmb.training.profiling.StepProfiler with --profile-steps
    last_step: int  # with --resume: the step the run ends at (--max-steps, or --epochs over the train set)


def last_step(trainer, args) -> int:
    """The step the run ends at, counted as the Trainer counts it: --max-steps, or --epochs times the
    optimizer steps of an epoch (this process's micro-batches over --grad-accum, rounded up)."""
    if args.max_steps > 0:
        return args.max_steps
    batches = len(trainer.get_train_dataloader())
    per_epoch = max(math.ceil(batches / args.gradient_accumulation_steps), 1)
    return math.ceil(args.num_train_epochs * per_epoch)


def run_callbacks(cfg: PretrainConfig, inputs: RunInputs, args, callbacks) -> tuple[list, object, object]:
    """-> (the Trainer's extra callbacks, the StepProfiler or None, the TensorBoardCallback or None)."""
    extra_callbacks = list(callbacks or [])
    profiler = tensorboard = None
    if cfg.profile_steps > 0:
        from kmb.training.profiling import StepProfiler

        profiler = StepProfiler(inputs.run_dir / "profile", cfg.profile_steps, rank=args.process_index)
        extra_callbacks.append(profiler)
    if cfg.report_to == "tensorboard":
        from transformers.integrations import TensorBoardCallback

        tensorboard = TensorBoardCallback()
        tensorboard.logging_dir = str(inputs.run_dir / "runs")  # not under checkpoints/, which a fresh run clears
        extra_callbacks.append(tensorboard)
    return extra_callbacks, profiler, tensorboard


def train(cfg: PretrainConfig, inputs: RunInputs, args, data: TrainingData, model, callbacks) -> TrainedRun:
    """Step 5: score the start model (phase "base"), train, and score the last step if not yet done."""
    from kmb.training.metrics import truncate_metrics
    from kmb.training.trainer import EvaluateAtEpochEnd, PretrainingTrainer

    extra_callbacks, profiler, tensorboard = run_callbacks(cfg, inputs, args, callbacks)
    trainer = PretrainingTrainer(
        model=model,
        args=args,
        train_dataset=data.train_set,
        eval_dataset=data.valid_set,
        data_collator=data.collator,
        processing_class=inputs.tokenizer,
        callbacks=[EvaluateAtEpochEnd(), *extra_callbacks],
        lengths=data.train_set.lengths,
        global_batch=cfg.batch_size,
        seed=cfg.seed,
        group_by_length=cfg.group_by_length,
        profile_steps=cfg.profile_steps,
        metrics_path=inputs.metrics_path,
        decay_fraction=cfg.decay,
        mask_rate_schedule=cfg.mlm_probability_start is not None,
        eval_collator=data.collator,
    )
    last = args.max_steps if inputs.resume_step is None else last_step(trainer, args)
    if inputs.resume_step is not None and inputs.resume_step >= last:
        # the Trainer would train on (one more step, or an epoch's re-evaluation and a new save)
        return TrainedRun(trainer=trainer, training_loss=None, profiler=profiler, last_step=last)
    if inputs.resume_from is None:
        base_metrics = trainer.evaluate(phase="base")
        if tensorboard is not None:  # the start model's scores as the curves' step 0
            tensorboard.on_log(args, trainer.state, trainer.control, logs=dict(base_metrics))
    elif args.process_index == 0 and inputs.metrics_path.is_file():
        truncate_metrics(inputs.metrics_path, inputs.resume_step)
    output = trainer.train(resume_from_checkpoint=inputs.resume_from)
    if trainer.kmb_last_eval_step != trainer.state.global_step:
        trainer.evaluate()
    trainer.accelerator.wait_for_everyone()
    return TrainedRun(trainer=trainer, training_loss=float(output.training_loss), profiler=profiler, last_step=last)
