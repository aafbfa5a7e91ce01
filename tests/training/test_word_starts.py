"""Whole-word masking per eojeol next to added tokens: an added term inside an eojeol does not cut
it in two, a placeholder and its particle are one word, and the shards carry the corrections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tokenizers import AddedToken
from transformers import AutoTokenizer

from kmb.training.masking import IGNORE_INDEX, word_start_table
from kmb.training.segment_shards import SegmentShardDataset, SentenceEncoder, build_segment_shards
from kmb.training.shards import PairShardDataset, build_shards
from kmb.training.word_starts import apply_flips
from kmb.vocab.tokenizers import load_tokenizer, prepend_marker_at_text_start_only

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers"
TEXTS = [
    "환자는 고혈압으로 항고혈압제를 복용했다 .",
    "고혈압 환자의 혈압약 처방",
    "[NAME]님은 고혈압 환자이다 .",
    "항고혈압제",
]


def with_added_terms(kind: str):
    """A fixture base with a term and a placeholder added as `kmb vocab build` adds them."""
    tokenizer = AutoTokenizer.from_pretrained(str(FIXTURES / kind))
    tokenizer.add_tokens(
        [AddedToken("고혈압", single_word=False, lstrip=True, rstrip=False, normalized=True)]
        + [AddedToken("[NAME]", normalized=False)]
    )
    prepend_marker_at_text_start_only(tokenizer)
    return tokenizer


def eojeol_starts(text: str, offsets) -> list[bool]:
    """True where a token is the first of its white-space word (a token with no characters, e.g. a
    lone "Ġ", belongs to the word after it)."""
    starts, previous = [], None
    for k, (begin, end) in enumerate(offsets):
        if begin == end:  # a lone marker: the next token's word
            begin = offsets[k + 1][0]
        while begin < len(text) and text[begin].isspace():
            begin += 1
        word = len(text[: begin + 1].split())  # the words up to and including this character
        starts.append(word != previous)
        previous = word
    return starts


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_added_tokens_start_a_word_only_after_white_space(kind):
    tokenizer = with_added_terms(kind)
    encoder = SentenceEncoder(tokenizer)
    ids, flips = encoder.encode(TEXTS)
    assert flips, "the added tokens inside and after words must correct the vocab's rule"
    table = word_start_table(tokenizer)
    for row, text in enumerate(TEXTS):
        prefixed = " " + text
        offsets = tokenizer(prefixed, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        starts = table[ids[row]].copy()
        starts[flips.get(row, [])] ^= True
        assert starts.tolist() == eojeol_starts(prefixed, offsets), tokenizer.convert_ids_to_tokens(ids[row])
        assert int(starts.sum()) == len(text.split())


def test_unigram_gets_no_marker_after_an_added_token():
    before = AutoTokenizer.from_pretrained(str(FIXTURES / "unigram"))
    before.add_tokens([AddedToken("고혈압", lstrip=True, normalized=True)])
    assert "▁" in before.tokenize("고혈압으로")  # the spurious word start this fixes
    after = with_added_terms("unigram")
    assert "▁" not in after.tokenize("고혈압으로") and after.tokenize("고혈압으로")[0] == "고혈압"
    assert after.tokenize("환자는 치료")[0].startswith("▁")  # the text start still gets its marker
    assert after.tokenize("환자 치료") == before.tokenize("환자 치료")  # text without added tokens unchanged


def _rows(texts: list[str], n_docs: int = 12) -> list[dict]:
    rows = []
    for doc in range(n_docs):
        for i, text in enumerate(texts):
            split = "valid" if doc % 4 == 0 else "train"
            rows.append(dict(doc_id=f"d{doc}", source="test", sent_idx=i, text=text, n_chars=len(text)))
            rows[-1].update(n_words=len(text.split()), split=split)
    return rows


def _whole_words_only(starts: np.ndarray, targets: np.ndarray) -> bool:
    """Every word is targeted whole or not at all: inside a word a piece shares its left neighbour's fate."""
    return not ((targets[:, 1:] != targets[:, :-1]) & ~starts[:, 1:]).any()


def test_segment_shards_store_the_corrections_and_mask_whole_eojeol(workspace, tmp_path, helpers):
    tokenizer = with_added_terms("bpe")
    tok_dir = tmp_path / "tok"
    tokenizer.save_pretrained(str(tok_dir))
    tokenizer = load_tokenizer(tok_dir)
    helpers.write_sentences(workspace, _rows(TEXTS))
    files = workspace.sentence_files()
    segments = build_segment_shards(tmp_path / "segments", files, tokenizer, tok_dir, max_length=128)
    dataset = SegmentShardDataset.for_tokenizer(segments.files("train"), tokenizer, seed=0, whole_word_masking=True)
    table = word_start_table(tokenizer)
    features = [dataset[(0, i)] for i in range(len(dataset))]
    for f in features:  # one document = the four texts in one segment: one start per eojeol
        starts = table[f["input_ids"][1:-1]].copy()
        starts[np.asarray(f["word_start_flips"], dtype=np.int64) - 1] ^= True
        assert int(starts.sum()) == sum(len(t.split()) for t in TEXTS)
    batch = dataset.collator(tokenizer.pad_token_id)(features)
    targets = (batch["labels"] != IGNORE_INDEX).numpy()
    ids = np.zeros(targets.shape, dtype=np.int64)
    for row, f in enumerate(features):
        ids[row, : len(f["input_ids"])] = f["input_ids"]
    starts = apply_flips(table[ids], [f["word_start_flips"] for f in features])
    starts |= ~batch["attention_mask"].numpy().astype(bool) | np.isin(ids, tokenizer.all_special_ids)
    assert targets.any() and _whole_words_only(starts, targets)
    # without the corrections the added term inside 항고혈압제를 would be a word of its own
    assert not np.array_equal(starts, table[ids] | ~batch["attention_mask"].numpy().astype(bool))


def test_pair_shards_keep_a_placeholder_and_its_particle_one_word(workspace, tmp_path, helpers):
    tokens = helpers.vocab_tokens() + ["[NAME]", "님", "##은", "##님"]
    tok_dir = helpers.save_tokenizer(tmp_path / "wp", list(dict.fromkeys(tokens)))
    (tok_dir / "tokenizer.json").unlink()  # from vocab.txt, as kmb loads its own vocabs: placeholders whole
    tokenizer = load_tokenizer(tok_dir)
    assert tokenizer.tokenize("[NAME]님은")[:2] == ["[NAME]", "님"]
    texts = ["[NAME]님은 고혈압 환자이다 .", "[NAME]님은 인슐린을 복용했다 .", "환자는 천식 치료를 받았다 ."]
    helpers.write_sentences(workspace, _rows(texts, n_docs=20))
    shard_set = build_shards(tmp_path / "shards", workspace.sentence_files(), tokenizer, tok_dir, max_length=64)
    table = word_start_table(tokenizer)
    dataset = PairShardDataset(
        shard_set.files("train"),
        seed=3,
        mask_token_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        special_ids=tokenizer.all_special_ids,
        word_starts=table,
    )
    name_id, nim_id = tokenizer.convert_tokens_to_ids(["[NAME]", "님"])
    flipped = 0
    for epoch in range(8):
        features = [dataset[(epoch, i)] for i in range(len(dataset))]
        for f in features:
            ids = np.asarray(f["input_ids"])
            after_name = np.flatnonzero((ids[:-1] == name_id) & (ids[1:] == nim_id)) + 1
            assert set(after_name) <= set(np.asarray(f["word_start_flips"]).tolist())
            flipped += len(after_name)
        targets = (dataset.collator(tokenizer.pad_token_id)(features)["labels"] != IGNORE_INDEX).numpy()
        for row, f in enumerate(features):
            ids = np.asarray(f["input_ids"])
            for at in np.flatnonzero((ids[:-1] == name_id) & (ids[1:] == nim_id)):
                assert targets[row, at] == targets[row, at + 1]  # [NAME] and 님 are masked together
    assert flipped > 0
