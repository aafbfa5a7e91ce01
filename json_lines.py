"""JSON lines: one object per line, read the one way every reader of them uses (foundation).

:func:`object_lines` streams a file (bounded memory), :func:`parse_object` parses one line; a line
that is not UTF-8, not JSON or not an object is a :class:`KmbError` naming the file and the line
(never its content).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from kmb.errors import KmbError


def parse_object(raw: str, path: str | os.PathLike, line: int, expected: str = "a JSON object") -> dict:
    """One line as a dict; ``expected`` says what the line should be, for the error."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise KmbError(f"not valid JSON: {exc.msg}", path=path, line=line) from None
    if not isinstance(record, dict):
        raise KmbError(f"expected {expected}", path=path, line=line)
    return record


def object_lines(path: str | os.PathLike, expected: str = "a JSON object") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a UTF-8 file (a BOM allowed), streamed."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise KmbError("not UTF-8 text (convert the file to UTF-8 first)", path=path, line=number) from None
            if line.strip():
                yield number, parse_object(line, path, number, expected)
