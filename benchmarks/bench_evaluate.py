"""Benchmark for `kmb evaluate`: padding per batch (+ length-sorted evaluation) vs padding to 128.

The obvious alternative is the common tutorial recipe: tokenize with ``padding="max_length"``
(every input 128 tokens) and batch in file order. kmb pads each batch to its own longest input
and, for evaluation, sorts by length first. Both run in the same process on the same model and
sentence pairs (KorSTS from ../shared/data when present, else the bundled STS sample repeated):

    .venv/bin/python benchmarks/bench_evaluate.py [--size 1000] [--quick] [--device cuda]

It prints examples/s for prediction and for one training epoch, each with the ratio kmb/baseline,
and checks that both ways predict the same values.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def load_pairs(size: int):
    from kmb.evaluation.sts_data import read_sts

    korsts = SHARED / "korsts" / "sts-train.tsv"
    source = korsts if korsts.is_file() else REPO / "samples" / "sts" / "medical_sts_train.tsv"
    pairs = read_sts(source, "korsts")
    while len(pairs) < size:
        pairs = pairs + pairs
    return pairs[:size], source


def build_model(pairs, directory: Path, hidden: int, layers: int):
    """A small BERT and a syllable vocab over the data (BERT-base shapes are --hidden 768 --layers 12)."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    chars = sorted({c for p in pairs for c in p.sentence1 + p.sentence2 if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(directory / "vocab.txt"), do_lower_case=False, strip_accents=False)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        intermediate_size=4 * hidden,
        max_position_embeddings=128,
        num_labels=1,
        problem_type="regression",
    )
    return BertForSequenceClassification(config), tokenizer


def baseline_batches(pairs, tokenizer, batch_size: int, device):
    """Tutorial recipe: every input padded to 128, batches in file order."""
    enc = tokenizer(
        [p.sentence1 for p in pairs],
        [p.sentence2 for p in pairs],
        padding="max_length",
        truncation="longest_first",
        max_length=128,
        return_tensors="pt",
    )
    labels = torch.tensor([p.score for p in pairs], dtype=torch.float)
    for start in range(0, len(pairs), batch_size):
        sl = slice(start, start + batch_size)
        yield {k: v[sl].to(device) for k, v in enc.items()}, labels[sl].to(device)


@torch.no_grad()
def baseline_predict(model, pairs, tokenizer, batch_size, device):
    model.to(device).eval()
    out = []
    for batch, _ in baseline_batches(pairs, tokenizer, batch_size, device):
        out.append(model(**batch).logits.float().cpu().numpy()[:, 0])
    return np.concatenate(out)


def baseline_train(model, pairs, tokenizer, batch_size, device):
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
    for batch, labels in baseline_batches(pairs, tokenizer, batch_size, device):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def timed(fn, *args, **kwargs):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="sentence pairs to predict and train on")
    parser.add_argument("--quick", action="store_true", help="small sizes (< 60 s on 2 cores)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (paper: 32)")
    parser.add_argument("--hidden", type=int, default=256, help="model hidden size (768 for BERT-base)")
    parser.add_argument("--layers", type=int, default=4, help="model layers (12 for BERT-base)")
    parser.add_argument("--device", default=None, help="torch device (default cuda when available)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds; the best of each side counts")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    size = 128 if args.quick else args.size
    if args.quick:
        args.rounds = min(args.rounds, 2)
        args.threads = args.threads or 1  # one thread: steadier timings on a busy shared CPU
    if args.threads:
        torch.set_num_threads(args.threads)
    hidden, layers = (128, 2) if args.quick else (args.hidden, args.layers)

    from kmb.evaluation.finetune import predict, train
    from kmb.evaluation.options import FinetuneConfig
    from kmb.evaluation.sts import encode_pairs

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    config = FinetuneConfig(batch_size=args.batch_size, device=str(device))
    pairs, source = load_pairs(size)
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer = build_model(pairs, Path(tmp), hidden, layers)
    examples = encode_pairs(pairs, tokenizer, 128, "regression")
    lengths = [len(e.input_ids) for e in examples]
    print(
        f"{size} pairs from {source.name}; model hidden {hidden} x {layers} layers; tokens per pair mean {np.mean(lengths):.1f}, max {max(lengths)}; device {device}, {torch.get_num_threads()} threads"
    )

    # warm-up (first CUDA kernels, allocator) so neither side pays it
    predict(model, examples[:64], config=config, pad_id=tokenizer.pad_token_id)
    baseline_predict(model, pairs[:64], tokenizer, args.batch_size, device)

    if device.type == "cuda":
        print("note: kmb uses bf16 autocast on this GPU; the baseline runs fp32 (as the tutorial recipe does)")
    # Alternate the two ways and keep each one's best time: on a shared machine this cancels
    # most of the load that comes and goes during the run.
    t_ours = t_theirs = float("inf")
    for _ in range(args.rounds):
        ours, t = timed(predict, model, examples, config=config, pad_id=tokenizer.pad_token_id)
        t_ours = min(t_ours, t)
        theirs, t = timed(baseline_predict, model, pairs, tokenizer, args.batch_size, device)
        t_theirs = min(t_theirs, t)
    ours = np.array([o[0] for o in ours])
    diff = float(np.max(np.abs(ours - theirs)))
    tolerance = 5e-2 if device.type == "cuda" else 1e-4
    print(f"prediction agreement: max |kmb - baseline| = {diff:.2e}")
    if diff > tolerance:
        print("ERROR: predictions differ between padding schemes", file=sys.stderr)
        return 1
    print(
        f"RESULT evaluate_predict: {size / t_ours:.0f} examples/s (pad-to-128 in file order: {size / t_theirs:.0f} examples/s) ratio={t_theirs / t_ours:.2f}x"
    )

    t_train_ours = t_train_theirs = float("inf")
    for _ in range(args.rounds):
        _, t = timed(
            train,
            copy.deepcopy(model),
            examples,
            lr=3e-5,
            epochs=1,
            config=config,
            pad_id=tokenizer.pad_token_id,
            seed=0,
        )
        t_train_ours = min(t_train_ours, t)
        _, t = timed(baseline_train, copy.deepcopy(model), pairs, tokenizer, args.batch_size, device)
        t_train_theirs = min(t_train_theirs, t)
    print(
        f"RESULT evaluate_train_epoch: {size / t_train_ours:.0f} examples/s (pad-to-128: {size / t_train_theirs:.0f} examples/s) ratio={t_train_theirs / t_train_ours:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
