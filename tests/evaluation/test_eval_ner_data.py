"""NER formats, folds by document, windows, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.ner_data import (
    documents,
    folds_by_document,
    label_list,
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
    assert [s.words for s in sentences] == [["급성", "충수염으로", "입원했다."], ["두통이", "심하다."], ["배가", "아프다."]]
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
    path.write_text("## 주석\n## s1\t<김:PS>씨\n김\tB-PS\n씨\tO\n \tO\n왔\tO\n\n## s2\t<서울 역:LC>\n서\tB-LC\n울\tI-LC\n \tI-LC\n역\tI-LC\n", encoding="utf-8")
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
            labelled = [l for l in w.labels if l != -100]
            assert labelled == [label_ids[t] for t in sent.tags[w.first_word : w.first_word + w.n_words]]
    # the label sits on the first sub-token of each word; the rest are ignored
    one = tokenize_windows([sentences[0]], tokenizer, label_ids, max_length=128)[0]
    first_word_pieces = len(tokenizer(sentences[0].words[0], add_special_tokens=False)["input_ids"])
    assert one.labels[1] == label_ids["B-DS"] and one.labels[2 : 1 + first_word_pieces] == [-100] * (first_word_pieces - 1)
