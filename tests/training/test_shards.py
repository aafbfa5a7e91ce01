"""Pair shards: adjacency, no pair across a gap, determinism, staleness; the dataset and collator."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from kmb.errors import KmbError
from kmb.training.masking import max_selected
from kmb.training.shards import PairShardDataset, build_shards


def _read_split(shard_set, split):
    return pa.concat_tables(pa.ipc.open_file(pa.memory_map(str(p))).read_all() for p in shard_set.files(split))


def _build(ws, tok_dir, seed=42, max_length=128):
    from kmb.vocab.tokenizers import load_tokenizer

    files = sorted((ws.corpus / "sentences").glob("*.parquet"))
    return build_shards(
        ws.pretrain("t") / "shards",
        files,
        load_tokenizer(tok_dir),
        tok_dir,
        max_length=max_length,
        seed=seed,
        chunk_pairs=37,
    )


def test_shards_hold_adjacent_pairs_never_across_gaps(workspace, tiny_tokenizer_dir, helpers):
    rows = helpers.make_sentence_rows(60)
    helpers.write_sentences(workspace, rows)
    shard_set = _build(workspace, tiny_tokenizer_dir)
    present = {(r["doc_id"], r["sent_idx"]) for r in rows}
    for split in ("train", "valid"):
        table = _read_split(shard_set, split).to_pylist()
        expected = sum(1 for r in rows if r["split"] == split and (r["doc_id"], r["sent_idx"] + 1) in present)
        assert len(table) == expected == shard_set.n_pairs(split)
        labels = [r["next_sentence_label"] for r in table]
        assert abs(labels.count(1) - labels.count(0)) <= 1
        for r in table:
            if r["next_sentence_label"] == 0:
                assert r["doc_id_b"] == r["doc_id_a"] and r["sent_idx_b"] == r["sent_idx_a"] + 1
            else:
                assert r["doc_id_b"] != r["doc_id_a"]
            assert (r["doc_id_a"], r["sent_idx_a"] + 1) in present  # A always has its next sentence
            ids = r["input_ids"]
            assert ids[0] == 2 and ids[r["n_first"] - 1] == 3 and ids[-1] == 3 and len(ids) == r["length"]
    assert _read_split(shard_set, "train").schema.field("input_ids").type == pa.list_(pa.uint16())
    gap_docs = {r["doc_id"] for r in rows if r["doc_id"] in {f"doc{d:04d}" for d in range(1, 60, 4)}}
    pairs = _read_split(shard_set, "train").to_pylist() + _read_split(shard_set, "valid").to_pylist()
    assert not any(r["doc_id_a"] in gap_docs and r["sent_idx_a"] == 1 for r in pairs)


def test_shards_are_deterministic_reused_and_rebuilt_when_stale(workspace, tiny_tokenizer_dir, tmp_path, helpers):
    helpers.write_sentences(workspace, helpers.make_sentence_rows(30))
    first = _build(workspace, tiny_tokenizer_dir)
    table = _read_split(first, "train")
    mtime = first.files("train")[0].stat().st_mtime_ns
    assert _build(workspace, tiny_tokenizer_dir).files("train")[0].stat().st_mtime_ns == mtime  # reused
    rebuilt = _build(workspace, tiny_tokenizer_dir, seed=43)  # new seed: stale
    assert rebuilt.manifest["seed"] == 43
    again = _build(workspace, tiny_tokenizer_dir, seed=42)
    assert _read_split(again, "train").equals(table)  # same seed, same shards
    other_tok = helpers.save_tokenizer(tmp_path / "tok2", helpers.vocab_tokens() + ["[unused0]"])
    assert _build(workspace, other_tok).manifest["vocab_size"] == len(helpers.vocab_tokens()) + 1
    assert not list(workspace.pretrain("t").glob(".*tmp"))  # no temporaries left


def test_dataset_masks_dynamically_or_statically(workspace, tiny_tokenizer_dir, helpers):
    helpers.write_sentences(workspace, helpers.make_sentence_rows(30))
    shard_set = _build(workspace, tiny_tokenizer_dir)
    kw = dict(seed=1, mask_token_id=4, vocab_size=len(helpers.vocab_tokens()), special_ids=[0, 2, 3])
    dynamic = PairShardDataset(shard_set.files("train"), **kw)
    static = PairShardDataset(shard_set.files("train"), static_masking=True, **kw)
    assert len(dynamic) == shard_set.n_pairs("train")

    def labels(dataset, epoch, i):
        return dataset.collator(pad_token_id=0)([dataset[(epoch, i)]])["labels"][0].numpy()

    changed = sum(not np.array_equal(labels(dynamic, 0, i), labels(dynamic, 1, i)) for i in range(20))
    assert changed > 10
    assert all(np.array_equal(labels(static, 0, i), labels(static, 5, i)) for i in range(20))


def test_collator_pads_types_and_masks_a_batch(workspace, tiny_tokenizer_dir, helpers):
    helpers.write_sentences(workspace, helpers.make_sentence_rows(30))
    shard_set = _build(workspace, tiny_tokenizer_dir)
    dataset = PairShardDataset(
        shard_set.files("train"), seed=1, mask_token_id=4, vocab_size=len(helpers.vocab_tokens()), special_ids=[0, 2, 3]
    )
    features = [dataset[(0, i)] for i in range(8)]
    batch = dataset.collator(pad_token_id=0, pad_to_multiple_of=8)(features)
    assert batch["input_ids"].shape[1] % 8 == 0
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        assert batch["attention_mask"][row].sum() == n and bool((batch["input_ids"][row, n:] == 0).all())
        types = batch["token_type_ids"][row]
        assert types[: f["n_first"]].sum() == 0 and bool((types[f["n_first"] : n] == 1).all()) and types[n:].sum() == 0
        labels = batch["labels"][row]
        targets = labels != -100
        assert targets.sum() >= 1 and not bool(targets[n:].any())
        original = torch.as_tensor(f["input_ids"].astype(np.int64))
        assert torch.equal(labels[:n][targets[:n]], original[targets[:n]])  # labels are the true ids
        assert not bool(targets[:n][torch.isin(original, torch.tensor([0, 2, 3]))].any())  # specials never
    # the gather list: every target once, in order, then padding (0) up to a size set by the shape
    flat = batch["labels"].reshape(-1)
    positions = batch["masked_positions"]
    n_targets = int((flat != -100).sum())
    rows, length = batch["labels"].shape
    assert len(positions) == rows * max_selected(length) >= n_targets
    assert torch.equal(positions[:n_targets], torch.nonzero(flat != -100).view(-1))
    assert not positions[n_targets:].any()
    # a pair's masks do not depend on its batch
    alone = dataset.collator(pad_token_id=0)([features[3]])
    n = len(features[3]["input_ids"])
    assert torch.equal(alone["labels"][0], batch["labels"][3, :n])


def test_collator_masks_whole_words_of_pairs(workspace, tmp_path, helpers):
    from kmb.training.masking import word_start_table
    from kmb.vocab.tokenizers import load_tokenizer

    # syllable pieces only, so every word of two or more syllables is several pieces
    tokens = [t for t in helpers.vocab_tokens() if len(t) == 1 or t.startswith(("##", "["))]
    tok_dir = helpers.save_tokenizer(tmp_path / "syllables", tokens)
    helpers.write_sentences(workspace, helpers.make_sentence_rows(30))
    shard_set = _build(workspace, tok_dir)
    table = word_start_table(load_tokenizer(tok_dir))
    dataset = PairShardDataset(
        shard_set.files("train"),
        seed=1,
        mask_token_id=4,
        word_starts=table,
        vocab_size=len(tokens),
        special_ids=[0, 2, 3],
    )
    features = [dataset[(0, i)] for i in range(len(dataset))]
    batch = dataset.collator(pad_token_id=0)(features)
    ids = np.zeros(batch["labels"].shape, dtype=np.int64)
    for row, f in enumerate(features):
        ids[row, : len(f["input_ids"])] = f["input_ids"]
    targets = (batch["labels"] != -100).numpy()
    continues = ~table[ids] & targets
    continues[:, 0] = False
    assert continues.any() and targets[:, :-1][continues[:, 1:]].all()  # a chosen word's pieces all together
    starts_next = table[ids[:, 1:]] | np.isin(ids[:, 1:], [0, 2, 3])  # the piece after a target word ends it
    whole = targets[:, :-1] & ~targets[:, 1:] & ~starts_next
    assert not whole.any()
    assert batch["token_type_ids"].shape == batch["input_ids"].shape and len(batch["next_sentence_label"]) == len(
        features
    )
    flat = batch["labels"].reshape(-1)
    n_targets = int((flat != -100).sum())
    assert torch.equal(batch["masked_positions"][:n_targets], torch.nonzero(flat != -100).view(-1))
    share = n_targets / int((~np.isin(ids, [0, 2, 3])).sum())
    assert abs(share - 0.15) < 0.05


def test_empty_valid_split_and_single_document_are_clear_errors(workspace, tiny_tokenizer_dir, helpers):
    rows = [r for r in helpers.make_sentence_rows(20) if r["split"] == "train"]
    helpers.write_sentences(workspace, rows)
    with pytest.raises(KmbError, match="no 'valid' sentences"):
        _build(workspace, tiny_tokenizer_dir)
    assert not (workspace.pretrain("t") / "shards").exists()
    assert not list(workspace.pretrain("t").glob(".*"))
    one_doc = [dict(r, doc_id="only", split="train") for r in helpers.make_sentence_rows(3)]
    helpers.write_sentences(workspace, one_doc)
    with pytest.raises(KmbError, match="at least two documents"):
        _build(workspace, tiny_tokenizer_dir)


def test_fast_encoder_path_equals_the_standard_tokenizer_call(tiny_tokenizer_dir):
    from kmb.training.shards import PairEncoder
    from kmb.vocab.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    encoder = PairEncoder(tokenizer, max_length=12)
    assert encoder.backend is not None
    a = ["고혈압 환자는 두통 증상으로 병원에 왔다 .", "천식", "의사는 당뇨병 진단을 내렸다 ."]
    b = ["의사는 고혈압 진단을 내렸다 .", "환자는 흡입기 을 매일 복용했다 . 환자는 흡입기 을 매일 복용했다 .", "갈증"]
    ids, n_first = encoder(a, b)
    expected = tokenizer(a, b, truncation=True, max_length=12)
    assert ids == expected["input_ids"]
    assert n_first.tolist() == [tt.count(0) for tt in expected["token_type_ids"]]
