"""`kmb corpus export`: the sentence corpus as plain text or JSON lines.

``txt`` is the format Google's BERT ``create_pretraining_data.py`` and many other tools read: one
sentence per line, a blank line between documents. ``jsonl`` is one JSON object per sentence
(``doc_id``, ``source``, ``sent_idx``, ``text``, ``split``); documents are told apart by ``doc_id``.

Sentences are read part by part, in record batches, in the order the build wrote them (documents in
build order, sentences in document order), so memory does not grow with the corpus. The output is
written to a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from kmb.errors import KmbError
from kmb.storage import atomic_text
from kmb.workspace import Workspace

FORMATS = ("txt", "jsonl")
SPLITS = ("train", "valid", "all")


def export_corpus(workspace: Workspace, output: Path | None, fmt: str = "txt", split: str = "train") -> dict:
    """Write the corpus (one split or all) to ``output`` (None: corpus/export/<split>.<fmt>); returns counts."""
    if fmt not in FORMATS:
        raise KmbError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if split not in SPLITS:
        raise KmbError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    parts = workspace.sentence_files()
    output = Path(output) if output is not None else workspace.corpus / "export" / f"{split}.{fmt}"
    output.parent.mkdir(parents=True, exist_ok=True)
    documents = sentences = 0
    previous_doc = None
    with atomic_text(output) as out:  # a temporary file beside it, renamed only when complete
        for part in parts:
            reader = pq.ParquetFile(part)
            for batch in reader.iter_batches(
                batch_size=32_768, columns=["doc_id", "source", "sent_idx", "text", "split"]
            ):
                if split != "all":
                    batch = batch.filter(pc.equal(batch.column("split"), split))
                for row in batch.to_pylist():
                    if row["doc_id"] != previous_doc:
                        if previous_doc is not None and fmt == "txt":
                            out.write("\n")
                        previous_doc = row["doc_id"]
                        documents += 1
                    if fmt == "txt":
                        out.write(row["text"].replace("\n", " ") + "\n")
                    else:
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    sentences += 1
    return {"output": str(output), "format": fmt, "split": split, "documents": documents, "sentences": sentences}
