"""Faults of the disk and the workspace, injected the way SQLite's tests inject them (issue 29).

Every write kmb makes is committed by an fsync before its rename, so a patched ``os.fsync`` that
raises is a disk that fills up (or turns read-only) at the worst moment: after the data is written,
before it is in place. For each command that writes, the fault must give one line and exit 1,
leave every earlier output byte for byte as it was, and a re-run once the fault is gone must give
the same workspace as a run that never failed.
"""

from __future__ import annotations

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

# Each command that writes, in pipeline order; each runs on the workspace the ones before it made.
COMMANDS = [
    ("corpus add", ["corpus", "add", str(SAMPLES / "textbooks"), "--source", "textbook"]),
    ("terms import", ["terms", "import", str(SAMPLES / "terms" / "medical_terms.tsv"), "--source", "custom"]),
    ("corpus build", ["corpus", "build", "--seed", "1", "--workers", "1"]),
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
            "mlm",
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
    ("evaluate report", ["evaluate", "report"]),
]
SKIP = {".locks", ".corpus-build.lock", "kmb.duckdb"}  # lock files and the views, remade by any command


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not (set(p.relative_to(root).parts) & SKIP)
    }


def _digest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest()[:16] for name, data in files.items()}


def _content(root: Path) -> dict[str, object]:
    """What a run produced, without the parts that differ between equal runs (part file names,
    import and build times): the rows of each folder's tables, and the other files' text."""
    content: dict[str, object] = {}
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
        elif path.suffix not in {".json", ".jsonl", ".md"} and path.name != "training_args.bin":
            # reports carry timings and dates; the Trainer's pickled arguments, the workspace path
            content[str(rel)] = path.read_bytes()
    return content


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Workspaces made once: prepared[i] has commands 0..i-1 run cleanly (prepared[0] is empty)."""
    from kmb.cli import main
    from kmb.workspace import Workspace

    root = tmp_path_factory.mktemp("faults")
    ws = Workspace.open(root / "ws").root
    made = [root / "before-0"]
    shutil.copytree(ws, made[-1], symlinks=True)
    for _name, args in COMMANDS:
        assert _run(main, ["-w", str(ws)], args) == 0
        made.append(root / f"before-{len(made)}")
        shutil.copytree(ws, made[-1], symlinks=True)
    return made


def _run(main, workspace_args, args) -> int:
    import sys

    argv = sys.argv
    ws = workspace_args[-1]  # "{ws}" in an argument: a path inside this workspace copy
    sys.argv = ["kmb", *(arg.replace("{ws}", ws) for arg in args), *workspace_args]
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

    name, args = COMMANDS[index]
    ws = tmp_path / "ws"
    shutil.copytree(prepared[index], ws, symlinks=True)  # every earlier command's outputs
    before = _digest(_files(ws))
    clean = _content(prepared[index + 1])  # what this command makes when nothing fails

    def full_disk(fd):
        raise OSError(fault, os.strerror(fault))

    monkeypatch.setattr(os, "fsync", full_disk)
    code = _run(main, ["-w", str(ws)], args)
    out, err = capsys.readouterr()
    monkeypatch.undo()
    assert code == 1, f"{name}: exit {code}"
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and lines[-1].startswith("kmb: error: ") and err.count("kmb: error") == 1, err
    assert "Traceback" not in err  # progress lines may come before the error, nothing after it
    assert ("no space left" if fault == errno.ENOSPC else "read-only") in lines[-1]
    assert _digest(_files(ws)) == before, f"{name}: the fault changed earlier outputs"

    assert _run(main, ["-w", str(ws)], args) == 0
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
