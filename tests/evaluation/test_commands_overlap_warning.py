"""`kmb evaluate` warns when its test data sits in the workspace's pretraining corpus."""

from __future__ import annotations

from kmb.evaluation.commands import warn_about_overlap
from kmb.storage import SENTENCES, write_rows

TEST = [
    "고혈압 환자는 저염식을 유지해야 한다.",
    "당뇨병 환자의 혈당 조절이 중요하다.",
    "천식은 기도의 만성 염증 질환이다.",
]


def test_overlapping_test_items_are_a_warning_and_nothing_else(workspace, tmp_path, capsys):
    data = tmp_path / "test.tsv"
    data.write_text("text\tlabel\n" + "".join(f"{t}\tA\n" for t in TEST), encoding="utf-8")
    assert warn_about_overlap(workspace, [data], "classify", "auto") == 0  # no corpus yet: silent
    assert capsys.readouterr().err == ""
    rows = [dict(doc_id="d", source="news", sent_idx=i, text=t, n_chars=len(t), n_words=len(t.split()), split="train")
            for i, t in enumerate([TEST[1], "다른 문장이다."])]  # fmt: skip
    write_rows(workspace.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)
    assert warn_about_overlap(workspace, [data], "classify", "auto") == 1
    err = capsys.readouterr().err
    assert err.startswith("kmb: warning: 1 of 3 items of ") and "--decontaminate" in err and len(err.splitlines()) == 1


def test_a_folder_of_fold_files_and_the_ner_format_names(workspace, tmp_path, capsys):
    rows = [
        dict(doc_id="d", source="news", sent_idx=0, text="환자 는 고혈압 이다", n_chars=10, n_words=4, split="train")
    ]
    write_rows(workspace.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)
    folds = tmp_path / "folds"
    folds.mkdir()
    (folds / "fold1.txt").write_text("환자 O\n는 O\n고혈압 B-DS\n이다 O\n\n정상 O\n소견 O\n", encoding="utf-8")
    assert warn_about_overlap(workspace, [folds], "ner", "conll") == 1
    assert "1 of 2 items" in capsys.readouterr().err
