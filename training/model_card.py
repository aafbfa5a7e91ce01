"""The model card (README.md) of a pretrained model: base family, objective, masking, vocab growth,
data, hyperparameters, final metrics."""

from __future__ import annotations

from pathlib import Path

from kmb import __version__
from kmb.storage import write_text_atomic
from kmb.training.config import masking_rate

# The options the card's hyperparameter table lists, in order.
CARD_OPTIONS = (
    "recipe objective whole_word_masking epochs max_steps batch_size grad_accum lr warmup lr_schedule decay "
    "weight_decay max_length "
    "seed static_masking mlm_probability mlm_probability_start init dropout"
).split()


def write_model_card(
    path: Path,
    *,
    name: str,
    config,
    shard_manifest: dict,
    records: list[dict],
    summary: dict,
    model_config,
    differs_from_paper: dict[str, str],
    architectures: list[str] | None = None,
    decontamination: dict | None = None,
) -> Path:
    """``architectures``: the classes the saved config.json names (default: ``model_config``'s)."""
    base = next((r for r in records if r.get("phase") == "base"), None)
    final = records[-1] if records else None
    nsp = summary["objective"].startswith("mlm+nsp")
    family = model_config.model_type
    tasks = "masked language modelling and next sentence prediction" if nsp else "masked language modelling alone"
    lines = [
        "---",
        "language: ko",
        "library_name: transformers",
        "pipeline_tag: fill-mask",
        f"tags: [{family}, medical, korean, km-bert, kmb]",
        "---",
        "",
        f"# {name}",
        "",
        f"A {family} model continued (or trained from scratch) with {tasks}",
        f"on a Korean medical corpus by `kmb pretrain` (kmb {__version__}), following KM-BERT",
        "(Kim et al., 2022). Loads with plain transformers:",
        "",
        "```python",
        f"from transformers import {'AutoModelForPreTraining, ' if nsp else ''}AutoModelForMaskedLM, AutoTokenizer",
        f'model = AutoModelForMaskedLM.from_pretrained("{name}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{name}")',
        "```",
        "",
        "## Start",
        "",
        f"- start model: {summary['start']}",
        f"- base family: {family} ({', '.join(architectures or model_config.architectures or [])})",
        f"- objective: {summary['objective']}",
        f"- masking: {summary['masking']}",
        f"- vocab growth: {summary['vocab growth']}",
        f"- pretraining heads: {summary['heads']}"
        + (
            "; the start model's MLM/NSP scores below are therefore no baseline"
            if "freshly initialised" in summary["heads"]
            else ""
        ),
        f"- tokenizer: {summary['tokenizer']} ({summary['tokenizer from']}, {shard_manifest['vocab_size']} tokens)",
        f"- architecture: hidden {model_config.hidden_size}, {model_config.num_hidden_layers} layers, "
        f"{model_config.num_attention_heads} heads, vocab {model_config.vocab_size}",
        "",
        *_data_lines(shard_manifest, config, nsp),
        "",
        _decontamination_line(decontamination),
        "",
        "## Hyperparameters",
        "",
        f"Recipe: `{config.recipe}`. Values that differ from the paper's: "
        + ("; ".join(f"{key} {value}" for key, value in differs_from_paper.items()) or "none")
        + ".",
        "",
        "| option | value |",
        "|---|---|",
    ]
    for key in CARD_OPTIONS:
        lines.append(f"| {key} | {getattr(config, key)} |")
    lines += [
        f"| precision | {summary['precision']} |",
        f"| processes | {summary['processes']} |",
        f"| optimizer steps | {summary['steps']} |",
        "",
        *_metric_lines(base, final),
        "",
    ]
    return write_text_atomic(path, "\n".join(lines))


def _metric_lines(base: dict | None, final: dict | None) -> list[str]:
    """The validation metrics section: the start model's and the final values."""
    lines = ["## Validation metrics", ""]
    if final is not None:
        lines += ["| metric | start model | final |", "|---|---:|---:|"]
        for key in [k for k in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss") if k in final]:
            start = f"{base[key]:.4f}" if base else "-"
            lines.append(f"| {key} | {start} | {final[key]:.4f} |")
        lines += ["", "Curves: `curves.png`; every evaluation: `metrics.jsonl`."]
    return lines


def _decontamination_line(decontamination: dict | None) -> str:
    """Which evaluation files the corpus was cleaned against (`kmb corpus build --decontaminate`)."""
    if not decontamination:
        return (
            "Evaluation data: the corpus was not decontaminated against any evaluation file; "
            "`kmb corpus overlap FILE` tells how many of a test set's items it holds."
        )
    files = "; ".join(
        f"`{Path(path).name}` ({info['items']:,} items, {info['sentences removed']:,} sentences removed)"
        for path, info in decontamination["files"].items()
    )
    return f"Evaluation data removed from the corpus (`kmb corpus build --decontaminate`): {files}."


def _data_lines(manifest: dict, config, nsp: bool) -> list[str]:
    """The data section: the pair table and how pairs were made (MLM + NSP), or the segment table."""
    splits = manifest["splits"]
    masking = (
        f"MLM: {masking_rate(config)} of non-special "
        f"{'tokens, whole eojeol at a time' if config.whole_word_masking else 'tokens'}, 80% [MASK] / "
        f"10% random / 10% unchanged, "
        f"{'fixed masks (static)' if config.static_masking else 'drawn afresh every epoch (dynamic)'}."
    )
    if not nsp:
        lines = ["## Data", "", "| split | sentences | segments | tokens |", "|---|---:|---:|---:|"]
        lines += [
            f"| {split} | {info['sentences']:,} | {info['segments']:,} | {info['tokens']:,} |"
            for split, info in splits.items()
        ]
        return lines + [
            "",
            "Segments: consecutive sentences of one document packed up to "
            f"{manifest['max_length']} tokens (RoBERTa's doc-sentences), never across a removed sentence.",
            masking,
        ]
    lines = ["## Data", "", "| split | sentences | pairs | NotNext pairs | tokens |", "|---|---:|---:|---:|---:|"]
    lines += [
        f"| {split} | {info['sentences']:,} | {info['pairs']:,} | {info['not_next']:,} | {info['tokens']:,} |"
        for split, info in splits.items()
    ]
    return lines + [
        "",
        "Pairs: consecutive sentences of a document (IsNext) or, for half of them, a random sentence of",
        f"another document (NotNext); `[CLS] A [SEP] B [SEP]`, truncated to {manifest['max_length']} tokens. {masking}",
    ]
