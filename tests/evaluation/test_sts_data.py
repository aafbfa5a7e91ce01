"""STS formats: KorSTS, MedSTS, KLUE-STS parsing and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmb.errors import KmbError
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
    [
        ("g\tf\ty\t1\t5.5\t가\t나\n", "outside 0-5"),
        ("g\tf\ty\t1\t-0.1\t가\t나\n", "outside 0-5"),
        ("g\tf\ty\t1\tabc\t가\t나\n", "not a number"),
        ("g\tf\t1\t3\t가\t나\n", "7 tab-separated"),
    ],
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
        {
            "guid": "a",
            "sentence1": "숙소가 깨끗했다.",
            "sentence2": "방이 청결했다.",
            "labels": {"label": 3.7, "real-label": 3.714, "binary-label": 1},
        },
        {"guid": "b", "sentence1": "가", "sentence2": "나", "labels": {"label": 0.0}},
    ]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert [p.score for p in read_sts(path, "klue")] == [3.714, 0.0]
