"""Fixtures for the pretraining tests: a small Korean corpus we write ourselves, a hand-made
KR-BERT-format vocab, and a tiny saved BERT to continue from.

The sentences come from templates (our own text): a topic (a disease) runs through each document,
so MLM has something to learn in a few steps. Some documents have a removed sentence (a gap in
sent_idx), as the corpus build leaves them.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from transformers import TrainerCallback

TOPICS = [
    ("고혈압", "두통", "혈압약", "심장내과"),
    ("당뇨병", "갈증", "인슐린", "내분비내과"),
    ("천식", "기침", "흡입기", "호흡기내과"),
    ("위염", "복통", "제산제", "소화기내과"),
    ("관절염", "관절통", "소염제", "정형외과"),
    ("폐렴", "발열", "항생제", "감염내과"),
]
TEMPLATES = [
    "환자는 {s} 증상으로 병원에 왔다 .",
    "의사는 {d} 진단을 내렸다 .",
    "{d} 환자에게 {m} 처방이 필요하다 .",
    "{c} 에서 {d} 검사를 받았다 .",
    "{s} 이 심하면 {c} 진료를 권한다 .",
    "{m} 은 {d} 치료에 쓰인다 .",
    "{d} 은 꾸준한 관리가 중요하다 .",
    "환자는 {m} 을 매일 복용했다 .",
]


def make_sentence_rows(n_docs: int, seed: int = 0, gap_every: int = 4, split_valid_every: int = 5) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for doc in range(n_docs):
        d, s, m, c = TOPICS[doc % len(TOPICS)]
        split = "valid" if doc % split_valid_every == 0 else "train"
        n = rng.randint(3, 8)
        for i in range(n):
            if gap_every and doc % gap_every == 1 and i == 2:
                continue  # the corpus build removed this sentence: sent_idx has a gap here
            text = rng.choice(TEMPLATES).format(d=d, s=s, m=m, c=c)
            rows.append(
                {
                    "doc_id": f"doc{doc:04d}",
                    "source": "test",
                    "sent_idx": i,
                    "text": text,
                    "n_chars": len(text),
                    "n_words": len(text.split()),
                    "split": split,
                }
            )
    return rows


def write_sentences(workspace, rows: list[dict], name: str = "part-0.parquet") -> Path:
    from kmb.storage import SENTENCES, ParquetSink

    path = workspace.corpus / "sentences" / name
    with ParquetSink(path, SENTENCES) as sink:
        sink.write_rows(rows)
    return path


def vocab_tokens() -> list[str]:
    words = set()
    syllables = set()
    for topic in TOPICS:
        words.update(topic)
    for template in TEMPLATES:
        words.update(w for w in template.split() if not w.startswith("{"))
    for w in list(words):
        syllables.update(w)
    pieces = sorted(words) + sorted(syllables) + [f"##{ch}" for ch in sorted(syllables)]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + [
        p for p in dict.fromkeys(pieces) if p not in (".", ",")
    ]


def save_tokenizer(folder: Path, tokens: list[str]) -> Path:
    from transformers import BertTokenizerFast

    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = BertTokenizerFast(vocab=vocab, do_lower_case=False, strip_accents=False, tokenize_chinese_chars=True)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(folder))
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return folder


TINY = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128
)


def save_tiny_bert(folder: Path, vocab_size: int, seed: int = 0, dropout: float = 0.0) -> Path:
    import torch
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, **TINY
    )
    BertForPreTraining(config).save_pretrained(str(folder))
    return folder


BPE_TOKENIZER = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers" / "bpe"  # RoBERTa-style, 400 tokens


def save_tiny_encoder(
    folder: Path, family: str, tokenizer_dir: Path = BPE_TOKENIZER, vocab_size: int | None = None, dropout: float = 0.0
) -> Path:
    """A tiny RoBERTa, XLM-R or ModernBERT masked LM (hidden 32, 2 layers) with the tokenizer of
    ``tokenizer_dir`` copied in, like a hub model directory."""
    import shutil

    import torch
    from transformers import (
        AlbertConfig,
        AutoModelForMaskedLM,
        DebertaV2Config,
        DistilBertConfig,
        ElectraConfig,
        ModernBertConfig,
        RobertaConfig,
        XLMRobertaConfig,
    )

    from kmb.vocab.tokenizers import load_tokenizer

    tok = load_tokenizer(tokenizer_dir)
    ids = dict(pad_token_id=tok.pad_token_id, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    size = dict(
        vocab_size=vocab_size or len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    plain = dict(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, max_position_embeddings=128)
    if family == "distilbert":
        config = DistilBertConfig(vocab_size=size["vocab_size"], dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                  dropout=dropout, attention_dropout=dropout, max_position_embeddings=128,
                                  pad_token_id=tok.pad_token_id)  # fmt: skip
    elif family in ("albert", "electra"):
        config_class = AlbertConfig if family == "albert" else ElectraConfig
        config = config_class(embedding_size=16, **plain, **ids, **size)
    elif family == "deberta-v2":
        config = DebertaV2Config(**plain, **ids, **size)
    elif family == "modernbert":
        config = ModernBertConfig(
            max_position_embeddings=128,
            cls_token_id=tok.cls_token_id,
            sep_token_id=tok.sep_token_id,
            global_attn_every_n_layers=2,
            local_attention=16,
            embedding_dropout=dropout,
            attention_dropout=dropout,
            mlp_dropout=dropout,
            **ids,
            **size,
        )
    else:  # RoBERTa's positions start after the padding id
        config = (XLMRobertaConfig if family == "xlm-roberta" else RobertaConfig)(
            max_position_embeddings=128 + tok.pad_token_id + 1,
            type_vocab_size=1,
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            **ids,
            **size,
        )
    torch.manual_seed(0)
    AutoModelForMaskedLM.from_config(config).save_pretrained(str(folder))
    for path in Path(tokenizer_dir).iterdir():
        shutil.copy2(path, folder / path.name)
    return folder


@pytest.fixture
def corpus_workspace(workspace):
    write_sentences(workspace, make_sentence_rows(60))
    return workspace


@pytest.fixture
def tiny_tokenizer_dir(tmp_path) -> Path:
    return save_tokenizer(tmp_path / "tok", vocab_tokens())


@pytest.fixture
def tiny_base_dir(tmp_path, tiny_tokenizer_dir) -> Path:
    """A tiny saved BERT with its tokenizer, like a hub model directory (no dropout: exact comparisons)."""
    folder = tmp_path / "base"
    save_tiny_bert(folder, len(vocab_tokens()))
    save_tokenizer(folder, vocab_tokens())
    return folder


class LogCapture(TrainerCallback):
    """Records the logged training loss per step; ``stop_at`` stops the run right after that step
    (an interruption after a checkpoint)."""

    def __init__(self, stop_at: int | None = None):
        self.losses: dict[int, float] = {}
        self.stop_at = stop_at

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses[state.global_step] = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_at is not None and state.global_step >= self.stop_at:
            control.should_training_stop = True
        return control


def pretrain_config(ws, base, output, **kw):
    """A short, exact run: fp32, no progress bar, a loss logged every step, dynamic masking."""
    from kmb.training.config import PretrainConfig

    values = dict(
        workspace=ws.root,
        base_model=str(base),
        output=output,
        batch_size=8,
        lr=5e-3,
        precision="fp32",
        logging_steps=1,
        save_steps=1000,
        progress=False,
        seed=7,
        static_masking=False,
    )
    values.update(kw)
    return PretrainConfig(**values)


def short_config(ws, base, **kw):
    """Two steps into models/bad/ unless told otherwise: for the runs that should be refused."""
    from kmb.training.config import PretrainConfig

    values = dict(
        workspace=ws.root,
        base_model=str(base),
        output="bad",
        batch_size=8,
        lr=5e-3,
        precision="fp32",
        max_steps=2,
        logging_steps=1,
        progress=False,
    )
    values.update(kw)
    return PretrainConfig(**values)


def nothing_written(ws, name: str = "bad") -> None:
    """No model, and no shards, segments or checkpoints of run ``name``."""
    assert not ws.model(name).exists()
    assert not list((ws.root / "models").iterdir())
    for folder in ("shards", "segments", "checkpoints"):
        assert not (ws.pretrain(name) / folder).exists(), folder


def family_base(family: str, folder: Path, dropout: float = 0.0) -> Path:
    """A tiny saved base model of ``family`` (bert, roberta, xlm-roberta, modernbert) with its tokenizer."""
    if family == "bert":
        save_tiny_bert(folder, len(vocab_tokens()), dropout=dropout)
        return save_tokenizer(folder, vocab_tokens())
    return save_tiny_encoder(folder, family, dropout=dropout)


@pytest.fixture(scope="session")
def helpers():
    """The helper functions above, for tests (pytest's importlib mode cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        make_sentence_rows=make_sentence_rows,
        write_sentences=write_sentences,
        vocab_tokens=vocab_tokens,
        save_tokenizer=save_tokenizer,
        save_tiny_bert=save_tiny_bert,
        save_tiny_encoder=save_tiny_encoder,
        bpe_tokenizer=BPE_TOKENIZER,
        LogCapture=LogCapture,
        config=pretrain_config,
        short_config=short_config,
        nothing_written=nothing_written,
        family_base=family_base,
    )


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from a second thread, and on a busy shared machine OpenMP threads
    that spin-wait for each other make each step many times slower. Restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
