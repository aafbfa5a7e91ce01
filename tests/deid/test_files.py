"""`kmb deid run`: rows in, the same rows out, in order, every field kept; bad input loses nothing."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kmb.deid.synthetic_notes import make_notes

ROWS = [
    {"note_id": "A-1", "dept": "내과", "text": "환자명: 김민수\n연락처 010-1234-5678로 연락. 고혈압 환자."},
    {"note_id": "A-2", "dept": "외과", "text": "보호자 이영희(딸) 02-123-4567. 주민등록번호 900101-1234567"},
    {"note_id": "A-3", "dept": "내과", "text": "정상 소견. BP 120/80."},
]
VALUES = ["김민수", "010-1234-5678", "이영희", "02-123-4567", "900101-1234567"]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def assert_no_values(*outputs):
    for output in outputs:
        assert not any(v in output for v in VALUES), "an identifier value reached the terminal"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_rows_keep_their_fields_and_order_in_every_format(tmp_path, run_kmb, suffix):
    source = tmp_path / f"notes{suffix}"
    if suffix == ".jsonl":
        write_jsonl(source, ROWS)
    elif suffix == ".csv":
        with open(source, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
            writer.writeheader()
            writer.writerows(ROWS)
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), source)
    out = tmp_path / f"clean{suffix}"
    code, stdout, stderr = run_kmb("deid", "run", source, "--out", out, "--workers", "1")
    assert code == 0, stderr
    assert_no_values(stdout, stderr)
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    elif suffix == ".csv":
        rows = [dict(r, phi=json.loads(r["phi"])) for r in csv.DictReader(out.open(encoding="utf-8", newline=""))]
    else:
        rows = pq.read_table(out).to_pylist()
    assert [r["note_id"] for r in rows] == ["A-1", "A-2", "A-3"]
    assert [r["dept"] for r in rows] == ["내과", "외과", "내과"]
    assert rows[0]["text"] == "환자명: [NAME]\n연락처 [PHONE]로 연락. 고혈압 환자."
    assert rows[2]["text"] == ROWS[2]["text"] and rows[2]["phi"] == []
    original = ROWS[1]["text"]
    assert [(original[p["start"] : p["end"]], p["type"]) for p in rows[1]["phi"]] == [
        ("이영희", "NAME"),
        ("02-123-4567", "PHONE"),
        ("900101-1234567", "RRN"),
    ]
    assert_no_values(
        out.read_text(encoding="utf-8", errors="replace")
        if suffix != ".parquet"
        else json.dumps(rows, ensure_ascii=False)
    )


def test_many_rows_through_worker_processes_stay_in_order(tmp_path, run_kmb):
    notes = list(make_notes(700, seed=5))
    source = write_jsonl(tmp_path / "notes.jsonl", notes)
    out = tmp_path / "clean.jsonl"
    code, _, stderr = run_kmb("deid", "run", source, "--out", out, "--workers", "2", "--text-field", "text")
    assert code == 0, stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [n["id"] for n in notes]
    for note, row in zip(notes, rows):
        for span in note["phi"]:
            assert note["text"][span["start"] : span["end"]] not in row["text"] or span["type"] == "NAME"


@pytest.mark.parametrize(
    "content,message",
    [
        (b'{"id": 1, "text": "ok"}\n{"id": 2, "body": "x"}\n', "2: row has no text field 'text'"),
        ('{"text": "김민수님"}\n'.encode("cp949"), "1: not UTF-8 text"),
        (b"", "no rows: the file is empty"),
        (b'{"text": "ok"}\n{"text": \n', "2: not valid JSON"),
        (b'{"text": 3}\n', "1: row has a int in the text field"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_nothing_written(tmp_path, run_kmb, content, message):
    source = tmp_path / "notes.jsonl"
    source.write_bytes(content)
    out = tmp_path / "clean.jsonl"
    code, stdout, stderr = run_kmb("deid", "run", source, "--out", out, "--workers", "1")
    assert code == 1
    assert len(stderr.strip().splitlines()) == 1 and message in stderr, stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["notes.jsonl"]
    assert "김민수" not in stderr


def test_missing_csv_column_and_an_existing_output_folder(tmp_path, run_kmb):
    source = tmp_path / "notes.csv"
    source.write_text("id,body\n1,김민수님\n", encoding="utf-8")
    code, _, stderr = run_kmb("deid", "run", source, "--out", tmp_path / "x.csv")
    assert code == 1 and "no column 'text'" in stderr and not (tmp_path / "x.csv").exists()
    folder = tmp_path / "existing"
    folder.mkdir()
    code, _, stderr = run_kmb("deid", "run", source, "--out", folder.with_suffix(".jsonl"), "--text-field", "body")
    assert code == 0
    (tmp_path / "keep.jsonl").mkdir()
    code, _, stderr = run_kmb("deid", "run", source, "--out", tmp_path / "keep.jsonl", "--text-field", "body")
    assert code == 1 and "must be a new file" in stderr and (tmp_path / "keep.jsonl").is_dir()


def test_a_killed_run_leaves_the_previous_output_untouched(tmp_path):
    source = write_jsonl(tmp_path / "notes.jsonl", list(make_notes(30000, seed=1)))
    out = tmp_path / "clean.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmb", "deid", "run", str(source), "--out", str(out), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith(".clean.jsonl") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert out.read_text(encoding="utf-8") == "previous\n"
