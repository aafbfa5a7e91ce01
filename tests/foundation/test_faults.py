"""Faults of the disk and the workspace, injected the way SQLite's tests inject them (issue 29).

Every write kmb makes is committed by an fsync before its rename, so a patched ``os.fsync`` that
raises is a disk that fills up (or turns read-only) at the worst moment: after the data is written,
before it is in place. For each command that writes, the fault must give one line and exit 1,
leave every earlier output byte for byte as it was, and a re-run once the fault is gone must give
the same workspace as a run that never failed.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kmb.errors import KmbError
from kmb.faults import as_kmb_error
from kmb.quickstart import BASE_VOCAB, SAMPLES

FINETUNE = ["--grid", "5e-5:1", "--batch-size", "16", "--max-length", "32", "--device", "cpu"]
# Each command that writes, in pipeline order; each runs on the workspace the ones before it made.
COMMANDS = [
    ("corpus add", ["corpus", "add", str(SAMPLES / "textbooks"), "--source", "textbook"]),
    ("terms import", ["terms", "import", str(SAMPLES / "terms" / "medical_terms.tsv"), "--source", "custom"]),
    ("corpus build", ["corpus", "build", "--seed", "42", "--workers", "1"]),  # 3 documents per split: NSP pairs
    ("terms count", ["terms", "count", "--workers", "1"]),
    ("vocab build", ["vocab", "build", "--base-vocab", str(BASE_VOCAB), "--min-count", "1"]),
    ("corpus export", ["corpus", "export", "--format", "txt", "--split", "all"]),
    ("corpus stats", ["corpus", "stats"]),
    ("evaluate make-pairs", ["evaluate", "make-pairs", "--per-type", "3", "--split", "all", "--min-chars", "5"]),
    (
        "pretrain",
        [
            "pretrain",
            "--config",
            "tiny",
            "--objective",
            "mlm+nsp",  # both heads: evaluate mlm and nsp read the model
            "--output",
            "tiny",
            "--max-steps",
            "2",
            "--batch-size",
            "8",
            "--precision",
            "fp32",
            "--lr",
            "1e-3",
            "--dataloader-workers",
            "0",
        ],
    ),
    ("evaluate mlm", ["evaluate", "mlm", "--model", "tiny", "--data", "{ws}/eval/pairs.tsv", "--repeats", "1"]),
    ("evaluate nsp", ["evaluate", "nsp", "--model", "tiny", "--data", "{ws}/eval/pairs.tsv"]),
    (
        "vocab extend-model",
        [
            "vocab",
            "extend-model",
            "--model",
            "{ws}/models/tiny",
            "--vocab",
            "{ws}/vocab/medical",
            "--out",
            "{ws}/models/tiny-extended",
        ],
    ),
    # Fine-tuning as small as it gets (a few items, one epoch, one setting): each case runs it five times.
    ("evaluate ner", ["evaluate", "ner", "--model", "tiny", "--data", "{data}/ner", *FINETUNE]),
    (
        "evaluate sts",
        [
            "evaluate",
            "sts",
            "--model",
            "tiny",
            "--train",
            str(SAMPLES / "sts" / "medical_sts_train.tsv"),
            "--test",
            str(SAMPLES / "sts" / "medical_sts_test.tsv"),
            "--max-train",
            "12",
            "--max-test",
            "6",
            "--no-six-class",
            *FINETUNE,
        ],
    ),
    (
        "evaluate classify",
        [
            "evaluate",
            "classify",
            "--model",
            "tiny",
            "--train",
            "{data}/classify_train.tsv",
            "--test",
            "{data}/classify_test.tsv",
            "--seeds",
            "1",
            "--predictions-out",  # a file beside the run folder, committed before it
            "{ws}/classify-predictions.tsv",
            *FINETUNE,
        ],
    ),
    ("evaluate report", ["evaluate", "report"]),
    ("views", ["views"]),
    # `kmb deid` takes no workspace: its files are named inside the workspace copy.
    ("deid sample", ["deid", "sample", "--out", "{ws}/notes.jsonl", "--notes", "12"]),
    ("deid run", ["deid", "run", "{ws}/notes.jsonl", "--out", "{ws}/notes-deid.csv", "--workers", "1"]),
]
NO_WORKSPACE = {"vocab extend-model", "deid sample", "deid run"}  # they take paths, no workspace
SKIP = {".locks", ".corpus-build.lock", "kmb.duckdb"}  # lock files and the views, remade by any command


def _files(root: Path, keep: set[str] = frozenset()) -> dict[str, bytes]:
    skip = SKIP - keep
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not (set(p.relative_to(root).parts) & skip)
    }


def _digest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest()[:16] for name, data in files.items()}


def _content(root: Path) -> dict[str, object]:
    """What a run produced, without the parts that differ between equal runs (part file names,
    import and build times): the rows of each folder's tables, and the other files' text."""
    content: dict[str, object] = {"views": _views(root)}

    def stage_lines(rel: Path) -> bool:
        return rel.suffix == ".jsonl" and len(rel.parts) > 1

    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or set(rel.parts) & SKIP or rel.name.startswith("."):
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            keep = [n for n in table.column_names if not pa.types.is_timestamp(table.schema.field(n).type)]
            rows = content.setdefault(str(rel.parent), [])
            rows.extend(json.dumps(r, sort_keys=True, default=str) for r in table.select(keep).to_pylist())
            rows.sort()
        elif path.suffix == ".csv":  # the evaluation tables: without the seconds each fold took
            with open(path, encoding="utf-8", newline="") as handle:
                content[str(rel)] = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]
        elif path.suffix not in {".json", ".md"} and path.name != "training_args.bin" and not stage_lines(rel):
            # reports (and the stages' JSON lines) carry timings and dates; the Trainer's pickled
            # arguments, the workspace path; the notes `kmb deid sample` writes are compared
            content[str(rel)] = path.read_bytes()
    return content


def _views(root: Path) -> list[str]:
    """The views kmb.duckdb holds (its bytes differ between equal runs)."""
    import duckdb

    if not (root / "kmb.duckdb").exists():
        return []
    con = duckdb.connect(str(root / "kmb.duckdb"), read_only=True)
    try:
        return sorted(
            row[0] for row in con.execute("select view_name from duckdb_views() where not internal").fetchall()
        )
    finally:
        con.close()


def _write_eval_data(folder: Path) -> Path:
    """A dozen NER sentences and a few classification pairs from the samples: the least that trains."""
    folder.mkdir()
    blocks = (SAMPLES / "ner" / "medical_ner_sample.txt").read_text(encoding="utf-8").split("\n\n")
    sentences = [b.strip() for b in blocks if b.strip() and not b.startswith("-DOCSTART-")]  # each its own document
    (folder / "ner").mkdir()  # one fold given as files: one training run, not --folds of them
    (folder / "ner" / "train1.txt").write_text("\n\n".join(sentences[:6]) + "\n", encoding="utf-8")
    (folder / "ner" / "eval1.txt").write_text("\n\n".join(sentences[6:10]) + "\n", encoding="utf-8")
    for name, rows in (("train", 13), ("test", 7)):
        lines = (SAMPLES / "classify" / f"medical_paraphrase_{name}.tsv").read_text(encoding="utf-8").splitlines()
        (folder / f"classify_{name}.tsv").write_text("\n".join(lines[:rows]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """As tests/training does: tiny models run fastest on one thread, and a busy shared machine
    does not make a second one spin (this suite has a minute of `make test`)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, one_torch_thread):
    """Workspaces made once: prepared[i] has commands 0..i-1 run cleanly (prepared[0] is empty),
    and the folder of the evaluation files."""
    from kmb.cli import main
    from kmb.workspace import Workspace

    root = tmp_path_factory.mktemp("faults")
    data = _write_eval_data(root / "data")
    ws = Workspace.open(root / "ws").root
    made = [root / "before-0"]
    shutil.copytree(ws, made[-1], symlinks=True)
    for name, args in COMMANDS:
        assert _run(main, ws, data, name, args) == 0, name
        made.append(root / f"before-{len(made)}")
        shutil.copytree(ws, made[-1], symlinks=True)
    return made, data


def _run(main, ws: Path, data: Path, name: str, args: list[str]) -> int:
    import sys

    argv = sys.argv
    # "{ws}" in an argument: a path inside this workspace copy; "{data}": the evaluation files
    args = [arg.replace("{ws}", str(ws)).replace("{data}", str(data)) for arg in args]
    sys.argv = ["kmb", *args, *([] if name in NO_WORKSPACE else ["-w", str(ws)])]
    try:
        main()
        return 0
    except SystemExit as exc:
        return exc.code or 0
    finally:
        sys.argv = argv


@pytest.mark.parametrize("fault", [errno.ENOSPC, errno.EROFS])
@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=[name for name, _ in COMMANDS])
def test_a_failing_disk_gives_one_line_keeps_earlier_outputs_and_a_rerun_equals_a_clean_run(
    prepared, tmp_path, monkeypatch, capsys, index, fault
):
    from kmb.cli import main

    made, data = prepared
    name, args = COMMANDS[index]
    ws = tmp_path / "ws"
    shutil.copytree(made[index], ws, symlinks=True)  # every earlier command's outputs
    views_file = {"kmb.duckdb"} if name == "views" else set()  # what `kmb views` must not have replaced
    before = _digest(_files(ws, views_file))
    clean = _content(made[index + 1])  # what this command makes when nothing fails

    def full_disk(fd):
        raise OSError(fault, os.strerror(fault))

    monkeypatch.setattr(os, "fsync", full_disk)
    code = _run(main, ws, data, name, args)
    out, err = capsys.readouterr()
    monkeypatch.undo()
    assert code == 1, f"{name}: exit {code}"
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and lines[-1].startswith("kmb: error: ") and err.count("kmb: error") == 1, err
    assert "Traceback" not in err  # progress lines may come before the error, nothing after it
    assert ("no space left" if fault == errno.ENOSPC else "read-only") in lines[-1]
    assert f"kmb: error: {ws}" in lines[-1], lines[-1]  # the folder where the write failed
    if fault == errno.ENOSPC:  # and how much it was writing
        assert " to write: no space left" in lines[-1], lines[-1]
    assert _digest(_files(ws, views_file)) == before, f"{name}: the fault changed earlier outputs"

    assert _run(main, ws, data, name, args) == 0
    capsys.readouterr()
    assert _content(ws) == clean, f"{name}: a re-run after the fault differs from a clean run"


def test_faults_become_lines_naming_the_file(tmp_path):
    error = as_kmb_error(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.parquet")))
    assert isinstance(error, KmbError) and "no space left" in str(error) and "x.parquet" in str(error)
    error = as_kmb_error(PermissionError(errno.EACCES, "Permission denied", "/ro/raw"))
    assert "permission denied" in str(error) and "/ro/raw" in str(error)
    error = as_kmb_error(NotADirectoryError(errno.ENOTDIR, "Not a directory", "/etc/passwd/raw"))
    assert "not a folder" in str(error)


def test_a_truncated_parquet_file_is_named_as_damaged(tmp_path):
    import duckdb

    path = tmp_path / "part-1.parquet"
    pq.write_table(pa.table({"text": ["가나다"] * 100}), path)
    path.write_bytes(path.read_bytes()[:-20])
    for read in (
        lambda: pq.read_table(path),
        lambda: duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall(),
    ):
        with pytest.raises(Exception) as caught:
            read()
        error = as_kmb_error(caught.value)
        assert error is not None and "damaged" in str(error), repr(caught.value)


def test_damaged_json_and_weights_and_wrong_encodings_are_lines(tmp_path):
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads('{"steps": ')
    assert "damaged" in str(as_kmb_error(caught.value))
    with pytest.raises(UnicodeDecodeError) as caught:
        "환자".encode("cp949").decode("utf-8")
    line = str(as_kmb_error(caught.value))
    assert "not UTF-8" in line and "0x" not in line
    import torch
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(64)}, str(weights))
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(Exception) as caught:
        load_file(str(weights))
    assert "weights file is damaged" in str(as_kmb_error(caught.value))


def test_a_bug_keeps_its_traceback():
    assert as_kmb_error(ValueError("a bug")) is None
    assert as_kmb_error(KeyError("text")) is None
    assert as_kmb_error(FileNotFoundError(errno.ENOENT, "No such file", "x")) is None
