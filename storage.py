"""The storage contract: the one way to write each file (the schemas are in ``schemas.py``).

Part of kmb's foundation (with ``workspace.py`` and ``errors.py``): every stage imports it, and it
imports no stage.

Every stage writes Parquet through :class:`ParquetSink`. It buffers rows into row groups,
compresses with zstd, and writes to a hidden temporary file in the target folder that is fsynced
and renamed into place only when the sink closes cleanly. Readers glob ``*.parquet``, so a process
killed mid-write leaves nothing they would pick up (at most a ``.*.tmp`` file, cleaned on the next
write to that folder).

The tables are documented in ``docs/storage.md``; keep the two in step.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kmb.errors import KmbError

# Times are instants; NAVER gives Korea time, which parsers convert. Stored as UTC.
from kmb.schemas import (  # noqa: F401  (re-exported: the schemas and the writers in one place)
    CORPUS_DOCUMENTS,
    CORPUS_SIGNATURES,
    DOCUMENT_CORE_FIELDS,
    DOCUMENTS,
    KCI_DOCUMENTS,
    LOCAL_DOCUMENTS,
    NAVER_DOCUMENTS,
    PAIR_SHARDS,
    REJECTS,
    REMOVED,
    SEGMENT_SHARDS,
    SENTENCES,
    TERM_FREQ,
    TERMS,
    TIMESTAMP,
)


# --- DuckDB ----------------------------------------------------------------------------------------
def sql_string(value: str | os.PathLike) -> str:
    """``value`` as a DuckDB string literal, quotes doubled (``o'brien`` -> ``'o''brien'``).

    Paths go to DuckDB as bound parameters (``read_parquet(?)``); this is only for the statements
    that cannot take one (``CREATE VIEW``, which must hold its paths in its text), and is the one
    place such a literal is made."""
    text = value.as_posix() if isinstance(value, Path) else os.fspath(value)
    return "'" + text.replace("'", "''") + "'"


# --- the writer --------------------------------------------------------------------------------
ROW_GROUP_ROWS = 64_000


class ParquetSink:
    """Write one Parquet file atomically, in row groups, zstd-compressed.

    Use as a context manager. Rows (dicts) or Arrow tables/batches go in; on a clean exit the
    temporary file is fsynced and renamed to ``path``; on an exception it is removed and ``path``
    is untouched (an earlier file of that name stays as it was).
    """

    def __init__(self, path: str | os.PathLike, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS):
        self.path = Path(path)
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.rows_written = 0
        self._buffer: list[Mapping] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.path.parent)
        self._tmp = self.path.parent / f".{self.path.name}.{_owner_tag()}.{uuid.uuid4().hex[:8]}.tmp"
        self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._closed = False

    def write_row(self, row: Mapping) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.row_group_rows:
            self._flush_rows()

    def write_rows(self, rows: Iterable[Mapping]) -> None:
        for row in rows:
            self.write_row(row)

    def write_table(self, table: pa.Table | pa.RecordBatch) -> None:
        self._flush_rows()
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table, row_group_size=self.row_group_rows)
        self.rows_written += table.num_rows

    def _flush_rows(self) -> None:
        if self._buffer:
            table = pa.Table.from_pylist(self._buffer, schema=self.schema)
            self._buffer = []
            self._writer.write_table(table, row_group_size=self.row_group_rows)
            self.rows_written += table.num_rows

    def close(self) -> Path:
        """Flush, fsync and rename into place. Returns the final path."""
        if self._closed:
            return self.path
        try:
            self._flush_rows()
            self._writer.close()
            self._closed = True
            commit_file(self._tmp, self.path)
            os.replace(self._tmp, self.path)
        except BaseException:  # a full disk at the last moment: nothing half-written stays behind
            self.abort()
            raise
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Drop everything written so far; the target path is left as it was."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self._writer.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_table(path: str | os.PathLike, table: pa.Table, schema: pa.Schema) -> Path:
    """Write a whole (small) table atomically through the same sink."""
    with ParquetSink(path, schema) as sink:
        sink.write_table(table)
    return Path(path)


def write_rows(path: str | os.PathLike, rows: Iterable[Mapping], schema: pa.Schema) -> int:
    """Write an iterable of row dicts atomically; returns the number of rows."""
    with ParquetSink(path, schema) as sink:
        sink.write_rows(rows)
    return sink.rows_written


# --- every other file a stage writes: the same temporary-name-then-rename rule ----------------
@contextlib.contextmanager
def _fsynced_temporary(path: Path) -> Iterator[Path]:
    """A hidden temporary beside ``path``: fsynced at a clean end, removed on error; the caller renames it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_owner_tag()}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    _umask_mode(tmp, 0o666)
    try:
        yield Path(tmp)
        commit_file(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path`` (same suffix, so libraries that pick a format
    by name still work); on success it is fsynced and replaces ``path``, on error it is removed."""
    path = Path(path)
    with _fsynced_temporary(path) as tmp:
        yield tmp
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class FilesTogether:
    """Text files that must appear only with the output they belong to (``files_together``)."""

    def __init__(self):
        self.staged: list[tuple[Path, Path]] = []  # (fsynced temporary, target)

    @contextlib.contextmanager
    def text(self, path: str | os.PathLike) -> Iterator:
        """Like :func:`atomic_text`, but renamed into place when the ``files_together`` block ends cleanly."""
        path = Path(path)
        with _fsynced_temporary(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
            yield handle
        self.staged.append((tmp, path))


@contextlib.contextmanager
def files_together() -> Iterator[FilesTogether]:
    """Files written whole during the block (``group.text(path)``), renamed into place after all the
    block commits (a run folder inside it): a failure anywhere in the block leaves none of them."""
    group = FilesTogether()
    try:
        yield group
        for tmp, path in group.staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in group.staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def atomic_text(path: str | os.PathLike) -> Iterator:
    """A UTF-8 text file for writing that appears at ``path`` only when closed cleanly."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            yield handle


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_text(path) as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, value, indent: int | None = 2) -> Path:
    with atomic_text(path) as handle:
        json.dump(value, handle, ensure_ascii=False, indent=indent, default=str)
        handle.write("\n")
    return Path(path)


def replace_dir(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move a finished directory into place, replacing an old ``target`` only at the very end.

    Files in ``tmp`` are fsynced first. Between the two renames the old directory survives under a
    hidden name, so a kill leaves either the old or the new directory, never a half-written one.
    """
    tmp, target = Path(tmp), Path(target)
    for file in tmp.rglob("*"):
        if file.is_file():
            commit_file(file, target / file.relative_to(tmp))
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}{OLD_SUFFIX}")
        os.replace(target, old)
    # A kill here leaves no target, only the hidden .old: recover_dirs puts it back.
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def restore_dir(old: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put a directory back under its name (the recovery half of :func:`replace_dir`)."""
    os.replace(old, target)
    _fsync_dir(Path(target).parent)


OLD_SUFFIX = ".old"
# Marks a directory kmb wrote as a user-named output, and of which kind ("tokenizer", "model"...).
OUTPUT_MARKER = ".kmb-output.json"
MODEL_OUTPUT = "model"  # a Hugging Face model directory (vocab extend-model, pretrain)


def output_kind(folder: str | os.PathLike) -> str | None:
    """The kind a kmb output directory was written as, or None if kmb did not write it."""
    try:
        return json.loads((Path(folder) / OUTPUT_MARKER).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def check_output_dir(target: str | os.PathLike, kind: str, force: bool = False) -> None:
    """Refuse to replace a directory kmb did not write (Git's rule: never delete what you did not
    create). An empty directory or a kmb output of the same kind is replaced; another kind of kmb
    output only with ``force``; anything else never."""
    target = Path(target)
    if not target.name or target.name in (".", ".."):
        raise KmbError("an output folder needs a name of its own (not . or ..)", path=target)
    if not target.exists():
        return
    if not target.is_dir():
        raise KmbError(f"is a file, not a {kind} folder; choose another --out", path=target)
    if not any(target.iterdir()):
        return
    found = output_kind(target)
    if found == kind:
        return
    if found is None:
        raise KmbError(
            "exists and was not written by kmb; kmb never replaces it: choose another --out (or remove it yourself)",
            path=target,
        )
    if not force:
        raise KmbError(f"holds a kmb {found} output, not a {kind}; pass --force to replace it", path=target)


def recover_dirs(parent: str | os.PathLike) -> list[Path]:
    """Finish what a kill between replace_dir's two renames left in ``parent``.

    A hidden ``.NAME.<id>.old`` whose ``NAME`` is missing is the only copy of that directory: it is
    renamed back. One whose ``NAME`` exists is the replaced version, and is removed. Temporaries of
    dead writers are swept. Returns the directories restored. Workspace.open calls this for every
    stage folder and the folders one level below.
    """
    parent = Path(parent)
    restored = []
    if not parent.is_dir():
        return restored
    sweep_temporaries(parent)
    for old in sorted(parent.glob(f".*{OLD_SUFFIX}"), key=_mtime, reverse=True):
        name = old.name[1 : -len(OLD_SUFFIX)].rsplit(".", 1)[0]
        if not old.is_dir() or not name:
            continue
        target = parent / name
        if not target.exists():
            os.replace(old, target)
            restored.append(target)
        else:
            shutil.rmtree(old, ignore_errors=True)
    if restored:
        _fsync_dir(parent)
    return restored


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, kind: str | None = None, force: bool = False) -> Iterator[Path]:
    """Yield an empty hidden directory beside ``target`` to fill; on success it replaces ``target``
    (see :func:`replace_dir`), on error it is removed and ``target`` is left as it was.

    The one way kmb writes a directory (a tokenizer, a model, pair shards): a kill at any moment
    leaves the old directory or the new one, never a half-written one. With ``kind`` (an output a
    user names with ``--out``), ``target`` is first checked by :func:`check_output_dir` and the new
    directory is marked as that kind of kmb output.
    """
    target = Path(target)
    if kind is not None:
        check_output_dir(target, kind, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(target.parent, target.name)
    try:
        yield tmp
        if kind is not None:
            (tmp / OUTPUT_MARKER).write_text(json.dumps({"kind": kind}) + "\n", encoding="utf-8")
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def part_name(prefix: str = "part") -> str:
    """A new, unique file name for one more part of a table (parts are never rewritten)."""
    import time

    return f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"


def _remove_stale_temporaries(folder: Path) -> None:
    # Left by a killed writer: see sweep_temporaries.
    sweep_temporaries(folder)


# --- temporaries: each names its owner, so the next start can sweep what a kill left ---------
def _owner_tag() -> str:
    host = socket.gethostname().replace(".", "_").replace("-", "_") or "host"
    return f"{host}-p{os.getpid()}"


_OWNED_TMP = re.compile(r"\.(?P<host>[^.]+)-p(?P<pid>\d+)\.[^.]+\.tmp(\.[^.]+)?$")


def make_temp_dir(parent: str | os.PathLike, stem: str) -> Path:
    """A new hidden scratch directory in ``parent`` named after its owner process (swept by
    :func:`sweep_temporaries` once that process is gone), with the umask's permissions."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{stem}.{_owner_tag()}.", suffix=".tmp", dir=parent))
    _umask_mode(tmp, 0o777)
    return tmp


def _owner_gone(host: str, pid: int) -> bool:
    # Only a temporary made on this machine can be judged; another host's (shared storage) stays.
    if host != _owner_tag().rsplit("-p", 1)[0]:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the hidden ``.*.tmp`` files and folders in ``folder`` whose owner process has died
    (a killed writer's leftovers). A live writer's temporaries are never touched, however old."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for tmp in folder.glob(".*.tmp*"):
        match = _OWNED_TMP.search(tmp.name)
        if match is None or not _owner_gone(match["host"], int(match["pid"])):
            continue
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _umask_mode(path, mode: int) -> None:
    # mkstemp/mkdtemp create 0600/0700 whatever the umask; outputs get the mode a plain open() or
    # mkdir() would give, so a team on shared storage can read each other's files.
    os.chmod(path, mode & ~_UMASK)


def commit_file(written: Path, target: Path) -> None:
    """fsync ``written`` (the temporary of ``target``): the point where a full or read-only disk
    shows. Its error then names the folder of ``target`` and how many bytes were to be written,
    which :func:`kmb.faults.as_kmb_error` puts in the user's one line."""
    with open(written, "rb") as fh:
        fsync_open_file(fh, target)


def fsync_open_file(handle, target: str | os.PathLike) -> None:
    """fsync an open file (also an append-only log's), naming ``target``'s folder and the file's size
    in the error when the disk refuses."""
    try:
        os.fsync(handle.fileno())
    except OSError as exc:
        exc.filename = str(Path(target).parent)
        with contextlib.suppress(OSError):
            exc.kmb_bytes = os.fstat(handle.fileno()).st_size
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
