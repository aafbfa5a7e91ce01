"""Step 6 of `kmb pretrain`: the run's summary and models/<name>/.

The summary the CLI prints, and the model directory written atomically by the main process:
weights, tokenizer files as they are, metrics, curves and the model card (kmb.training.model_card).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from kmb.storage import atomic_dir
from kmb.training.config import PretrainConfig, differs_from_paper, masking_scheme
from kmb.training.inputs import RunInputs
from kmb.training.loop import TrainedRun
from kmb.training.pretrain_data import TrainingData


def run_summary(
    cfg: PretrainConfig, inputs: RunInputs, data: TrainingData, run: TrainedRun, heads: str, started: float
) -> dict:
    """The summary the CLI prints (and the model card repeats): start, tokenizer, recipe, metrics."""
    from kmb.training.metrics import read_metrics

    differs = differs_from_paper(cfg)
    summary = {
        "model": str(inputs.workspace.model(cfg.output)),
        "start": str(inputs.base_dir) if inputs.base_dir else f"--config {cfg.config}",
        "heads": heads,
        "family": inputs.family,
        "objective": inputs.objective + (" (auto)" if cfg.objective == "auto" else ""),
        "masking": masking_scheme(cfg),
        "tokenizer": str(inputs.tokenizer_dir),
        "tokenizer from": inputs.tokenizer_source,
        "vocab size": len(inputs.tokenizer),
        "vocab growth": vocab_growth(cfg, inputs),
        "recipe": cfg.recipe,
        "differs from the paper": "; ".join(f"{k} {v}" for k, v in differs.items()) or "nothing",
        f"train {data.unit}": data.n_train(),
        f"valid {data.unit}": len(data.valid_set),
        "steps": run.trainer.state.global_step,
        "train loss": round(run.training_loss, 4),
        "precision": inputs.precision,
        "processes": inputs.world,
        "seconds": round(time.time() - started, 1),
    }
    summary.update(
        {f"throughput {k}" if k in ("tokens/s", "padding") else k: v for k, v in run.trainer.kmb_meter.result.items()}
    )
    if run.profiler is not None:
        summary.update(run.profiler.result)
    records = read_metrics(inputs.metrics_path)
    base = next((r for r in records if r["phase"] == "base"), None)
    final = records[-1] if records else None
    for key in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss"):
        if final is not None and key in final:  # MLM alone: no NSP numbers
            summary[key.replace("_", " ")] = f"{base[key]:.4f} -> {final[key]:.4f}" if base else f"{final[key]:.4f}"
    return summary


def vocab_growth(cfg: PretrainConfig, inputs: RunInputs) -> str:
    """The embeddings' growth for an extended vocab, or "none"."""
    if inputs.base_tokenizer is None:
        return "none"
    added = len(inputs.tokenizer) - inputs.base_vocab_size
    return f"+{added} tokens ({inputs.base_vocab_size} -> {len(inputs.tokenizer)}, init {cfg.init})"


def corpus_decontamination(report_path: Path) -> dict | None:
    """What `kmb corpus build --decontaminate` removed from the corpus, from its report.json (None:
    not decontaminated, or no readable report)."""
    try:
        return json.loads(report_path.read_text(encoding="utf-8")).get("decontamination")
    except (OSError, ValueError, AttributeError):
        return None


def save_model_dir(
    cfg: PretrainConfig, inputs: RunInputs, data: TrainingData, run: TrainedRun, summary: dict
) -> dict | None:
    """Step 6: models/<name>/ written atomically by the main process: weights, tokenizer, metrics,
    curves and the model card. Returns the summary with the curves' path."""
    from kmb.training.metrics import plot_metrics, read_metrics
    from kmb.training.model_card import write_model_card

    trainer = run.trainer
    if trainer.is_world_process_zero():
        records = read_metrics(inputs.metrics_path)
        curves = plot_metrics(records, inputs.run_dir / "curves.png", title=f"kmb pretrain {cfg.output}")
        with atomic_dir(inputs.workspace.model(cfg.output)) as tmp:
            trainer.save_model(str(tmp))
            _copy_tokenizer(inputs.tokenizer, inputs.tokenizer_dir, tmp)
            if inputs.objective == "mlm+nsp":  # the MLM-only classes save as the plain class themselves
                _mark_plain_bert(tmp / "config.json")
            shutil.copy2(inputs.metrics_path, tmp / "metrics.jsonl")
            shutil.copy2(curves, tmp / "curves.png")
            (tmp / "training_args.bin").unlink(missing_ok=True)
            write_model_card(
                tmp / "README.md",
                name=cfg.output,
                config=cfg,
                shard_manifest=data.shard_set.manifest,
                records=records,
                summary=summary,
                model_config=trainer.model.config,
                differs_from_paper=differs_from_paper(cfg),
                architectures=json.loads((tmp / "config.json").read_text())["architectures"],
                decontamination=corpus_decontamination(inputs.workspace.corpus / "report.json"),
            )
        inputs.workspace.refresh_views()
        summary["curves"] = str(inputs.run_dir / "curves.png")
    trainer.accelerator.wait_for_everyone()
    return summary if trainer.is_world_process_zero() else None


NOT_TOKENIZER_FILES = {
    "config.json",
    "README.md",
    "metrics.jsonl",
    "curves.png",
    "training_args.bin",
    "generation_config.json",
}


def _copy_tokenizer(tokenizer, tokenizer_dir: Path, out_dir: Path) -> None:
    """Copy the tokenizer directory's files as they are (vocab.txt, a bidirectional config, ...),
    so the model directory tokenizes exactly as training did; save it when nothing was copied."""
    copied = False
    for path in Path(tokenizer_dir).iterdir():
        if (
            path.is_file()
            and path.name not in NOT_TOKENIZER_FILES
            and path.suffix not in (".safetensors", ".bin", ".h5")
        ):
            shutil.copy2(path, out_dir / path.name)
            copied = copied or path.name in ("tokenizer.json", "vocab.txt")
    if not copied:
        tokenizer.save_pretrained(str(out_dir))


def _mark_plain_bert(config_path: Path) -> None:
    """Our subclass saves its own class name; the weights are BertForPreTraining's."""
    from kmb.training.model import SAVED_ARCHITECTURE

    config = json.loads(config_path.read_text())
    config["architectures"] = [SAVED_ARCHITECTURE]
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def finished_summary(cfg: PretrainConfig, inputs: RunInputs, last_step: int) -> dict | None:
    """The summary of a --resume whose checkpoint is already at the run's last step (``last_step``,
    from --max-steps or --epochs): nothing is trained, models/<name>/ is left as it is."""
    model_dir = inputs.workspace.model(cfg.output)
    name = Path(inputs.resume_from).name
    last = f"--max-steps {cfg.max_steps}" if cfg.max_steps > 0 else f"--epochs {cfg.epochs:g}: {last_step} steps"
    summary = {
        "model": str(model_dir) if model_dir.is_dir() else "not written: run again without --resume",
        "trained": f"nothing: {name} is already at the last step ({last})",
        "steps": inputs.resume_step,
    }
    return summary if int(os.environ.get("RANK", "0")) == 0 else None
