"""The build folder of `kmb corpus build`: hard-linking the existing corpus in, swapping the new
corpus into place, putting back the old one after a kill, the build lock, fsyncs."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

from kmb.errors import KmbError
from kmb.storage import replace_dir, restore_dir, write_json_atomic

REPORT_NAME = "report.json"


# --- folders: build, swap, recover --------------------------------------------------------------
def has_parts(folder: Path) -> bool:
    return folder.is_dir() and next(folder.glob("*.parquet"), None) is not None


def parts_glob(folder: Path) -> str:
    return (folder / "*.parquet").as_posix()


def link_tree(source: Path, target: Path) -> None:
    """Hard-link a folder's files into a new folder (copy where links are not possible)."""
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for path in source.glob("*.parquet"):
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def swap_in(build_dir: Path, corpus: Path) -> None:
    """Replace ``corpus`` by ``build_dir`` (storage.replace_dir: a kill between its two renames
    leaves ``.corpus.<id>.old``, which the next Workspace.open puts back)."""
    replace_dir(build_dir, corpus)


def recover(root: Path) -> None:
    """Clean up after a killed build: drop the build folders it left; restore a corpus that a build
    of an earlier kmb left as ``.corpus-old-<id>`` between its renames (today's are recovered by
    storage.recover_dirs in Workspace.open)."""
    corpus = root / "corpus"
    olds = sorted(root.glob(".corpus-old-*"), key=os.path.getmtime)
    if olds and (not corpus.exists() or not any(corpus.iterdir())):
        if corpus.exists():
            corpus.rmdir()
        restore_dir(olds.pop(), corpus)
    for leftover in olds + list(root.glob(".corpus-build-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    corpus.mkdir(exist_ok=True)


class build_lock:
    """One build per workspace at a time (an flock on <workspace>/.corpus-build.lock)."""

    def __init__(self, root: Path):
        self.path = root / ".corpus-build.lock"

    def __enter__(self):
        self.fh = open(self.path, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise KmbError("another corpus build is running in this workspace", path=self.path) from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def read_report(corpus: Path) -> dict | None:
    path = corpus / REPORT_NAME
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KmbError(f"unreadable build report ({exc}); use --rebuild", path=path) from None


def write_json(path: Path, data: dict) -> None:
    write_json_atomic(path, data)
