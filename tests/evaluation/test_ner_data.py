"""NER formats, folds by document, windows, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.ner_data import (
    NerFold,
    documents,
    drop_leaks,
    fold_files,
    fold_leaks,
    folds_by_document,
    label_list,
    leaked_test_sentences,
    load_folds,
    read_ner,
    split_dev,
    tokenize_windows,
)

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "ner" / "medical_ner_sample.txt"


def test_bundled_kmbert_sample_parses():
    sentences = read_ner(SAMPLE, "kmbert")
    assert len(sentences) >= 120
    assert len(documents(sentences)) >= 20
    assert label_list(sentences) == ["O", "B-BD", "I-BD", "B-DS", "I-DS", "B-ST", "I-ST"]
    first = sentences[0]
    assert first.words[:3] == ["당뇨병", "환자는", "발에"]
    assert first.tags[:3] == ["B-DS", "O", "B-BD"]


def test_kmbert_multiword_entity_and_docstart(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text(
        "-DOCSTART- -X- O\n\n급성 XX B-DS\n충수염으로 XXXOO I-DS\n입원했다. OOOOO O\n\n"
        "두통이 XXO B-ST\n심하다. OOOO O\n\n-DOCSTART- -X- O\n\n배가 XO B-BD\n아프다. OOOO O\n",
        encoding="utf-8",
    )
    sentences = read_ner(path, "kmbert")
    assert [s.words for s in sentences] == [
        ["급성", "충수염으로", "입원했다."],
        ["두통이", "심하다."],
        ["배가", "아프다."],
    ]
    assert sentences[0].doc == sentences[1].doc != sentences[2].doc


def test_conll_format(tmp_path):
    path = tmp_path / "ner.conll"
    path.write_text("고혈압 B-DS\n환자 O\n\n어지럼증 B-ST\n", encoding="utf-8")
    sentences = read_ner(path, "conll")
    assert [s.tags for s in sentences] == [["B-DS", "O"], ["B-ST"]]
    assert sentences[0].doc != sentences[1].doc  # no -DOCSTART-: one document per sentence


def test_klue_format_real_data(shared_data):
    sentences = read_ner(shared_data / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv", "klue")
    assert len(sentences) == 1000
    first = sentences[0]
    assert first.doc == "klue-ner-v1_dev_00000-wikitree"
    assert "".join(first.words).startswith("경찰은또성매매")  # spaces dropped, characters kept
    assert first.tags[:3] == ["B-OG", "I-OG", "O"]
    assert {t[2:] for s in sentences for t in s.tags if t != "O"} == {"PS", "LC", "OG", "DT", "TI", "QT"}


def test_klue_format_own_fixture(tmp_path):
    path = tmp_path / "klue.tsv"
    path.write_text(
        "## 주석\n## s1\t<김:PS>씨\n김\tB-PS\n씨\tO\n \tO\n왔\tO\n\n## s2\t<서울 역:LC>\n서\tB-LC\n울\tI-LC\n \tI-LC\n역\tI-LC\n",
        encoding="utf-8",
    )
    sentences = read_ner(path, "klue")
    assert [s.words for s in sentences] == [["김", "씨", "왔"], ["서", "울", "역"]]
    assert sentences[1].tags == ["B-LC", "I-LC", "I-LC"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("두통 XX B-SYMPTOM-X\n", None),
        ("두통 XX BST\n", "not IOB2"),
        ("두통 XX I-ST\n", "in IOB2 an entity starts with B-ST"),
        ("두통 XX B-ST\n이 O I-DS\n", "in IOB2"),
        ("두통 XX\n", "expected 3 columns"),
        ("두통  XX B-ST\n", "expected 3 columns"),
        ("두통 XXO B-ST\n", "has 3 marks"),
        ("두통 XY B-ST\n", "only X and O"),
    ],
)
def test_bad_kmbert_lines_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text("배 X B-BD\n\n" + content, encoding="utf-8")
    if message is None:  # a type name may contain dashes after B-/I-: legal
        read_ner(path, "kmbert")
        return
    with pytest.raises(KmbError, match=message) as info:
        read_ner(path, "kmbert")
    assert str(info.value).startswith(f"{path}:")
    assert info.value.line >= 3


def test_klue_wrong_column_count(tmp_path):
    path = tmp_path / "klue.tsv"
    path.write_text("## s1\t문장\n가\tO\textra\n", encoding="utf-8")
    with pytest.raises(KmbError, match="2 tab-separated columns") as info:
        read_ner(path, "klue")
    assert info.value.line == 2


def test_folds_never_leak_a_document():
    sentences = read_ner(SAMPLE, "kmbert")
    folds = folds_by_document(sentences, 5, seed=7)
    assert len(folds) == 5
    test_docs_seen = set()
    for fold in folds:
        train_docs = {s.doc for s in fold.train}
        test_docs = {s.doc for s in fold.test}
        assert fold.test and fold.train
        assert not train_docs & test_docs
        assert not test_docs & test_docs_seen  # each document is tested once
        test_docs_seen |= test_docs
        assert len(fold.train) + len(fold.test) == len(sentences)
        train, dev = split_dev(fold.train, 0.1, seed=1)
        assert dev and not {s.doc for s in train} & {s.doc for s in dev}
    assert test_docs_seen == {s.doc for s in sentences}
    # same seed, same folds
    again = folds_by_document(sentences, 5, seed=7)
    assert [[s.line for s in f.test] for f in again] == [[s.line for s in f.test] for f in folds]


def test_empty_fold_is_an_error(tmp_path):
    path = tmp_path / "two_docs.txt"
    path.write_text("-DOCSTART- -X- O\n\n배 X B-BD\n\n-DOCSTART- -X- O\n\n열 X B-ST\n", encoding="utf-8")
    with pytest.raises(KmbError, match="fold would be empty"):
        folds_by_document(read_ner(path, "kmbert"), 5, seed=1)


def test_fold_files_in_a_directory(tmp_path):
    for i in (1, 2):
        (tmp_path / f"train{i}.txt").write_text("배 X B-BD\n\n열 X B-ST\n", encoding="utf-8")
        (tmp_path / f"eval{i}.txt").write_text("두통 XX B-ST\n", encoding="utf-8")
    folds = load_folds(tmp_path, "kmbert", 5, seed=1)
    assert [f.index for f in folds] == [1, 2]
    assert folds[0].test[0].words == ["두통"]
    (tmp_path / "eval2.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(KmbError, match="eval2.txt"):
        load_folds(tmp_path, "kmbert", 5, seed=1)


def test_long_sentences_become_windows_not_cut(tiny_models):
    from kmb.vocab.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tiny_models[0])
    sentences = read_ner(SAMPLE, "kmbert")[:3]
    labels = label_list(sentences)
    label_ids = {t: i for i, t in enumerate(labels)}
    windows = tokenize_windows(sentences, tokenizer, label_ids, max_length=12)
    for s_index, sent in enumerate(sentences):
        mine = [w for w in windows if w.sentence == s_index]
        assert len(mine) > 1  # split, not truncated
        assert sum(w.n_words for w in mine) == len(sent.words)  # every word exactly once
        for w in mine:
            assert len(w.input_ids) <= 12
            assert w.input_ids[0] == tokenizer.cls_token_id and w.input_ids[-1] == tokenizer.sep_token_id
            labelled = [label for label in w.labels if label != -100]
            assert labelled == [label_ids[t] for t in sent.tags[w.first_word : w.first_word + w.n_words]]
    # the label sits on the first sub-token of each word; the rest are ignored
    one = tokenize_windows([sentences[0]], tokenizer, label_ids, max_length=128)[0]
    first_word_pieces = len(tokenizer(sentences[0].words[0], add_special_tokens=False)["input_ids"])
    assert one.labels[1] == label_ids["B-DS"] and one.labels[2 : 1 + first_word_pieces] == [-100] * (
        first_word_pieces - 1
    )


def _fold_dir(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("배 X B-BD\n\n열 X B-ST\n", encoding="utf-8")
    return folder


def test_fold_files_by_their_common_names(tmp_path):
    folder = _fold_dir(
        tmp_path / "a",
        [
            "train_NER1.txt",
            "eval_NER1.txt",
            "train_NER2.txt",
            "test_NER2.txt",
            "train_NER3.txt",
            "dev_NER3.txt",
            "README.md",
        ],
    )
    assert [(t.name, e.name) for t, e in fold_files(folder)] == [
        ("train_NER1.txt", "eval_NER1.txt"),
        ("train_NER2.txt", "test_NER2.txt"),
        ("train_NER3.txt", "dev_NER3.txt"),
    ]
    assert [f.index for f in load_folds(folder, "kmbert", 5, seed=1)] == [1, 2, 3]
    two_digits = _fold_dir(tmp_path / "b", [f"{kind}_set{i}.txt" for i in range(1, 11) for kind in ("train", "eval")])
    assert [t.name for t, _ in fold_files(two_digits)][-1] == "train_set10.txt"


@pytest.mark.parametrize(
    "names, message",
    [
        (["train_x1.txt", "eval_x1.txt", "train_x2.txt"], "fold 2: train_x2.txt has no eval_/test_/dev_ partner"),
        (["train_x1.txt", "eval_x1.txt", "test_x2.txt"], "fold 2: test_x2.txt has no train_ partner"),
        (["train1.txt", "eval1.txt", "train3.txt", "eval3.txt"], r"missing \[2\]"),
        (["train_a1.txt", "eval_a1.txt", "test_a1.txt"], "fold 1 has several test files: eval_a1.txt, test_a1.txt"),
        (["notes.txt"], "no fold files"),
    ],
)
def test_fold_names_that_do_not_pair_are_one_clear_error(tmp_path, names, message):
    folder = _fold_dir(tmp_path / "folds", names)
    with pytest.raises(KmbError, match=message) as info:
        load_folds(folder, "kmbert", 5, seed=1)
    assert str(info.value).startswith(str(folder))


def _sentence(words: str, doc: str):
    from kmb.evaluation.ner_data import NerSentence

    return NerSentence(words.split(), ["O"] * len(words.split()), doc)


def test_leaks_counted_and_dropped():
    train = [
        _sentence("두통이 심하다", "a"),
        _sentence("열이 난다", "b"),
        _sentence("배가 아프다", "c"),
        _sentence("열이 난다", "d"),
    ]
    test = [
        _sentence("열이 난다", "x"),
        _sentence("기침을 한다", "y"),
        _sentence("두통이 심하다", "z"),
        _sentence("두통이", "w"),
    ]
    fold = NerFold(1, train, test)
    assert leaked_test_sentences(fold) == [0, 2]  # same word sequence; a shorter sentence is not a leak
    assert fold_leaks(fold) == {"fold": 1, "leaked": 2, "n_test": 4, "share": 0.5}
    kept, dropped = drop_leaks(fold)
    assert dropped == 3 and [s.doc for s in kept.train] == ["c"] and kept.test == test
    assert fold_leaks(kept)["leaked"] == 0
    with pytest.raises(KmbError, match="nothing to train on"):
        drop_leaks(NerFold(2, [_sentence("열이 난다", "a")], [_sentence("열이 난다", "b")]))


def test_windows_with_the_label_on_every_subtoken(tiny_models):
    from kmb.vocab.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tiny_models[0])
    sentence = read_ner(SAMPLE, "kmbert")[0]
    label_ids = {"O": 0, "B-BD": 1, "I-BD": 1, "B-DS": 2, "I-DS": 2, "B-ST": 3, "I-ST": 3}
    first, every = (
        tokenize_windows([sentence], tokenizer, label_ids, 128, every_subtoken=flag)[0] for flag in (False, True)
    )
    assert first.input_ids == every.input_ids and first.spans == every.spans
    assert len(every.spans) == len(sentence.words) and every.spans[0][0] == 1
    for (start, end), tag in zip(every.spans, sentence.tags):
        assert every.labels[start:end] == [label_ids[tag]] * (end - start)
        assert first.labels[start:end] == [label_ids[tag]] + [-100] * (end - start - 1)
    assert every.labels[0] == every.labels[-1] == -100
