"""Reading the tab-separated inputs (PAIRS files, KorSTS): header checked, blank lines skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from kmb.errors import KmbError


def tsv_rows(path: Path, header: Sequence[str], header_help: str, columns_help: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank line after the header; split on tabs only, no quoting.

    A first line other than ``header``, or a row with another number of cells, is a KmbError naming
    the file and line.
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if number == 1:
                if line.split("\t") != list(header):
                    raise KmbError(header_help, path=path, line=1)
                continue
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != len(header):
                raise KmbError(f"expected {len(header)} tab-separated columns{columns_help}, found {len(parts)}", path=path, line=number)
            yield number, parts
