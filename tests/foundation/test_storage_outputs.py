"""Outputs never delete what kmb did not write, get the umask's permissions, and temporaries a
killed writer left are swept at the next start (issue 28, points 1, 8 and 10)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from kmb import storage
from kmb.errors import KmbError
from kmb.workspace import Workspace


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_folder_kmb_did_not_write_is_never_replaced(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "thesis.txt").write_text("my work", encoding="utf-8")
    with pytest.raises(KmbError, match="not written by kmb"):
        with storage.atomic_dir(out, kind="tokenizer", force=True) as tmp:
            (tmp / "vocab.txt").write_text("[PAD]\n", encoding="utf-8")
    assert (out / "thesis.txt").read_text(encoding="utf-8") == "my work"
    assert [p.name for p in tmp_path.iterdir()] == ["thesis"]  # no temporary left beside it


def test_an_empty_folder_and_the_same_kind_of_output_are_replaced(tmp_path):
    out = tmp_path / "vocab"
    out.mkdir()
    for text in ("first", "second"):
        with storage.atomic_dir(out, kind="tokenizer") as tmp:
            (tmp / "vocab.txt").write_text(text, encoding="utf-8")
        assert (out / "vocab.txt").read_text(encoding="utf-8") == text
    assert storage.output_kind(out) == "tokenizer"


def test_another_kind_of_kmb_output_needs_force(tmp_path):
    out = tmp_path / "out"
    with storage.atomic_dir(out, kind="model") as tmp:
        (tmp / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(KmbError, match="--force"):
        storage.check_output_dir(out, "tokenizer")
    storage.check_output_dir(out, "tokenizer", force=True)


@pytest.mark.parametrize("name", [".", ".."])
def test_an_output_without_a_name_is_refused(tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KmbError, match="needs a name"):
        storage.check_output_dir(name, "tokenizer")


def test_a_file_where_a_folder_is_expected_is_refused(tmp_path):
    (tmp_path / "out").write_text("x", encoding="utf-8")
    with pytest.raises(KmbError, match="is a file"):
        storage.check_output_dir(tmp_path / "out", "tokenizer")


def test_vocab_build_refuses_a_users_folder_and_a_workspace(tmp_path, run_kmb):
    ws = tmp_path / "ws"
    Workspace.open(ws)
    base = tmp_path / "vocab.txt"
    base.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n가\n", encoding="utf-8")
    user = tmp_path / "d"
    (user / "data").mkdir(parents=True)
    (user / "thesis.txt").write_text("x", encoding="utf-8")
    for out in (user, ws):
        code, _out, err = run_kmb("vocab", "build", "-w", ws, "--base-vocab", base, "--out", out)
        assert code == 1
        assert err.count("\n") == 1 and "not written by kmb" in err
    assert (user / "thesis.txt").exists() and (user / "data").is_dir()
    assert (ws / "raw").is_dir() and (ws / "corpus").is_dir()


def test_outputs_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        storage._UMASK = 0o022
        storage.write_text_atomic(tmp_path / "a.txt", "x")
        with storage.atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("x", encoding="utf-8")
        assert _mode(tmp_path / "a.txt") == 0o644
        assert _mode(tmp_path / "d") == 0o755
    finally:
        os.umask(old)
        storage._UMASK = storage._current_umask()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_a_dead_writer_are_swept_and_a_live_ones_kept(tmp_path):
    host = storage._owner_tag().rsplit("-p", 1)[0]
    dead = tmp_path / f".shards.{host}-p{_dead_pid()}.abc123.tmp"
    live = tmp_path / f".shards.{host}-p{os.getpid()}.def456.tmp"
    other_host = tmp_path / f".shards.elsewhere-p{_dead_pid()}.xyz789.tmp"
    dead_part = tmp_path / f".part-1.parquet.{host}-p{_dead_pid()}.0a1b2c3d.tmp"
    for folder in (dead, live, other_host):
        (folder / "x").mkdir(parents=True)
    dead_part.write_bytes(b"PAR1")
    removed = storage.sweep_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted([dead.name, dead_part.name])
    assert live.exists() and other_host.exists() and not dead.exists() and not dead_part.exists()


def test_workspace_open_sweeps_a_killed_writers_scratch_one_level_down(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    host = storage._owner_tag().rsplit("-p", 1)[0]
    scratch = ws.pretrain("km-bert") / f".shards.{host}-p{_dead_pid()}.abc123.tmp"
    scratch.mkdir(parents=True)
    term_scratch = ws.terms / f".term-count.{host}-p{_dead_pid()}.abc123.tmp"
    term_scratch.mkdir()
    Workspace.open(ws.root)
    assert not scratch.exists() and not term_scratch.exists()
    assert ws.pretrain("km-bert").is_dir()
