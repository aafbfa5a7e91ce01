"""Reading back what ``storage`` wrote, cheaply: the ids and reject keys of a folder's Parquet
parts (one or two columns, in batches) and a file's footer (without its data).

Part of kmb's foundation, beside ``storage.py`` (which writes): it imports no stage.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def doc_ids(folder: str | os.PathLike) -> set[str]:
    """doc_ids in every Parquet part of ``folder`` (raw/<source>/), read column-wise in batches."""
    ids: set[str] = set()
    for part in sorted(Path(folder).glob("*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(columns=["doc_id"], batch_size=65_536):
            ids.update(batch.column(0).to_pylist())
    return ids


def reject_keys(folder: str | os.PathLike) -> set[tuple[str, str]]:
    """(url, reason) of every row in a rejects folder (raw/<source>/rejects/), read column-wise."""
    keys: set[tuple[str, str]] = set()
    for part in sorted(Path(folder).glob("*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(columns=["url", "reason"], batch_size=65_536):
            keys.update(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))
    return keys


def parquet_footer(path: str | os.PathLike) -> pq.FileMetaData:
    """The footer (schema, row groups, row count) of a Parquet file, read without its data; a file
    that has none (truncated, empty, not Parquet) is the one KmbError line that names it.

    Cheap (a few KB per file), so a command can check every input before it starts work. Damage
    inside a data page, behind an intact footer, is found only when that page is read."""
    try:
        return pq.read_metadata(path)
    except pa.ArrowInvalid:  # no magic bytes, too short, empty
        pass
    except OSError as exc:
        if exc.errno is not None:  # a fault of the disk or the permissions, not of the file: as is
            raise
        # pyarrow's "Couldn't deserialize thrift": a footer with garbage in it
    from kmb.faults import damaged_file_error

    raise damaged_file_error(path) from None
