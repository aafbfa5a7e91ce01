"""The model card (README.md) of a pretrained model: data, hyperparameters, final metrics."""

from __future__ import annotations

from pathlib import Path

from kmb import __version__
from kmb.storage import write_text_atomic


def write_model_card(path: Path, *, name: str, config, shard_manifest: dict, records: list[dict], summary: dict,
                     model_config, differs_from_paper: dict[str, str]) -> Path:
    splits = shard_manifest["splits"]
    base = next((r for r in records if r.get("phase") == "base"), None)
    final = records[-1] if records else None
    lines = [
        "---",
        "language: ko",
        "library_name: transformers",
        "pipeline_tag: fill-mask",
        "tags: [bert, medical, korean, km-bert, kmb]",
        "---",
        "",
        f"# {name}",
        "",
        "A BERT continued (or trained from scratch) with masked language modelling and next sentence",
        f"prediction on a Korean medical corpus by `kmb pretrain` (kmb {__version__}), following KM-BERT",
        "(Kim et al., 2022). Loads with plain transformers:",
        "",
        "```python",
        "from transformers import AutoModelForPreTraining, AutoModelForMaskedLM, AutoTokenizer",
        f'model = AutoModelForMaskedLM.from_pretrained("{name}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{name}")',
        "```",
        "",
        "## Start",
        "",
        f"- start model: {summary['start']}",
        f"- pretraining heads: {summary['heads']}"
        + ("; the start model's MLM/NSP scores below are therefore no baseline"
           if "freshly initialised" in summary["heads"] else ""),
        f"- tokenizer: {summary['tokenizer']} ({summary['tokenizer from']}, {shard_manifest['vocab_size']} tokens)",
        f"- architecture: hidden {model_config.hidden_size}, {model_config.num_hidden_layers} layers, "
        f"{model_config.num_attention_heads} heads, vocab {model_config.vocab_size}",
        "",
        "## Data",
        "",
        "| split | sentences | pairs | NotNext pairs | tokens |",
        "|---|---:|---:|---:|---:|",
    ]
    for split, info in splits.items():
        lines.append(f"| {split} | {info['sentences']:,} | {info['pairs']:,} | {info['not_next']:,} | {info['tokens']:,} |")
    lines += [
        "",
        "Pairs: consecutive sentences of a document (IsNext) or, for half of them, a random sentence of",
        "another document (NotNext); `[CLS] A [SEP] B [SEP]`, truncated to "
        f"{shard_manifest['max_length']} tokens. MLM: 15% of non-special tokens, 80% [MASK] / 10% random /",
        f"10% unchanged, {'fixed masks (static)' if config.static_masking else 'drawn afresh every epoch (dynamic)'}.",
        "",
        "## Hyperparameters",
        "",
        f"Recipe: `{config.recipe}`. Values that differ from the paper's: "
        + ("; ".join(f"{key} {value}" for key, value in differs_from_paper.items()) or "none") + ".",
        "",
        "| option | value |",
        "|---|---|",
    ]
    for key in ("recipe", "epochs", "max_steps", "batch_size", "grad_accum", "lr", "warmup", "weight_decay", "max_length",
                "seed", "static_masking", "mlm_probability", "init", "dropout"):
        lines.append(f"| {key} | {getattr(config, key)} |")
    lines += [f"| precision | {summary['precision']} |", f"| processes | {summary['processes']} |",
              f"| optimizer steps | {summary['steps']} |", "", "## Validation metrics", ""]
    if final is not None:
        lines += ["| metric | start model | final |", "|---|---:|---:|"]
        for key in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss"):
            start = f"{base[key]:.4f}" if base else "-"
            lines.append(f"| {key} | {start} | {final[key]:.4f} |")
        lines += ["", "Curves: `curves.png`; every evaluation: `metrics.jsonl`."]
    lines.append("")
    return write_text_atomic(path, "\n".join(lines))
