"""STS formats and PAIRS files: parsing, make-pairs from a corpus, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.pairs import make_pairs, read_pairs
from kmb.evaluation.sts_data import read_sts

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HEADER = "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"


def test_bundled_sts_sample():
    train = read_sts(SAMPLES / "sts" / "medical_sts_train.tsv", "korsts")
    test = read_sts(SAMPLES / "sts" / "medical_sts_test.tsv", "korsts")
    assert len(train) + len(test) >= 150
    assert all(0.0 <= p.score <= 5.0 for p in train + test)
    assert train[0].sentence1 == "당뇨병 환자는 매일 발 상태를 확인해야 한다."


def test_korsts_real_data(shared_data):
    pairs = read_sts(shared_data / "korsts" / "sts-dev.tsv", "korsts")
    assert len(pairs) == 1500
    assert pairs[0].score == 5.0
    assert pairs[0].sentence1 == "안전모를 가진 한 남자가 춤을 추고 있다."


def test_korsts_quotes_are_not_csv_quoting(tmp_path):
    path = tmp_path / "sts.tsv"
    path.write_text(HEADER + 'g\tf\ty\t1\t3.5\t"약"을 먹었다.\t그는 "약"을 먹었다\n', encoding="utf-8")
    assert read_sts(path, "korsts")[0].sentence1 == '"약"을 먹었다.'


@pytest.mark.parametrize(
    "row, message",
    [("g\tf\ty\t1\t5.5\t가\t나\n", "outside 0-5"), ("g\tf\ty\t1\t-0.1\t가\t나\n", "outside 0-5"), ("g\tf\ty\t1\tabc\t가\t나\n", "not a number"), ("g\tf\t1\t3\t가\t나\n", "7 tab-separated")],
)
def test_korsts_bad_rows(tmp_path, row, message):
    path = tmp_path / "sts.tsv"
    path.write_text(HEADER + "g\tf\ty\t0\t1.0\t가\t다\n" + row, encoding="utf-8")
    with pytest.raises(KmbError, match=message) as info:
        read_sts(path, "korsts")
    assert info.value.line == 3 and str(info.value).startswith(str(path))


def test_medsts_cp949_csv_splits(tmp_path):
    path = tmp_path / "medsts.csv"
    rows = 'id,split,x,score,s1,s2\n1,train,a,4.5,"두통이 심하다.","머리가 몹시 아프다."\n2,test,b,1.0,열이 난다.,배가 아프다.\n3,train,c,0,기침을 한다.,발목이 부었다.\n'
    path.write_bytes(rows.encode("cp949"))
    train = read_sts(path, "medsts", "train")
    test = read_sts(path, "medsts", "test")
    assert [p.score for p in train] == [4.5, 0.0]
    assert test[0].sentence2 == "배가 아프다."
    path.write_bytes((rows + "4,train,d,6,가,나\n").encode("cp949"))
    with pytest.raises(KmbError, match="outside 0-5") as info:
        read_sts(path, "medsts", "train")
    assert info.value.line == 5


def test_klue_sts_json(tmp_path):
    path = tmp_path / "klue-sts.json"
    records = [
        {"guid": "a", "sentence1": "숙소가 깨끗했다.", "sentence2": "방이 청결했다.", "labels": {"label": 3.7, "real-label": 3.714, "binary-label": 1}},
        {"guid": "b", "sentence1": "가", "sentence2": "나", "labels": {"label": 0.0}},
    ]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert [p.score for p in read_sts(path, "klue")] == [3.714, 0.0]


def test_pairs_reading_and_errors(tmp_path):
    pairs = read_pairs(SAMPLES / "pairs" / "medical_pairs.tsv")
    assert {p.type for p in pairs} == {"textbook", "news", "article"}
    bad = tmp_path / "pairs.tsv"
    bad.write_text("type\tsentence1\tsentence2\nnews\t가\n", encoding="utf-8")
    with pytest.raises(KmbError, match="3 tab-separated columns") as info:
        read_pairs(bad)
    assert info.value.line == 2
    bad.write_text("kind\ts1\ts2\n", encoding="utf-8")
    with pytest.raises(KmbError, match="header"):
        read_pairs(bad)


def _write_corpus(workspace):
    from kmb.storage import SENTENCES, write_rows

    def row(doc, source, idx, text, split="valid"):
        return {"doc_id": doc, "source": source, "sent_idx": idx, "text": text, "n_chars": len(text), "n_words": len(text.split()), "split": split}

    rows = [
        row("n1", "naver_health", 0, "겨울철에는 독감 환자가 크게 늘어난다고 한다."),
        row("n1", "naver_health", 1, "전문가들은 예방접종을 서둘러 맞으라고 권했다."),
        row("n1", "naver_health", 3, "손을 자주 씻는 것도 중요한 예방 수칙이라고 한다."),  # gap: 2 was removed
        row("k1", "kci", 0, "본 연구는 노인 환자의 낙상 위험 요인을 분석하였다."),
        row("k1", "kci", 1, "대상자는 종합병원에 입원한 예순 명의 노인이었다."),
        row("k1", "kci", 2, "짧다."),
        row("t1", "textbook", 0, "심장은 온몸으로 혈액을 보내는 근육 기관이다.", "train"),
        row("t1", "textbook", 1, "심장은 네 개의 방으로 나뉘어 있는 구조이다.", "train"),
    ]
    write_rows(workspace.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)


def test_make_pairs_from_corpus(workspace, tmp_path):
    _write_corpus(workspace)
    out = tmp_path / "pairs.tsv"
    counts = make_pairs(workspace.corpus / "sentences", out, split="valid", min_chars=10, per_type=10, seed=1)
    assert counts == {"news": 1, "article": 1}  # the gap and the short sentence make no pair
    pairs = read_pairs(out)
    news = [p for p in pairs if p.type == "news"][0]
    assert news.sentence1.startswith("겨울철에는") and news.sentence2.startswith("전문가들은")
    counts_all = make_pairs(workspace.corpus / "sentences", out, split=None, min_chars=10, per_type=10, seed=1)
    assert counts_all["textbook"] == 1
    first = out.read_text(encoding="utf-8")
    make_pairs(workspace.corpus / "sentences", out, split=None, min_chars=10, per_type=10, seed=1)
    assert out.read_text(encoding="utf-8") == first  # same seed, same file
    with pytest.raises(KmbError, match="no consecutive sentence pairs"):
        make_pairs(workspace.corpus / "sentences", tmp_path / "none.tsv", min_chars=500)
    assert not (tmp_path / "none.tsv").exists()  # nothing half-written


def test_cli_make_pairs_default_path(workspace):
    from typer.testing import CliRunner

    from kmb.cli import app

    _write_corpus(workspace)
    result = CliRunner().invoke(app, ["evaluate", "make-pairs", "--workspace", str(workspace.root), "--min-chars", "10"])
    assert result.exit_code == 0, result.output
    assert "total" in result.output
    assert len(read_pairs(workspace.root / "eval" / "pairs.tsv")) == 2


def test_resolve_models(tmp_path):
    from kmb.evaluation.results import resolve_models

    (tmp_path / "m1").mkdir()
    (tmp_path / "m1" / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "models" / "m2").mkdir(parents=True)
    (tmp_path / "models" / "m2" / "config.json").write_text("{}", encoding="utf-8")
    refs = resolve_models([str(tmp_path / "m1"), "KM=m2"], tmp_path / "models")
    assert [(r.name, r.path.name) for r in refs] == [("m1", "m1"), ("KM", "m2")]
    with pytest.raises(KmbError, match="share a label"):
        resolve_models([str(tmp_path / "m1"), str(tmp_path / "m1")])
    with pytest.raises(KmbError, match="model directory not found"):
        resolve_models([str(tmp_path / "nope")])
    with pytest.raises(KmbError, match="at least one --model"):
        resolve_models([])
