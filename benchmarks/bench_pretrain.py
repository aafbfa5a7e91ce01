"""Pretraining speed: kmb vs plain BertForPreTraining, side by side in one run.

    .venv/bin/python benchmarks/bench_pretrain.py            # small BERT, 32 x 128, 10 timed steps each
    .venv/bin/python benchmarks/bench_pretrain.py --quick    # fewer steps and pairs (< 60 s)

Two comparisons on the same pairs:

1. Shard build (`kmb.training.shards.build_shards`: DuckDB ordering, pairing, tokenizing, Arrow
   writing) against the bare tokenizer: raw `encode_batch` of the same pairs. Tokens per second.
2. Training steps (forward, backward, AdamW) of the same model config (hidden 256, 4 layers,
   4 heads, global batch 32, max length 128) on the same pairs:
   - plain: `BertForPreTraining`, fp32, vocabulary logits at every position, batches padded to 128,
     random order (what HF's examples do);
   - kmb: `MaskedOnlyBertForPreTraining` (projection only at masked positions), SDPA, bf16 autocast
     where the CPU/GPU supports it, length-grouped batches padded to their longest pair.
   Throughput counts real (non-padding) tokens, so both sides are credited for the same work.

Text: Korean Wikinews from ../shared/data (by path) when present, else our own template sentences.
The tokenizer is a WordPiece trained here on that text (16k pieces, KR-BERT's size class).
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
WIKINEWS = REPO.parent / "shared" / "data" / "wikinews" / "wikinews.csv"


def korean_documents(min_docs: int) -> tuple[list[list[str]], str]:
    """Documents as lists of sentences: real Wikinews text when available."""
    docs = []
    if WIKINEWS.is_file():
        csv.field_size_limit(sys.maxsize)
        with open(WIKINEWS, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", row["내용"]) if len(s.strip()) > 10]
                if len(sentences) >= 2:
                    docs.append(sentences)
        source = f"Korean Wikinews ({WIKINEWS})"
    else:
        source = "template sentences (../shared/data absent)"
    if len(docs) < min_docs:  # top up with our own text so the pair count is reached
        source += f" + {min_docs - len(docs)} documents of our own random medical-word sentences"
        rng = np.random.default_rng(0)
        words = "환자 의사 병원 고혈압 당뇨병 치료 처방 검사 증상 두통 발열 기침 복용 관리 진료 수술 회복 예방 접종 감염".split()
        while len(docs) < min_docs:
            docs.append([" ".join(rng.choice(words, size=rng.integers(6, 25))) + " ." for _ in range(rng.integers(3, 12))])
    return docs, source


def write_corpus(ws, docs) -> None:
    from kmb.corpus.storage import SENTENCES, ParquetSink

    with ParquetSink(ws.corpus / "sentences" / "bench.parquet", SENTENCES) as sink:
        for d, sentences in enumerate(docs):
            split = "valid" if d % 20 == 0 else "train"
            for i, text in enumerate(sentences):
                sink.write_row({"doc_id": f"d{d:05d}", "source": "bench", "sent_idx": i, "text": text,
                                "n_chars": len(text), "n_words": len(text.split()), "split": split})


def train_tokenizer(docs, folder: Path, vocab_size: int = 16_000) -> Path:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    wp = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    wp.train_from_iterator((s for d in docs for s in d), vocab_size=vocab_size, special_tokens=special, min_frequency=1)
    folder.mkdir(parents=True, exist_ok=True)
    tok = BertTokenizerFast(vocab=wp.get_vocab(), do_lower_case=False, strip_accents=False)
    tok.save_pretrained(str(folder))
    return folder


def bench_shards(ws, tok_dir):
    from tokenizers import Tokenizer

    from kmb.training.sentence_pairs import OrderedSentences, iter_pair_chunks, write_ordered_sentences
    from kmb.training.shards import build_shards
    from kmb.vocab.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tok_dir)
    files = sorted((ws.corpus / "sentences").glob("*.parquet"))
    start = time.perf_counter()
    shard_set = build_shards(ws.pretrain("bench") / "shards", files, tokenizer, tok_dir, seed=1)
    shard_seconds = time.perf_counter() - start
    tokens = sum(shard_set.manifest["splits"][s]["tokens"] for s in ("train", "valid"))

    # The same pairs, texts in memory, through the bare Rust tokenizer: the floor of any builder.
    pairs = []
    for split in ("train", "valid"):
        path = ws.root / f"{split}-ordered.arrow"
        write_ordered_sentences(files, split, path)
        sentences = OrderedSentences(path)
        for chunk in iter_pair_chunks(sentences, seed=1 + (split == "valid")):
            pairs.extend(zip(chunk.texts_a, chunk.texts_b))
        sentences.close()
    raw = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    raw.enable_truncation(128)
    start = time.perf_counter()
    raw_tokens = 0
    for i in range(0, len(pairs), 8192):
        raw_tokens += sum(len(e.ids) for e in raw.encode_batch(pairs[i:i + 8192]))
    raw_seconds = time.perf_counter() - start
    assert raw_tokens == tokens, (raw_tokens, tokens)
    return shard_set, tokens / shard_seconds, raw_tokens / raw_seconds, len(pairs)


def make_model(cls, vocab_size, attn):
    from transformers import BertConfig

    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=1024, max_position_embeddings=512)
    return cls._from_config(config, attn_implementation=attn)


def time_steps(model, batches, autocast_dtype=None) -> tuple[float, int]:
    """Seconds and real tokens of the timed steps (the first batch is a warm-up, not timed)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    seconds, tokens = 0.0, 0
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i > 0:
            seconds += time.perf_counter() - start
            tokens += int(batch["attention_mask"].sum())
    return seconds, tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s)")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps per side (default 10, quick 2)")
    parser.add_argument("--docs", type=int, default=None, help="minimum documents in the corpus (default 2000, quick 800)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    steps = args.steps or (2 if args.quick else 10)
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import BertForPreTraining

    from kmb.corpus.workspace import Workspace
    from kmb.training.model import MaskedOnlyBertForPreTraining
    from kmb.training.pretrain import LengthGroupedSampler, choose_precision
    from kmb.training.shards import PairCollator, PairShardDataset
    from kmb.vocab.tokenizers import load_tokenizer

    tmp = Path(tempfile.mkdtemp(prefix="kmb-bench-pretrain-"))
    try:
        docs, source = korean_documents(args.docs or (800 if args.quick else 2000))
        ws = Workspace.open(tmp / "ws")
        write_corpus(ws, docs)
        tok_dir = train_tokenizer(docs, tmp / "tok")
        tokenizer = load_tokenizer(tok_dir)
        print(f"text: {source}; {sum(map(len, docs)):,} sentences; vocab {len(tokenizer):,}")

        shard_set, shard_tps, raw_tps, n_pairs = bench_shards(ws, tok_dir)
        print(f"shards: {n_pairs:,} pairs; build {shard_tps:,.0f} tokens/s, raw encode_batch {raw_tps:,.0f} tokens/s")
        print(f"RESULT pretrain_shard_build: {shard_tps:,.0f} tokens/s (raw tokenizers encode_batch {raw_tps:,.0f} "
              f"tokens/s) ratio={shard_tps / raw_tps:.2f}x")

        batch_size = 32
        n = batch_size * (steps + 1)
        dataset = PairShardDataset(shard_set.files("train"), seed=0, mask_token_id=tokenizer.mask_token_id,
                                   vocab_size=len(tokenizer), special_ids=[tokenizer.cls_token_id,
                                   tokenizer.sep_token_id, tokenizer.pad_token_id], limit=None)
        # Both sides train on the same pairs: the first n of kmb's length-grouped order. The plain
        # side shuffles them and pads each batch to 128.
        order = [i for _, i in LengthGroupedSampler(dataset.lengths, batch_size, seed=0)][:n]
        features = [dataset[(0, i)] for i in order]
        grouped = [PairCollator(tokenizer.pad_token_id)(features[i:i + batch_size]) for i in range(0, n, batch_size)]
        shuffled = [features[i] for i in np.random.default_rng(0).permutation(n)]
        padded = [PairCollator(tokenizer.pad_token_id, pad_to=128)(shuffled[i:i + batch_size]) for i in range(0, n, batch_size)]
        mean_len = float(np.mean([len(f["input_ids"]) for f in features]))
        print(f"training: {steps} timed steps of {batch_size} pairs each side, mean pair length {mean_len:.1f}, "
              f"torch threads {torch.get_num_threads()}")

        precision = choose_precision("auto")
        autocast = torch.bfloat16 if precision == "bf16" else None
        plain_s, plain_tok = time_steps(make_model(BertForPreTraining, len(tokenizer), "eager"), padded)
        kmb_s, kmb_tok = time_steps(make_model(MaskedOnlyBertForPreTraining, len(tokenizer), "sdpa"), grouped, autocast)
        plain_tps, kmb_tps = plain_tok / plain_s, kmb_tok / kmb_s
        print(f"plain BertForPreTraining fp32, full logits, padded to 128: {plain_tps:,.0f} tokens/s ({plain_s:.1f} s)")
        print(f"kmb masked-only head, sdpa, {precision}, length-grouped: {kmb_tps:,.0f} tokens/s ({kmb_s:.1f} s)")
        print(f"RESULT pretrain_train_tokens_per_s: {kmb_tps:,.0f} tokens/s (plain BertForPreTraining fp32 full "
              f"logits padded to 128: {plain_tps:,.0f} tokens/s) ratio={kmb_tps / plain_tps:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
