"""Workspace.open after a kill: a stage folder caught between the two renames of a swap is put back."""

from __future__ import annotations

import subprocess
import sys

from kmb import storage
from kmb.workspace import STAGE_FOLDERS, Workspace


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_open_restores_a_stage_folder_killed_between_the_renames_of_its_swap(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    (ws.corpus / "sentences").mkdir()
    (ws.corpus / "sentences" / "part-1.parquet").write_bytes(b"old sentences")
    (ws.corpus / "report.json").write_text('{"mode": "fresh"}', encoding="utf-8")
    # The state replace_dir leaves when killed after its first rename: corpus/ is the hidden
    # .corpus.<id>.old, and the new copy is still the scratch folder atomic_dir made (its owner dead).
    host = storage._owner_tag().rsplit("-p", 1)[0]
    new = ws.root / f".corpus.{host}-p{_dead_pid()}.a1b2c3d4.tmp"
    new.mkdir()
    (new / "half-written").write_text("x", encoding="utf-8")
    ws.corpus.rename(ws.root / f".corpus.1234abcd{storage.OLD_SUFFIX}")
    assert not ws.corpus.exists()

    Workspace.open(ws.root)
    assert (ws.corpus / "sentences" / "part-1.parquet").read_bytes() == b"old sentences"
    assert (ws.corpus / "report.json").read_text(encoding="utf-8") == '{"mode": "fresh"}'
    assert not any(p.name.endswith((storage.OLD_SUFFIX, ".tmp")) for p in ws.root.iterdir())
    for name in STAGE_FOLDERS:
        assert (ws.root / name).is_dir()
