"""`kmb corpus build --decontaminate FILE` killed with SIGKILL inside its decontaminate step (issue 24).

The build runs in a child process that kills itself, as ``tests/foundation/test_storage.py``'s
writer does, at a chosen point of the step: while a decontaminated part is being written (its
temporary half full), or just after the first part was replaced (its source, a hard link to the
previous corpus's part, already unlinked). The previous corpus must be byte for byte as it was, and
the next build must give the corpus an uninterrupted build gives.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from kmb.corpus.build import BuildConfig, build_corpus
from kmb.storage import DOCUMENTS, write_rows
from kmb.workspace import Workspace

# Corpus sentences and evaluation items we wrote, shared with test_decontaminate_kill.py.
TEXTS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "decontamination.json").read_text("utf-8")
)
CLEAN, ITEMS = TEXTS["clean"], TEXTS["items"]

# The build in a child process, killed by itself at WHERE inside the decontaminate step.
CHILD = """
import os, signal, sys
import kmb.corpus.decontaminate as step
from kmb.corpus.build import BuildConfig, build_corpus
from kmb.workspace import Workspace

root, items, where = sys.argv[1:4]
if where == "writing":  # a decontaminated part half written: its temporary holds one batch
    class KilledSink(step.ParquetSink):
        def write_table(self, table):
            super().write_table(table)
            os.kill(os.getpid(), signal.SIGKILL)
    step.ParquetSink = KilledSink
else:  # the first part replaced by its decontaminated copy, the others not yet
    rewrite = step._decontaminate_part
    def rewrite_one(*args, **kwargs):
        rows = rewrite(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    step._decontaminate_part = rewrite_one
build_corpus(Workspace.open(root), BuildConfig(workers=1, decontaminate=(items,)))
"""


def add_raw(ws, name: str, docs: list[str]) -> None:
    rows = [{"doc_id": f"{name}:{i}", "source": "article", "text": t, "language": "ko"} for i, t in enumerate(docs)]
    write_rows(ws.raw("article") / f"{name}.parquet", rows, DOCUMENTS)


def docs_with(item: str, shift: int) -> list[str]:
    """Two documents of the clean sentences, the first with an evaluation item planted in it."""
    rotated = CLEAN[shift:] + CLEAN[:shift]
    return [" ".join(rotated) + " " + item, " ".join(reversed(rotated))]


def files(corpus) -> dict[str, bytes]:
    return {str(p.relative_to(corpus)): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}


def rows(ws: Workspace, table: str, columns: str) -> list[tuple]:
    query = f"select {columns} from read_parquet($p) order by all"
    return duckdb.sql(query, params={"p": str(ws.corpus / table / "*.parquet")}).fetchall()


def corpus_content(ws: Workspace) -> dict:
    return {
        "sentences": rows(ws, "sentences", "doc_id, source, sent_idx, text, split"),
        "documents": rows(ws, "documents", "doc_id, split, n_sentences, dropped, duplicate_of"),
        "removed": rows(ws, "removed", "doc_id, sent_idx, rule, text"),
    }


@pytest.mark.parametrize("where", ["writing", "replaced"])
def test_sigkill_inside_the_decontaminate_step_keeps_the_previous_corpus_and_a_rerun_equals_a_clean_run(
    workspace, tmp_path, where
):
    # The previous corpus: two builds, so two sentence parts, each holding an evaluation item.
    add_raw(workspace, "a", docs_with(ITEMS[0], 0))
    build_corpus(workspace, BuildConfig(workers=1))
    add_raw(workspace, "b", docs_with(ITEMS[1], 1))
    build_corpus(workspace, BuildConfig(workers=1))
    assert len(list((workspace.corpus / "sentences").glob("*.parquet"))) == 2
    add_raw(workspace, "c", docs_with(ITEMS[2], 2))  # and new documents for the decontaminating build
    items = tmp_path / "test.txt"
    items.write_text("\n".join(ITEMS) + "\n", encoding="utf-8")
    before = files(workspace.corpus)
    untouched = tmp_path / "untouched"
    shutil.copytree(workspace.root, untouched, symlinks=True)

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(workspace.root), str(items), where], capture_output=True, text=True
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert list(workspace.root.glob(".corpus-build-*"))  # killed inside the build
    build_sentences = next(workspace.root.glob(".corpus-build-*")) / "sentences"
    if where == "writing":
        assert list(build_sentences.glob(".*.tmp")) and not list(build_sentences.glob("decontaminated-*"))
    else:  # one part replaced, its source gone from the build folder (and only from there)
        assert len(list(build_sentences.glob("decontaminated-*.parquet"))) == 1
        assert len(list(build_sentences.glob("*.parquet"))) == 3
    assert files(workspace.corpus) == before  # the previous corpus, byte for byte
    assert {t for (t,) in duckdb.sql(
        "select text from read_parquet($p)", params={"p": str(workspace.corpus / "sentences" / "*.parquet")}
    ).fetchall()} >= set(ITEMS[:2])  # fmt: skip

    config = BuildConfig(workers=1, decontaminate=(str(items),))
    report = build_corpus(Workspace.open(workspace.root), config).data
    assert report["decontamination"]["sentences removed"] == 3
    assert not list(workspace.root.glob(".corpus-build-*")) and not list(workspace.root.rglob(".*.tmp"))
    clean = Workspace.open(untouched)
    assert build_corpus(clean, config).data["decontamination"] == report["decontamination"]
    assert corpus_content(workspace) == corpus_content(clean)
    assert not set(ITEMS) & {text for _, _, _, text, _ in corpus_content(workspace)["sentences"]}
