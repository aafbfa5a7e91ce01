"""Pretraining speed: kmb vs plain BertForPreTraining, side by side in one run.

    .venv/bin/python benchmarks/bench_pretrain.py            # small BERT, 32 x 128, 10 timed steps each
    .venv/bin/python benchmarks/bench_pretrain.py --quick    # fewer steps and pairs (< 60 s)
    python benchmarks/bench_pretrain.py --device cuda --model base --batch-size 256 --fixed-length
                                                             # BERT-base MFU at length 128 on a GPU

Three comparisons on the same pairs:

1. Shard build (`kmb.training.shards.build_shards`: DuckDB ordering, pairing, tokenizing, Arrow
   writing) against the bare tokenizer: raw `encode_batch` of the same pairs. Tokens per second.
2. Training steps (forward, backward, AdamW) of the same model config (hidden 256, 4 layers,
   4 heads, global batch 32, max length 128) on the same pairs:
   - plain: `BertForPreTraining`, fp32, vocabulary logits at every position, batches padded to 128,
     random order (what HF's examples do);
   - kmb: `MaskedOnlyBertForPreTraining` (projection only at masked positions), SDPA, bf16 autocast
     where the CPU/GPU supports it, length-grouped batches padded to their longest pair.
   Throughput counts real (non-padding) tokens, so both sides are credited for the same work.

3. Masking and padding (the data loader's work per batch): kmb's collator, which masks a whole
   batch in numpy from counter-based draws, against per-pair torch masking with a per-pair
   generator (what kmb did before). Pairs per second, one core.
4. MLM only (`--mlm-families`, default roberta): kmb's whole MLM-only step (segments of
   `kmb.training.segment_shards` up to 128 tokens, whole-word masks, its collator, the masked-only
   head `kmb.training.model.masked_only_mlm`, kmb's precision) against what a user would do instead,
   Hugging Face's `run_mlm.py` way (texts concatenated and cut into 128-token blocks,
   `DataCollatorForLanguageModeling`, the full head, fp32): `pretrain_mlm_only_<family>_tokens_per_s`.
   Beside it, `..._head_tokens_per_s`: the masked-only head against the full head on the very same
   batches and precision (the difference is the head alone).

On a GPU, add `--model base --batch-size 256 --fixed-length` for BERT-base model FLOPs utilisation
at length 128 (`benchmarks/gpu_check.sh` runs the whole set of GPU checks).

Text: Korean Wikinews from ../shared/data (by path) when present, else our own template sentences.
The tokenizer is a WordPiece trained here on that text (16k pieces, KR-BERT's size class).
"""

from __future__ import annotations

import argparse
import csv
import itertools
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
            docs.append(
                [" ".join(rng.choice(words, size=rng.integers(6, 25))) + " ." for _ in range(rng.integers(3, 12))]
            )
    return docs, source


def write_corpus(ws, docs) -> None:
    from kmb.storage import SENTENCES, ParquetSink

    with ParquetSink(ws.corpus / "sentences" / "bench.parquet", SENTENCES) as sink:
        for d, sentences in enumerate(docs):
            split = "valid" if d % 20 == 0 else "train"
            for i, text in enumerate(sentences):
                sink.write_row(
                    {
                        "doc_id": f"d{d:05d}",
                        "source": "bench",
                        "sent_idx": i,
                        "text": text,
                        "n_chars": len(text),
                        "n_words": len(text.split()),
                        "split": split,
                    }
                )


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
        raw_tokens += sum(len(e.ids) for e in raw.encode_batch(pairs[i : i + 8192]))
    raw_seconds = time.perf_counter() - start
    assert raw_tokens == tokens, (raw_tokens, tokens)
    return shard_set, tokens / shard_seconds, raw_tokens / raw_seconds, len(pairs)


def make_model(cls, vocab_size, attn, size="small", device="cpu"):
    from transformers import BertConfig

    from kmb.training.model import MODEL_CONFIGS

    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, max_position_embeddings=512, **MODEL_CONFIGS[size])
    return cls._from_config(config, attn_implementation=attn).to(device)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(model, batches, autocast_dtype=None, device="cpu", warmup=1, compile_model=False):
    """Seconds, real tokens and model FLOPs (kmb.training.throughput) of the timed steps; the first
    ``warmup`` batches are not timed (allocator, kernels, compilation)."""
    from kmb.training.throughput import pretraining_flops

    on_cuda = device.startswith("cuda")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True if on_cuda else None)
    step_model = torch.compile(model) if compile_model else model
    model.train()
    seconds, tokens, flops = 0.0, 0, 0.0
    for i, batch in enumerate(batches):
        synchronize(device)
        start = time.perf_counter()
        with torch.autocast(
            device.split(":")[0], dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
        ):
            loss = step_model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        if i >= warmup:
            seconds += time.perf_counter() - start
            tokens += int(batch["attention_mask"].sum())
            flops += float(pretraining_flops(model.config, batch["attention_mask"], batch["labels"]))
    return seconds, tokens, flops


def fixed_length_features(n: int, tokenizer, length: int = 128, seed: int = 0) -> list[dict]:
    """Unmasked pairs of exactly ``length`` tokens, [CLS] A [SEP] B [SEP] with random ids (the
    collator masks them): the standard shape for reporting BERT MFU at a sequence length."""
    rng = np.random.default_rng(seed)
    n_first = (length - 3) // 2 + 2  # [CLS] A [SEP]
    specials = [
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.pad_token_id,
        tokenizer.mask_token_id,
        tokenizer.unk_token_id,
    ]
    features = []
    for i in range(n):
        ids = rng.integers(len(tokenizer), size=length)
        ids[np.isin(ids, specials)] = tokenizer.unk_token_id + 100
        ids[0], ids[n_first - 1], ids[-1] = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.sep_token_id
        features.append(
            {
                "input_ids": ids,
                "n_first": n_first,
                "next_sentence_label": int(rng.integers(2)),
                "mask_epoch": 0,
                "mask_index": i,
            }
        )
    return features


def bench_collate(dataset, pad_token_id: int, n: int, batch_size: int) -> tuple[float, float]:
    """Pairs per second (one core) from dataset items to masked, padded batches: kmb's collator
    (numpy, whole batch) against per-pair torch masking with a per-pair generator (what the
    collator replaced, and HF's DataCollatorForLanguageModeling's granularity of work)."""
    from kmb.training.masking import mask_tokens, pair_generator

    collate = dataset.collator(pad_token_id, pad_to_multiple_of=8)
    m = dataset.masking
    special_ids = torch.tensor(m.special_ids)
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        collate([dataset[(0, j)] for j in range(i, min(n, i + batch_size))])
    batched = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for j in range(n):
        f = dataset[(0, j)]
        ids = torch.from_numpy(f["input_ids"].astype(np.int64))
        mask_tokens(
            ids,
            torch.isin(ids, special_ids),
            mask_token_id=m.mask_token_id,
            vocab_size=m.vocab_size,
            generator=pair_generator(m.seed, 0, j),
        )
    per_pair = n / (time.perf_counter() - start)
    return batched, per_pair


def mlm_config(family: str, tokenizer, size: str):
    """A config of ``family`` (bert, roberta, modernbert) with the sizes of MODEL_CONFIGS[size] and
    the tokenizer's vocab and special ids."""
    from transformers import BertConfig, ModernBertConfig, RobertaConfig

    from kmb.training.config import MODEL_CONFIGS

    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    dims = dict(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=cls,
        eos_token_id=sep,
        **MODEL_CONFIGS[size],
    )
    if family == "bert":
        return BertConfig(max_position_embeddings=512, **dims)
    if family == "roberta":  # positions start after the padding id
        return RobertaConfig(max_position_embeddings=514, type_vocab_size=1, **dims)
    return ModernBertConfig(max_position_embeddings=512, cls_token_id=cls, sep_token_id=sep, **dims)


def bench_mlm_only(ws, tok_dir, tokenizer, family: str, args, steps: int, warmup: int, autocast) -> None:
    """Masked-only head against plain AutoModelForMaskedLM of one family, the same segment batches."""
    from transformers import AutoModelForMaskedLM

    from kmb.training.model import masked_only_mlm
    from kmb.training.segment_shards import SegmentShardDataset, build_segment_shards

    files = sorted((ws.corpus / "sentences").glob("*.parquet"))
    segments = build_segment_shards(ws.pretrain("bench") / "segments", files, tokenizer, tok_dir, max_length=128)
    dataset = SegmentShardDataset.for_tokenizer(segments.files("train"), tokenizer, seed=0, whole_word_masking=True)
    n = args.batch_size * (steps + warmup)
    collate = dataset.collator(tokenizer.pad_token_id, pad_to_multiple_of=8)
    # In the order kmb pretrain draws them: the length-grouped sampler, so a batch pads little.
    from kmb.training.trainer import LengthGroupedSampler

    order = list(itertools.islice(LengthGroupedSampler(dataset.lengths, args.batch_size, seed=0), n))
    ours = [
        {k: v.to(args.device) for k, v in collate([dataset[key] for key in order[j : j + args.batch_size]]).items()}
        for j in range(0, n, args.batch_size)
    ]
    plain = [{k: v for k, v in b.items() if k != "masked_positions"} for b in ours]
    config = mlm_config(family, tokenizer, args.model)
    torch.manual_seed(0)
    plain_model = AutoModelForMaskedLM.from_config(config, attn_implementation="sdpa").to(args.device)
    torch.manual_seed(0)
    ours_model = masked_only_mlm(config, attn_implementation="sdpa").to(args.device)
    plain_s, plain_tok, _ = time_steps(plain_model, plain, autocast, device=args.device, warmup=warmup)
    ours_s, ours_tok, _ = time_steps(ours_model, ours, autocast, device=args.device, warmup=warmup)
    plain_tps, ours_tps = plain_tok / plain_s, ours_tok / ours_s
    mean_len = float(np.mean([int(b["attention_mask"].sum()) / len(b["attention_mask"]) for b in ours]))
    print(
        f"MLM only, {family} {args.model}: {segments.n_segments('train'):,} segments (mean {mean_len:.1f} tokens), "
        f"{steps} timed steps of {args.batch_size}; plain {type(plain_model).__name__} {plain_tps:,.0f} tokens/s, "
        f"kmb {type(ours_model).__name__} {ours_tps:,.0f} tokens/s"
    )
    print(
        f"RESULT pretrain_mlm_only_{family}_head_tokens_per_s: {ours_tps:,.0f} tokens/s (plain "
        f"{type(plain_model).__name__}, full head, the same batches and precision: {plain_tps:,.0f} tokens/s) "
        f"ratio={ours_tps / plain_tps:.2f}x"
    )
    # What a user would do instead: Hugging Face's run_mlm.py way on the same sentences (texts
    # tokenized, concatenated and cut into 128-token blocks, DataCollatorForLanguageModeling, the
    # full head, fp32), against kmb's whole MLM-only step (segments, collator, masked-only head,
    # kmb's precision). Real tokens per second on both sides.
    hf_batches = run_mlm_batches(files, tokenizer, args.batch_size, n, args.device)
    torch.manual_seed(0)
    hf_model = AutoModelForMaskedLM.from_config(config, attn_implementation="sdpa").to(args.device)
    hf_s, hf_tok, _ = time_steps(hf_model, hf_batches, None, device=args.device, warmup=warmup)
    hf_tps = hf_tok / hf_s
    print(
        f"RESULT pretrain_mlm_only_{family}_tokens_per_s: {ours_tps:,.0f} tokens/s (run_mlm.py's way: 128-token "
        f"blocks, DataCollatorForLanguageModeling, full head, fp32: {hf_tps:,.0f} tokens/s; {steps} timed steps "
        f"of {args.batch_size}) ratio={ours_tps / hf_tps:.2f}x"
    )


def run_mlm_batches(files, tokenizer, batch_size: int, n: int, device: str) -> list[dict]:
    """run_mlm.py's data: every sentence tokenized (with its special tokens), all concatenated and
    cut into blocks of 128, masked by DataCollatorForLanguageModeling (15%)."""
    import pyarrow.parquet as pq
    from transformers import DataCollatorForLanguageModeling

    ids: list[int] = []
    for part in files:
        table = pq.read_table(part, columns=["text", "split"])
        texts = [t for t, split in zip(table.column(0).to_pylist(), table.column(1).to_pylist()) if split == "train"]
        for row in tokenizer(texts)["input_ids"]:
            ids.extend(row)
        if len(ids) >= n * 128:
            break
    blocks = [ids[i : i + 128] for i in range(0, len(ids) - 127, 128)]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    torch.manual_seed(0)
    batches = []
    for j in range(0, n, batch_size):
        rows = [{"input_ids": blocks[i % len(blocks)]} for i in range(j, j + batch_size)]
        batch = collator(rows)
        batch["attention_mask"] = torch.ones_like(batch["input_ids"])
        batches.append({k: v.to(device) for k, v in batch.items()})
    return batches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s)")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps per side (default 10, quick 2)")
    parser.add_argument(
        "--docs", type=int, default=None, help="minimum documents in the corpus (default 2000, quick 800)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda")
    parser.add_argument(
        "--model",
        choices=["tiny", "small", "base"],
        default="small",
        help="model size (kmb.training.model.MODEL_CONFIGS); base = BERT-base",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="pairs per step, both sides (the paper: 32)")
    parser.add_argument(
        "--fixed-length",
        action="store_true",
        help="time the kmb side on pairs of exactly 128 tokens (random ids): MFU at length 128",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the kmb model (GPU)")
    parser.add_argument(
        "--tokenizer",
        type=Path,
        default=None,
        help="tokenizer directory to use (default: a 16k WordPiece trained on the text)",
    )
    parser.add_argument("--no-shards", action="store_true", help="skip the shard-build comparison")
    parser.add_argument(
        "--mlm-families",
        default="roberta",
        help="comma-separated families for the MLM-only row: bert, roberta, modernbert ('' skips it)",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="the device's dense bf16 peak for MFU (default: known GPUs by name)",
    )
    args = parser.parse_args()
    steps = args.steps or (2 if args.quick else 10)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device

    from transformers import BertForPreTraining

    from kmb.training.inputs import choose_precision
    from kmb.training.model import MaskedOnlyBertForPreTraining
    from kmb.training.shards import PairShardDataset, build_shards
    from kmb.training.throughput import peak_bf16_tflops
    from kmb.training.trainer import LengthGroupedSampler
    from kmb.vocab.tokenizers import load_tokenizer
    from kmb.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="kmb-bench-pretrain-"))
    try:
        docs, source = korean_documents(args.docs or (800 if args.quick else 2000))
        ws = Workspace.open(tmp / "ws")
        write_corpus(ws, docs)
        tok_dir = args.tokenizer or train_tokenizer(docs, tmp / "tok")
        tokenizer = load_tokenizer(tok_dir)
        print(f"text: {source}; {sum(map(len, docs)):,} sentences; vocab {len(tokenizer):,}")

        if args.no_shards:
            files = sorted((ws.corpus / "sentences").glob("*.parquet"))
            shard_set = build_shards(ws.pretrain("bench") / "shards", files, tokenizer, tok_dir, seed=1)
        else:
            shard_set, shard_tps, raw_tps, n_pairs = bench_shards(ws, tok_dir)
            print(
                f"shards: {n_pairs:,} pairs; build {shard_tps:,.0f} tokens/s, raw encode_batch {raw_tps:,.0f} tokens/s"
            )
            print(
                f"RESULT pretrain_shard_build: {shard_tps:,.0f} tokens/s (raw tokenizers encode_batch {raw_tps:,.0f} "
                f"tokens/s) ratio={shard_tps / raw_tps:.2f}x"
            )

        batch_size = args.batch_size
        warmup = 3 if device.startswith("cuda") else 1
        n = batch_size * (steps + warmup)
        dataset = PairShardDataset(
            shard_set.files("train"),
            seed=0,
            mask_token_id=tokenizer.mask_token_id,
            vocab_size=len(tokenizer),
            special_ids=[tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id],
            limit=None,
        )
        # Both sides train on the same pairs: the first n of kmb's length-grouped order. The plain
        # side shuffles them and pads each batch to 128.
        n_collate = min(len(dataset), 8192)
        batched_pps, per_pair_pps = bench_collate(dataset, tokenizer.pad_token_id, n_collate, batch_size)
        print(
            f"masking + padding, one core: collator {batched_pps:,.0f} pairs/s, per-pair torch masking "
            f"{per_pair_pps:,.0f} pairs/s"
        )
        print(
            f"RESULT pretrain_collate_pairs_per_s: {batched_pps:,.0f} pairs/s (per-pair torch masking "
            f"{per_pair_pps:,.0f} pairs/s) ratio={batched_pps / per_pair_pps:.2f}x"
        )

        order = [i for _, i in LengthGroupedSampler(dataset.lengths, batch_size, seed=0)][:n]
        if len(order) < n:
            order = (order * (n // max(1, len(order)) + 1))[:n]
        features = [dataset[(0, i)] for i in order]
        shuffled = [features[i] for i in np.random.default_rng(0).permutation(n)]
        if args.fixed_length:  # every pair exactly 128 tokens: both sides do the same work
            features = shuffled = fixed_length_features(n, tokenizer)
        to_device = lambda b: {k: v.to(device) for k, v in b.items()}  # noqa: E731
        grouped = [
            to_device(dataset.collator(tokenizer.pad_token_id, pad_to_multiple_of=8)(features[i : i + batch_size]))
            for i in range(0, n, batch_size)
        ]
        # (plain BertForPreTraining takes full labels; the index list for the masked-only head is dropped)
        padded = [
            to_device(
                {
                    k: v
                    for k, v in dataset.collator(tokenizer.pad_token_id, pad_to=128)(
                        shuffled[i : i + batch_size]
                    ).items()
                    if k != "masked_positions"
                }
            )
            for i in range(0, n, batch_size)
        ]
        mean_len = float(np.mean([len(f["input_ids"]) for f in features]))
        print(
            f"training: {args.model} model on {device}, {steps} timed steps of {batch_size} pairs each side "
            f"({warmup} warm-up), mean pair length {mean_len:.1f}, torch threads {torch.get_num_threads()}"
        )

        precision = choose_precision("auto") if device.startswith("cuda") == torch.cuda.is_available() else "fp32"
        autocast = torch.bfloat16 if precision == "bf16" else torch.float16 if precision == "fp16" else None
        plain_s, plain_tok, plain_flops = time_steps(
            make_model(BertForPreTraining, len(tokenizer), "eager", args.model, device),
            padded,
            device=device,
            warmup=warmup,
        )
        kmb_s, kmb_tok, kmb_flops = time_steps(
            make_model(MaskedOnlyBertForPreTraining, len(tokenizer), "sdpa", args.model, device),
            grouped,
            autocast,
            device=device,
            warmup=warmup,
            compile_model=args.compile,
        )
        plain_tps, kmb_tps = plain_tok / plain_s, kmb_tok / kmb_s
        peak = args.peak_tflops or (
            peak_bf16_tflops(torch.cuda.get_device_name()) if device.startswith("cuda") else None
        )

        def mfu(flops, seconds):
            tflops = flops / seconds / 1e12
            return f"{tflops:,.1f} TFLOP/s" + (f", MFU {tflops / peak:.1%} of {peak:g}" if peak else "")

        kmb_name = f"kmb masked-only head, sdpa, {precision}{', compiled' if args.compile else ''}, " + (
            "fixed 128" if args.fixed_length else "length-grouped"
        )
        print(
            f"plain BertForPreTraining fp32, full logits, padded to 128: {plain_tps:,.0f} tokens/s ({plain_s:.2f} s; "
            f"{mfu(plain_flops, plain_s)})"
        )
        print(f"{kmb_name}: {kmb_tps:,.0f} tokens/s ({kmb_s:.2f} s; {mfu(kmb_flops, kmb_s)})")
        print(
            f"RESULT pretrain_train_tokens_per_s: {kmb_tps:,.0f} tokens/s (plain BertForPreTraining fp32 full "
            f"logits padded to 128: {plain_tps:,.0f} tokens/s) ratio={kmb_tps / plain_tps:.2f}x"
        )
        if device.startswith("cuda"):
            print(
                f"RESULT pretrain_mfu_{args.model}_{'fixed128' if args.fixed_length else 'grouped'}_b{batch_size}"
                f"{'_compiled' if args.compile else ''}: {mfu(kmb_flops, kmb_s)}"
            )
        for family in filter(None, args.mlm_families.split(",")):
            bench_mlm_only(ws, tok_dir, tokenizer, family.strip(), args, steps, warmup, autocast)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
