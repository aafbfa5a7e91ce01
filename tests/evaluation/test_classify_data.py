"""Classification splits: stratified folds, fold folders, given splits and their label checks, encoding."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.classify_data import ClassifyExample, encode, load_splits, stratified_folds

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "classify"


def test_stratified_folds_test_each_example_once_and_spread_the_labels():
    examples = [ClassifyExample(f"t{i}", "a" if i % 3 else "b", None, i + 2) for i in range(30)]
    folds = stratified_folds(examples, 5, seed=7)
    tested = [id(e) for f in folds for e in f.test]
    assert sorted(tested) == sorted(id(e) for e in examples)
    for fold in folds:
        assert Counter(e.label for e in fold.test) == {"a": 4, "b": 2}
        assert not {id(e) for e in fold.test} & {id(e) for e in fold.train}
    assert [e.text for e in stratified_folds(examples, 5, seed=7)[0].test] == [e.text for e in folds[0].test]
    with pytest.raises(KmbError, match="only 3 examples for 5 folds"):
        stratified_folds(examples[:3], 5, seed=7)


def test_one_file_gives_k_folds_and_sorted_labels():
    splits = load_splits(SAMPLES / "medical_sentences.tsv", None, None, "auto", 3, 42)
    assert splits.mode == "kfold" and len(splits.folds) == 3 and not splits.paired
    assert splits.labels == ["BD", "DS", "ST", "none"]
    assert sum(len(f.test) for f in splits.folds) == 126


def test_given_split_of_text_pairs():
    splits = load_splits(
        None, SAMPLES / "medical_paraphrase_train.tsv", SAMPLES / "medical_paraphrase_test.tsv", "tsv", 5, 42
    )
    assert splits.mode == "given" and splits.paired and splits.labels == ["different", "similar"]
    assert [len(splits.folds[0].train), len(splits.folds[0].test)] == [120, 30]


def test_a_test_label_unknown_to_training_names_the_test_file_and_line(tmp_path):
    train = tmp_path / "train.tsv"
    test = tmp_path / "test.tsv"
    train.write_text("text\tlabel\n두통\tST\n당뇨병\tDS\n", encoding="utf-8")
    test.write_text("text\tlabel\n기침\tST\n\n무릎\tBD\n", encoding="utf-8")
    with pytest.raises(KmbError, match=rf"^{test}:4: label 'BD' is not in the training data \(labels: DS, ST\)$"):
        load_splits(None, train, test, "auto", 5, 42)


def test_fold_folder_and_mixed_shapes(tmp_path):
    folder = tmp_path / "folds"
    folder.mkdir()
    for n in (1, 2):
        (folder / f"train_cls{n}.tsv").write_text("text\tlabel\n두통\tST\n당뇨병\tDS\n기침\tST\n", encoding="utf-8")
        (folder / f"test_cls{n}.tsv").write_text("text\tlabel\n열\tST\n", encoding="utf-8")
    splits = load_splits(folder, None, None, "auto", 5, 42)
    assert splits.mode == "folds" and [f.index for f in splits.folds] == [1, 2] and splits.labels == ["DS", "ST"]
    (folder / "test_cls2.tsv").write_text("text\ttext_pair\tlabel\n열\t기침\tST\n", encoding="utf-8")
    with pytest.raises(KmbError, match="some files hold text pairs"):
        load_splits(folder, None, None, "auto", 5, 42)


def test_encode_pairs_marks_the_second_text(tiny_models):
    from kmb.vocab.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tiny_models[0])
    pair, single = (ClassifyExample("두통이 심하다.", "b", "머리가 아프다."), ClassifyExample("두통이 심하다.", "a"))
    [encoded_pair] = encode([pair], tokenizer, {"a": 0, "b": 1}, 128)
    [encoded_single] = encode([single], tokenizer, {"a": 0, "b": 1}, 128)
    assert encoded_pair.label == 1 and encoded_single.label == 0
    assert encoded_pair.input_ids.count(tokenizer.sep_token_id) == 2 and set(encoded_pair.token_type_ids) == {0, 1}
    assert encoded_single.input_ids.count(tokenizer.sep_token_id) == 1 and set(encoded_single.token_type_ids) == {0}
    [short] = encode([pair], tokenizer, {"a": 0, "b": 1}, 8)
    assert len(short.input_ids) == 8
