"""MLM-only segments: consecutive sentences of one document packed up to max_length, never across
a document or a removed-sentence gap; memory-mapped, masked in batches, trainable with the Trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from kmb.errors import KmbError
from kmb.training.masking import IGNORE_INDEX, word_start_table
from kmb.training.segment_shards import SegmentShardDataset, build_segment_shards
from kmb.vocab.tokenizers import load_tokenizer

BPE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers" / "bpe"


def read_rows(files) -> list[dict]:
    rows = []
    for path in files:
        rows += pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all().to_pylist()
    return rows


def build(workspace, tok_dir, max_length=48, **kwargs):
    tokenizer = load_tokenizer(tok_dir)
    files = workspace.sentence_files()
    return build_segment_shards(
        workspace.pretrain("m") / "segments", files, tokenizer, tok_dir, max_length=max_length, **kwargs
    ), tokenizer


@pytest.mark.parametrize("max_length", [24, 48, 128])
def test_segments_fill_up_within_a_document_and_never_cross_a_gap(
    corpus_workspace, tiny_tokenizer_dir, helpers, max_length
):
    segments, tokenizer = build(corpus_workspace, tiny_tokenizer_dir, max_length, chunk_sentences=7)
    sentences = {(r["doc_id"], r["sent_idx"]): r for r in helpers.make_sentence_rows(60)}
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    for split in ("train", "valid"):
        rows = read_rows(segments.files(split))
        assert len(rows) == segments.n_segments(split)
        covered = []
        for row in rows:
            ids = row["input_ids"]
            assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
            assert row["length"] == len(ids) <= max_length
            keys = [(row["doc_id"], row["sent_idx"] + k) for k in range(row["n_sentences"])]
            assert all(key in sentences for key in keys)  # consecutive sent_idx: no gap, one document
            expected = [t for key in keys for t in encode(sentences[key]["text"])]
            assert ids[1:-1] == expected[: max_length - 2]
            following = (row["doc_id"], row["sent_idx"] + row["n_sentences"])
            if following in sentences:  # filled up: the next sentence of the run did not fit
                assert len(ids) + len(encode(sentences[following]["text"])) > max_length
            covered += keys
        in_split = [k for k, r in sentences.items() if r["split"] == split]
        assert sorted(covered) == sorted(in_split)  # every sentence exactly once
        assert segments.manifest["splits"][split]["sentences"] == len(in_split)


def test_a_current_set_is_reused_and_a_new_max_length_rebuilds(corpus_workspace, tiny_tokenizer_dir):
    first, _ = build(corpus_workspace, tiny_tokenizer_dir)
    stamp = first.files("train")[0].stat().st_mtime_ns
    again, _ = build(corpus_workspace, tiny_tokenizer_dir)
    assert again.manifest == first.manifest and again.files("train")[0].stat().st_mtime_ns == stamp
    longer, _ = build(corpus_workspace, tiny_tokenizer_dir, max_length=96)
    assert longer.manifest["fingerprint"] != first.manifest["fingerprint"]
    assert longer.n_segments("train") < first.n_segments("train")


def test_bad_input_is_one_error_and_writes_nothing(workspace, corpus_workspace, tiny_tokenizer_dir, helpers):
    with pytest.raises(KmbError, match="--max-length must be at least 3"):
        build(corpus_workspace, tiny_tokenizer_dir, max_length=2)
    only_train = [dict(r, split="train") for r in helpers.make_sentence_rows(5)]
    for path in corpus_workspace.sentence_files():
        path.unlink()
    helpers.write_sentences(corpus_workspace, only_train)
    with pytest.raises(KmbError, match="no 'valid' sentences"):
        build(corpus_workspace, tiny_tokenizer_dir)
    assert not corpus_workspace.pretrain("m").exists() or list(corpus_workspace.pretrain("m").iterdir()) == []


def test_dataset_and_collator_mask_whole_batches(corpus_workspace, tiny_tokenizer_dir):
    segments, tokenizer = build(corpus_workspace, tiny_tokenizer_dir)
    dataset = SegmentShardDataset.for_tokenizer(segments.files("train"), tokenizer, seed=3)
    assert len(dataset) == segments.n_segments("train") == len(dataset.lengths)
    features = [dataset[(1, i)] for i in range(8)]
    batch = dataset.collator(tokenizer.pad_token_id, pad_to_multiple_of=8)(features)
    assert set(batch) == {"input_ids", "attention_mask", "labels", "masked_positions"}
    assert batch["input_ids"].shape[1] % 8 == 0
    assert batch["attention_mask"].sum(1).tolist() == [len(f["input_ids"]) for f in features]
    labels = batch["labels"]
    targets = labels != IGNORE_INDEX
    assert targets.sum(1).min() >= 1 and not targets[batch["attention_mask"] == 0].any()
    flat = batch["masked_positions"]
    assert sorted(flat[flat > 0].tolist()) == torch.nonzero(targets.reshape(-1)).flatten().tolist()
    again = dataset.collator(tokenizer.pad_token_id)(features)
    assert torch.equal(again["labels"], labels[:, : again["labels"].shape[1]])  # masks depend on the key only
    other_epoch = dataset.collator(tokenizer.pad_token_id)([dataset[(2, i)] for i in range(8)])
    assert not torch.equal(other_epoch["labels"], again["labels"])


def test_bpe_segments_start_each_sentence_at_a_word_and_mask_whole_words(corpus_workspace):
    segments, tokenizer = build(corpus_workspace, BPE_DIR, max_length=64)
    table = word_start_table(tokenizer)
    first = read_rows(segments.files("train"))[0]
    assert first["n_sentences"] >= 2
    ids = first["input_ids"]
    sentence_starts = np.flatnonzero(np.isin(ids, tokenizer.convert_tokens_to_ids(["Ġ."])))  # each ends " ."
    assert table[ids[1:-1]].sum() >= len(first["input_ids"]) // 6
    assert all(table[ids[i + 1]] for i in sentence_starts if i + 1 < len(ids) - 1)
    dataset = SegmentShardDataset.for_tokenizer(segments.files("train"), tokenizer, seed=0, whole_word_masking=True)
    batch = dataset.collator(tokenizer.pad_token_id)([dataset[i] for i in range(len(dataset))])
    targets = (batch["labels"] != IGNORE_INDEX).numpy()
    ids = np.array(
        [np.pad(dataset.segment(i), (0, targets.shape[1] - len(dataset.segment(i)))) for i in range(len(dataset))]
    )
    # a target that continues a word always has its word's previous piece targeted too
    continues = ~table[ids] & targets
    continues[:, 0] = False
    assert targets[:, :-1][continues[:, 1:]].all()
    assert abs(targets.sum() / (batch["attention_mask"].sum() - 2 * len(dataset)).item() - 0.15) < 0.05


def test_the_trainer_trains_a_masked_only_roberta_on_segments(corpus_workspace, tmp_path):
    from transformers import RobertaConfig, Trainer, TrainingArguments

    from kmb.training.model import masked_only_mlm

    segments, tokenizer = build(corpus_workspace, BPE_DIR, max_length=64)
    dataset = SegmentShardDataset.for_tokenizer(segments.files("train"), tokenizer, seed=0, whole_word_masking=True)
    torch.manual_seed(0)
    model = masked_only_mlm(
        RobertaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=80,
            pad_token_id=tokenizer.pad_token_id,
            type_vocab_size=1,
        )
    )
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=3,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        report_to=[],
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=dataset.collator(tokenizer.pad_token_id, pad_to_multiple_of=8),
    )
    result = trainer.train()
    assert result.global_step == 3 and np.isfinite(result.training_loss) and result.training_loss > 0
