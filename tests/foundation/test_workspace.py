"""The workspace: layout, DuckDB views, the built corpus's sentence files, run names."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from kmb import storage
from kmb.errors import KmbError
from kmb.workspace import STAGE_FOLDERS, Workspace, check_run_name, sentence_files


def _doc(i: int) -> dict:
    return {"doc_id": f"test:{i}", "source": "test", "text": "고혈압은 흔한 질환이다."}


def test_workspace_layout_and_views(tmp_path, monkeypatch):
    monkeypatch.setenv("KMB_WORKSPACE", str(tmp_path / "from-env"))
    ws = Workspace.open()
    assert ws.root == (tmp_path / "from-env").resolve()
    for name in STAGE_FOLDERS:
        assert (ws.root / name).is_dir()
    assert ws.refresh_views() == []  # nothing yet, and no error

    storage.write_rows(ws.raw("test") / storage.part_name(), [_doc(i) for i in range(3)], storage.DOCUMENTS)
    storage.write_rows(ws.raw("other") / storage.part_name(), [_doc(10)], storage.DOCUMENTS)
    assert "documents" in ws.refresh_views()
    assert ws.raw_sources() == ["other", "test"]

    # The views work from another working directory, as for a user of the DuckDB CLI.
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect(str(ws.duckdb_path), read_only=True)
    assert con.execute("select count(*) from documents").fetchone()[0] == 4
    con.close()


def test_duckdb_file_opens_in_the_duckdb_1x_cli(workspace):
    # DuckDB CLIs 1.x read database files of storage versions 64-68; the Python package 2.x
    # writes a newer one by default, which a user's `duckdb kmb.duckdb` then refuses to open.
    import struct

    storage.write_rows(workspace.raw("test") / storage.part_name(), [_doc(0)], storage.DOCUMENTS)
    duckdb.connect(str(workspace.duckdb_path)).close()  # a file in the Python package's own format
    workspace.refresh_views()  # replaces it
    header = workspace.duckdb_path.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    assert 64 <= struct.unpack("<Q", header[12:20])[0] <= 68


def test_sentence_files_or_the_one_build_first_error(workspace):
    with pytest.raises(KmbError, match="run `kmb corpus build` first") as err:
        workspace.sentence_files()
    assert str(workspace.corpus / "sentences") in str(err.value)
    folder = workspace.corpus / "sentences"
    storage.write_rows(folder / "b.parquet", [], storage.SENTENCES)
    storage.write_rows(folder / "a.parquet", [], storage.SENTENCES)
    assert workspace.sentence_files() == [folder / "a.parquet", folder / "b.parquet"]
    assert sentence_files(folder) == workspace.sentence_files()


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "..", "a\\b"])
def test_run_names_are_one_plain_folder(name):
    with pytest.raises(KmbError, match="--out must be a plain name"):
        check_run_name(name, "--out")


def test_a_plain_run_name_passes():
    assert check_run_name("km-bert_v2.1") == "km-bert_v2.1"


def test_a_second_writer_of_one_area_is_refused_at_once(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    with ws.lock("raw/naver_health"):
        assert "another kmb command is writing raw/naver_health" in _lock_in_another_process(ws, "raw/naver_health")
        assert _lock_in_another_process(ws, "raw/kci") == "locked"  # another area is free
    assert _lock_in_another_process(ws, "raw/naver_health") == "locked"  # released at the end of the block


def _lock_in_another_process(ws: Workspace, area: str) -> str:
    code = (
        "import sys\nfrom pathlib import Path\nfrom kmb.errors import KmbError\nfrom kmb.workspace import Workspace\n"
        "try:\n    with Workspace(Path(sys.argv[1])).lock(sys.argv[2]):\n        print('locked')\n"
        "except KmbError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(ws.root), area], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def test_the_suite_is_offline():
    # tests/conftest.py's `offline` fixture: an outside host is refused, this machine is not.
    import socket

    import pytest

    with pytest.raises(OSError, match="offline"):
        socket.getaddrinfo("oai.example", 80)
    with pytest.raises(OSError, match="offline"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    assert socket.getaddrinfo("127.0.0.1", 80)
