"""Faults the machine or the user causes, as one KmbError line: the one place that translates them.

A full disk, a read-only or missing folder, a path that is a file, a damaged Parquet, JSON or
safetensors file in the workspace: none of these is a bug in kmb, so none deserves a traceback.
:func:`as_kmb_error` turns such an exception into a line that names the file and says what to
do; ``kmb.cli.main`` calls it for every command. Anything it does not recognise is returned as
None and keeps its traceback (a bug stays visible).

Messages name paths and error kinds only, never file contents: the text of a clinical note must
not reach a terminal or a log through an error.
"""

from __future__ import annotations

import errno
import json
import re

from kmb.errors import KmbError

REPAIR_HINT = (
    "delete or restore it; a damaged file under corpus/ is rebuilt by `kmb corpus build --rebuild`, "
    "one under raw/ by importing or crawling that source again"
)

_OS_FAULTS = {
    errno.ENOSPC: "no space left on the device while writing; free space there and run the command again",
    errno.EDQUOT: "disk quota exceeded while writing; free space there and run the command again",
    errno.EACCES: "permission denied; make it readable (and its folder writable) for this user",
    errno.EPERM: "operation not permitted; check the owner and permissions of this path",
    errno.EROFS: "the file system is read-only; use a workspace on a writable disk",
    errno.ENOTDIR: "a path on the way is a file, not a folder; choose a folder for the workspace or output",
    errno.EISDIR: "is a folder where a file was expected; give a file path",
    errno.ENAMETOOLONG: "the path is too long for the file system",
    errno.EIO: "input/output error: the disk or network file system failed; check it and run again",
}

# Library messages that mean "this file is damaged" (not "kmb has a bug").
_DAMAGED = re.compile(
    r"magic bytes|Could not read schema|Parquet file size is 0|Couldn't deserialize thrift|"
    r"Invalid Parquet|Unexpected end of stream|not a valid Parquet|corrupt|truncated|"
    r"Error while deserializing header|incomplete metadata|invalid header|MetadataIncompleteBuffer",
    re.IGNORECASE,
)
_QUOTED_PATH = re.compile(r"""['"]([^'"\n]+\.(?:parquet|json|jsonl|safetensors|arrow|bin|duckdb))['"]""")


def as_kmb_error(exc: BaseException) -> KmbError | None:
    """The KmbError line for a fault the user or machine caused, or None for anything else."""
    if isinstance(exc, KmbError):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        return KmbError(
            f"a file is not UTF-8 text ({exc.encoding} cannot decode byte {exc.start}); "
            "convert it to UTF-8 (e.g. iconv -f cp949 -t utf-8)"
        )
    if isinstance(exc, json.JSONDecodeError):
        return KmbError(f"a JSON file is damaged (line {exc.lineno}, column {exc.colno}): {exc.msg}; {REPAIR_HINT}")
    if isinstance(exc, OSError) and exc.errno in _OS_FAULTS:
        path = exc.filename if exc.filename is not None else None
        return KmbError(_needed(exc) + _OS_FAULTS[exc.errno], path=path)
    damaged = _damaged_file(exc)
    if damaged is not None:
        return damaged
    disk = _library_disk_fault(exc)
    if disk is not None:
        return disk
    return None


def _needed(exc: OSError) -> str:
    """ "12.3 MB to write: " when the disk filled up at a commit that knows its size (storage.commit_file)."""
    size = getattr(exc, "kmb_bytes", None)
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or size is None:
        return ""
    return f"{size / 1e6:,.1f} MB to write: " if size >= 100_000 else f"{size:,} bytes to write: "


def damaged_file_error(path: object = None, what: str = "a Parquet file") -> KmbError:
    """The one line for a damaged workspace file, naming it (``path``) where known."""
    return KmbError(f"{what} is damaged (truncated or not what its name says); {REPAIR_HINT}", path=path)


def _damaged_file(exc: BaseException) -> KmbError | None:
    # pyarrow.ArrowInvalid / ArrowIOError, duckdb.IOException / InvalidInputException,
    # safetensors_rust.SafetensorError: matched by type name so this module imports none of them.
    kind = type(exc).__name__
    if kind not in {
        "ArrowInvalid",
        "ArrowIOError",
        "ArrowException",
        "IOException",
        "InvalidInputException",
        "SafetensorError",
        "UnpicklingError",
        "EOFError",
        "BadZipFile",
    }:
        return None
    message = str(exc)
    if kind not in {"SafetensorError", "UnpicklingError", "BadZipFile", "EOFError"} and not _DAMAGED.search(message):
        return None
    match = _QUOTED_PATH.search(message)
    what = "a Parquet file" if "arquet" in message or "magic" in message else "a workspace file"
    if kind in {"SafetensorError", "UnpicklingError", "BadZipFile", "EOFError"}:
        what = "a model or checkpoint weights file"
    return damaged_file_error(match.group(1) if match else None, what)


def _library_disk_fault(exc: BaseException) -> KmbError | None:
    # DuckDB and Arrow report a full disk or a denied path in their own exception types.
    message = str(exc)
    if type(exc).__name__ not in {"IOException", "PermissionException", "ArrowIOError", "OSError", "IOError"}:
        return None
    match = _QUOTED_PATH.search(message)
    path = match.group(1) if match else None
    if "No space left" in message or "ENOSPC" in message:
        return KmbError(_OS_FAULTS[errno.ENOSPC], path=path)
    if "Permission denied" in message or "Read-only file system" in message:
        return KmbError(_OS_FAULTS[errno.EACCES], path=path)
    return None
