"""The storage contract: atomic writes of files and directories, schemas, stored doc ids."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from kmb import storage


def _doc(i: int) -> dict:
    return {
        "doc_id": f"test:{i}",
        "source": "test",
        "url": f"http://127.0.0.1/{i}",
        "title": f"제목 {i}",
        "text": "고혈압은 흔한 질환이다.\n두 번째 문단.",
        "language": "ko",
        "published_at": datetime(2015, 3, 1, 9, 0, tzinfo=timezone.utc),
        "crawled_at": datetime.now(timezone.utc),
    }


def test_sink_writes_row_groups_with_zstd(tmp_path):
    path = tmp_path / "docs.parquet"
    with storage.ParquetSink(path, storage.DOCUMENTS, row_group_rows=10) as sink:
        sink.write_rows(_doc(i) for i in range(25))
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 25
    assert meta.num_row_groups == 3
    assert meta.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(path)
    assert table.schema.equals(storage.DOCUMENTS)
    assert table.column("title")[3].as_py() == "제목 3"


def test_failed_write_leaves_nothing_and_keeps_old_file(tmp_path):
    path = tmp_path / "docs.parquet"
    storage.write_rows(path, [_doc(0)], storage.DOCUMENTS)
    with pytest.raises(RuntimeError):
        with storage.ParquetSink(path, storage.DOCUMENTS) as sink:
            sink.write_rows(_doc(i) for i in range(5))
            raise RuntimeError("killed")
    assert pq.read_table(path).num_rows == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.parquet"]


def test_killed_writer_leaves_no_parquet_file(tmp_path):
    # A real SIGKILL in the middle of writing: readers must not find a .parquet file.
    script = f"""
import os, signal
from kmb import storage
sink = storage.ParquetSink({str(tmp_path / "x.parquet")!r}, storage.TERM_FREQ, row_group_rows=100)
sink.write_rows({{"term": "고혈압", "count": i, "doc_freq": 1, "mode": "word-start"}} for i in range(1000))
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode != 0
    assert list(tmp_path.glob("*.parquet")) == []
    assert len(list(tmp_path.glob(".*.tmp"))) == 1  # hidden, ignored by readers


def test_schema_mismatch_is_an_error(tmp_path):
    with pytest.raises(Exception):  # noqa: B017  (pyarrow raises ArrowInvalid or TypeError by version)
        storage.write_rows(tmp_path / "bad.parquet", [{"doc_id": None, "source": "x"}], storage.DOCUMENTS)
    assert not (tmp_path / "bad.parquet").exists()


def test_cli_version_and_views(tmp_path):
    env = dict(os.environ, KMB_WORKSPACE=str(tmp_path / "ws"))
    out = subprocess.run([sys.executable, "-m", "kmb", "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("kmb ")
    out = subprocess.run([sys.executable, "-m", "kmb", "views"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "ws" / "kmb.duckdb").exists()


def test_installed_as_one_package(tmp_path):
    # No top-level `corpus` or `training` may land in site-packages: only kmb.*.
    code = (
        "import importlib.util as u;"
        "assert u.find_spec('corpus') is None and u.find_spec('training') is None;"
        "assert u.find_spec('kmb.corpus') and u.find_spec('kmb.training') and u.find_spec('kmb.cli')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_atomic_dir_replaces_the_target_only_when_done(tmp_path):
    target = tmp_path / "models" / "m"
    with storage.atomic_dir(target) as tmp:
        (tmp / "config.json").write_text("{}")
        assert not target.exists()  # nothing visible until the block ends
    assert (target / "config.json").read_text() == "{}"

    with storage.atomic_dir(target) as tmp:
        (tmp / "weights").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["weights"]  # the old directory is gone whole
    assert sorted(p.name for p in target.parent.iterdir()) == ["m"]  # no temporaries left


def test_failed_atomic_dir_keeps_the_old_directory(tmp_path):
    target = tmp_path / "vocab"
    with storage.atomic_dir(target) as tmp:
        (tmp / "vocab.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with storage.atomic_dir(target) as tmp:
            (tmp / "vocab.txt").write_text("half")
            raise RuntimeError("killed")
    assert (target / "vocab.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocab"]


def test_a_kill_between_the_two_renames_is_recovered_at_workspace_open(tmp_path, monkeypatch):
    from kmb.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    target = ws.vocab("medical")
    with storage.atomic_dir(target) as tmp:
        (tmp / "vocab.txt").write_text("old")
    real_replace, calls = os.replace, []

    def killed_on_second_rename(src, dst):
        calls.append(src)
        if len(calls) == 2:  # the old directory is already moved aside: the state a kill leaves
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", killed_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        with storage.atomic_dir(target) as tmp:
            (tmp / "vocab.txt").write_text("new")
    monkeypatch.setattr(storage.os, "replace", real_replace)
    assert not target.exists()
    assert [p.name.endswith(".old") for p in target.parent.iterdir()] == [True]

    Workspace.open(ws.root)
    assert (target / "vocab.txt").read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["medical"]


def test_recover_dirs_drops_a_replaced_copy_and_keeps_the_live_one(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w").write_text("new")
    (tmp_path / ".m.1234abcd.old").mkdir()
    assert storage.recover_dirs(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert (tmp_path / "m" / "w").read_text() == "new"


def test_sql_string_doubles_quotes_so_duckdb_reads_the_path_back(tmp_path):
    import duckdb

    folder = tmp_path / "o'brien's ws"
    assert storage.sql_string(folder) == "'" + folder.as_posix().replace("'", "''") + "'"
    con = duckdb.connect()
    try:
        assert con.execute(f"select {storage.sql_string(folder)}").fetchone()[0] == folder.as_posix()
    finally:
        con.close()
