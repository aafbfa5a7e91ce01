"""`kmb corpus build --decontaminate FILE`: planted evaluation items leave the whole corpus."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from kmb.corpus.build import BuildConfig, build_corpus
from kmb.corpus.overlap import corpus_overlap
from kmb.errors import KmbError
from kmb.storage import DOCUMENTS, write_rows

# Corpus sentences and evaluation items we wrote, shared with test_decontaminate_kill.py.
TEXTS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "decontamination.json").read_text("utf-8")
)
CLEAN, ITEMS = TEXTS["clean"], TEXTS["items"]


def add_raw(ws, name, docs):
    rows = [
        {"doc_id": f"{name}:{i}", "source": "article", "text": text, "language": "ko"} for i, text in enumerate(docs)
    ]
    write_rows(ws.raw("article") / f"{name}.parquet", rows, DOCUMENTS)


def sentences(ws) -> list[str]:
    return [
        r[0]
        for r in duckdb.sql(
            "select text from read_parquet($p)", params={"p": str(ws.corpus / "sentences/*.parquet")}
        ).fetchall()
    ]


def eval_file(tmp_path):
    path = tmp_path / "test.txt"
    path.write_text("\n".join(ITEMS) + "\n", encoding="utf-8")
    return path


def planted_docs():
    docs = [" ".join(CLEAN[i:] + CLEAN[:i]) for i in range(4)]
    docs[0] += " " + ITEMS[0]  # an exact copy
    docs[1] += " " + ITEMS[1].replace(" 전 세계적인", " 전세계적인")  # spacing changed
    docs[2] += " 보도에 따르면 " + ITEMS[2].rstrip(".") + "고 한다."  # inside a longer sentence
    return docs


ONE = dict(workers=1)


def test_planted_items_are_removed_and_overlap_then_finds_none(workspace, tmp_path):
    add_raw(workspace, "a", planted_docs())
    test = eval_file(tmp_path)
    report = build_corpus(workspace, BuildConfig(**ONE, decontaminate=(str(test),))).data
    left = sentences(workspace)
    assert set(CLEAN) <= set(left) and len(left) == len(CLEAN)
    decon = report["decontamination"]
    assert decon["sentences removed"] == 3 and decon["files"][str(test)] == {"items": 3, "sentences removed": 3}
    assert report["totals"]["sentences"] == len(CLEAN)
    assert json.loads((workspace.corpus / "report.json").read_text(encoding="utf-8"))["decontamination"] == decon
    overlap = corpus_overlap(workspace, [test]).to_json()
    assert overlap["files"][0]["overlapping"] == 0


def test_existing_sentences_go_too_with_no_new_documents(workspace, tmp_path):
    add_raw(workspace, "a", planted_docs())
    build_corpus(workspace, BuildConfig(**ONE))
    assert len(sentences(workspace)) == len(CLEAN) + 3
    before = corpus_overlap(workspace, [eval_file(tmp_path)]).to_json()["files"][0]["overlapping"]
    assert before == 3
    report = build_corpus(workspace, BuildConfig(**ONE, decontaminate=(str(eval_file(tmp_path)),))).data
    assert report["documents"]["read"] == 0 and report["decontamination"]["sentences removed"] == 3
    assert sorted(sentences(workspace)) == sorted(CLEAN)


def test_a_bad_evaluation_file_is_one_line_and_the_corpus_stays(workspace, tmp_path, run_kmb):
    add_raw(workspace, "a", planted_docs())
    build_corpus(workspace, BuildConfig(**ONE))
    before = sorted(p.name for p in (workspace.corpus / "sentences").iterdir())
    for bad in (tmp_path / "missing.tsv", tmp_path / "empty.txt"):
        if bad.name == "empty.txt":
            bad.write_text("", encoding="utf-8")
        code, _, stderr = run_kmb(
            "corpus", "build", "--workspace", workspace.root, "--workers", "1", "--decontaminate", bad
        )
        assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr
        assert sorted(p.name for p in (workspace.corpus / "sentences").iterdir()) == before


def test_a_failure_while_decontaminating_leaves_the_previous_corpus(workspace, tmp_path, monkeypatch):
    import kmb.corpus.decontaminate as decontaminate

    add_raw(workspace, "a", planted_docs())
    build_corpus(workspace, BuildConfig(**ONE))
    before = sorted(sentences(workspace))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a Ctrl-C in the middle of the step

    monkeypatch.setattr(decontaminate, "_decontaminate_part", killed)
    with pytest.raises(KeyboardInterrupt):
        build_corpus(workspace, BuildConfig(**ONE, decontaminate=(str(eval_file(tmp_path)),)))
    assert sorted(sentences(workspace)) == before
    assert not [p for p in workspace.root.iterdir() if p.name.startswith(".corpus-build-")]  # no build folder left


def test_the_cli_prints_what_each_file_removed(workspace, tmp_path, run_kmb):
    add_raw(workspace, "a", planted_docs())
    code, stdout, stderr = run_kmb("corpus", "build", "--workspace", workspace.root, "--workers", "1",
                                   "--decontaminate", eval_file(tmp_path))  # fmt: skip
    assert code == 0, stderr
    assert "3 sentences removed (test.txt 3)" in stdout
    with pytest.raises(KmbError, match="nope.txt"):
        build_corpus(workspace, BuildConfig(**ONE, decontaminate=("nope.txt",)))
