"""`kmb deid eval`: span-level figures computed as documented, samples that show no identifier."""

from __future__ import annotations

import json

import pytest

from kmb.deid.files import RunOptions
from kmb.deid.scoring import score_file

TEXT = "성명: 김민수, 연락처 010-1234-5678. 이 환자는 정상. 등록 AB12."


def gold_file(tmp_path, rows):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def span(text, value, kind):
    start = text.index(value)
    return {"start": start, "end": start + len(value), "type": kind}


def test_recall_precision_leaks_and_look_alikes(tmp_path):
    gold = [
        {
            "text": TEXT,
            "phi": [
                span(TEXT, "김민수", "NAME"),
                span(TEXT, "010-1234-5678", "PHONE"),
                span(TEXT, "AB12", "PATIENT_ID"),
            ],
            "keep": [{"start": TEXT.index("정상"), "end": TEXT.index("정상") + 2}],
        }
    ]
    report = score_file(gold_file(tmp_path, gold), RunOptions(), samples=5)
    assert report["per_type"]["NAME"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "gold": 1,
        "found": 1,
        "detected": 1,
        "leaked": 0,
    }
    assert report["per_type"]["PATIENT_ID"]["recall"] == 0.0 and report["per_type"]["PATIENT_ID"]["leaked"] == 1
    assert report["overall"]["recall"] == round(2 / 3, 4) and report["overall"]["precision"] == 1.0
    assert report["look_alikes"] == {"total": 1, "kept": 1, "kept_share": 1.0}
    miss = report["misses"][0]
    assert (miss["type"], miss["start"]) == ("PATIENT_ID", TEXT.index("AB12"))
    assert "AB12" not in miss["context"] and "<<PATIENT_ID>>" in miss["context"] and "<PHONE>" in miss["context"]


def test_a_gold_span_counts_as_found_when_detected_spans_cover_it(tmp_path):
    text = "연락처 010-1234-5678"
    wide = {"start": 0, "end": len(text), "type": "PHONE"}  # the label too: not covered
    exact = span(text, "010-1234-5678", "CONTACT")  # another type name: covered
    report = score_file(
        gold_file(tmp_path, [{"text": text, "phi": [exact]}, {"text": text, "phi": [wide]}]), RunOptions()
    )
    assert report["per_type"]["CONTACT"]["recall"] == 1.0 and report["per_type"]["PHONE"]["recall"] == 0.0


def test_false_alarms_show_their_text_only_when_asked(tmp_path):
    text = "정하윤 환자 입원"  # a name the annotator missed: flagged, counted as a false alarm
    gold = gold_file(tmp_path, [{"text": text, "phi": []}])
    report = score_file(gold, RunOptions())
    assert report["per_type"]["NAME"]["precision"] == 0.0
    alarm = report["false_alarms"][0]
    assert "text" not in alarm and "정하윤" not in alarm["context"] and "<<NAME>>" in alarm["context"]
    assert score_file(gold, RunOptions(), show_false_alarm_text=True)["false_alarms"][0]["text"] == "정하윤"


def test_report_is_written_and_the_cli_prints_figures(tmp_path, run_kmb):
    gold = gold_file(tmp_path, [{"text": TEXT, "phi": [span(TEXT, "김민수", "NAME")]}])
    code, stdout, stderr = run_kmb("deid", "eval", gold)
    assert code == 0, stderr
    written = json.loads((tmp_path / "gold.deid-eval.json").read_text(encoding="utf-8"))
    assert written["per_type"]["NAME"]["recall"] == 1.0 and "NAME" in stdout and "김민수" not in stdout + stderr


@pytest.mark.parametrize(
    "row,message",
    [
        ({"text": "abc"}, "no 'phi' list"),
        ({"text": "abc", "phi": [{"start": 2, "end": 9, "type": "NAME"}]}, "0 <= start < end <= len(text)"),
        ({"text": "abc", "phi": [], "keep": [{"start": "x"}]}, "'keep' span"),
    ],
)
def test_malformed_gold_is_one_line(tmp_path, run_kmb, row, message):
    code, _, stderr = run_kmb("deid", "eval", gold_file(tmp_path, [row]))
    assert code == 1 and message in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "gold.deid-eval.json").exists()
