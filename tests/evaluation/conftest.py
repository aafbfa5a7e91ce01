"""Tiny BERT, RoBERTa and ModernBERT models for the evaluation tests, built from a config (never the hub).

The vocab is every character of the texts the tests use, alone and as a ``##`` continuation, so
WordPiece splits Korean words into syllables: small, but a real tokenizer and a real model saved in
the standard Hugging Face format (config, safetensors, tokenizer files).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SHARED = REPO.parent / "shared" / "data"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _texts() -> str:
    parts = [
        p.read_text(encoding="utf-8")
        for sub in ("ner", "sts", "pairs")
        for p in (SAMPLES / sub).rglob("*")
        if p.is_file()
    ]
    for path, n_lines in (
        (SHARED / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv", 6000),
        (SHARED / "korsts" / "sts-train.tsv", 400),
        (SHARED / "korsts" / "sts-dev.tsv", 200),
    ):
        if path.is_file():
            with open(path, encoding="utf-8") as handle:
                parts.append("".join(itertools.islice(handle, n_lines)))
    return "".join(parts)


TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def _write_vocab(directory: Path) -> Path:
    chars = sorted({c for c in _texts() if not c.isspace()})
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(SPECIALS + chars + ["##" + c for c in chars]) + "\n", encoding="utf-8")
    return vocab_file


def _save_tokenizer(vocab_file: Path, directory: Path) -> None:
    from transformers import BertTokenizerFast

    BertTokenizerFast(
        vocab=str(vocab_file), do_lower_case=False, strip_accents=False, tokenize_chinese_chars=True
    ).save_pretrained(directory)


def build_tiny_model(directory: Path, seed: int, with_tokenizer: bool = True) -> Path:
    import torch
    from transformers import BertConfig, BertForPreTraining

    vocab_file = _write_vocab(directory)
    vocab_size = len(vocab_file.read_text(encoding="utf-8").splitlines())
    torch.manual_seed(seed)
    BertForPreTraining(BertConfig(vocab_size=vocab_size, max_position_embeddings=128, **TINY)).save_pretrained(
        directory
    )
    if with_tokenizer:
        _save_tokenizer(vocab_file, directory)
    else:
        vocab_file.unlink()
    return directory


def build_tiny_family(directory: Path, family: str, seed: int) -> Path:
    """A tiny RoBERTa or ModernBERT masked LM built from a config, with kmb's WordPiece tokenizer beside it."""
    import torch
    from transformers import ModernBertConfig, ModernBertForMaskedLM, RobertaConfig, RobertaForMaskedLM

    vocab_file = _write_vocab(directory)
    vocab_size = len(vocab_file.read_text(encoding="utf-8").splitlines())
    ids = dict(pad_token_id=0, cls_token_id=2, sep_token_id=3, bos_token_id=2, eos_token_id=3)
    torch.manual_seed(seed)
    if family == "roberta":
        # RoBERTa counts positions from pad_token_id + 1: two more than the longest input.
        model = RobertaForMaskedLM(
            RobertaConfig(vocab_size=vocab_size, max_position_embeddings=130, type_vocab_size=1, **ids, **TINY)
        )
    else:
        model = ModernBertForMaskedLM(
            ModernBertConfig(
                vocab_size=vocab_size,
                max_position_embeddings=128,
                global_attn_every_n_layers=2,
                local_attention=16,
                **ids,
                **TINY,
            )
        )
    model.save_pretrained(directory)
    _save_tokenizer(vocab_file, directory)
    return directory


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory) -> Path:
    return build_tiny_family(tmp_path_factory.mktemp("roberta") / "tiny-roberta", "roberta", 4)


@pytest.fixture(scope="session")
def tiny_modernbert(tmp_path_factory) -> Path:
    return build_tiny_family(tmp_path_factory.mktemp("modernbert") / "tiny-modernbert", "modernbert", 5)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("tiny_models")
    return [build_tiny_model(root / "tiny-a", 1), build_tiny_model(root / "tiny-b", 2)]


@pytest.fixture(scope="session")
def model_without_tokenizer(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("no_tok") / "bare", 3, with_tokenizer=False)
