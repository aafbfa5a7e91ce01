"""`kmb terms count`: Aho-Corasick counts equal a brute-force count, in both modes."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from kmb.errors import KmbError
from kmb.storage import SENTENCES, TERMS, write_rows
from kmb.vocab.term_counts import CountConfig, count_workspace_terms

# Our own sentences: short terms hide inside longer words (위 in 위험, 위암), punctuation and
# repeated terms, a valid-split sentence that must not be counted.
SENTENCES_TRAIN = [
    ("d1", "위험한 위 질환은 위암으로 이어질 수 있다."),
    ("d1", "고혈압은 위험하다. (고혈압) 환자는 당뇨병도 많다."),
    ("d2", "위위위 소리가 났다"),
    ("d2", "당뇨병과 고혈압, 위염 그리고 위."),
    ("d3", "아무 용어도 없는 문장, 범위와 단위 안에서"),
    ("d3", "위~위\u3000위\t위염·위암"),
]
TERMS_LIST = ["위", "고혈압", "위암", "당뇨", "당뇨병", "위염", "위위", "없는용어"]


def brute_force(term: str, anywhere: bool) -> tuple[int, int]:
    """Occurrences (overlapping) and documents, by plain str.find."""
    count, docs = 0, set()
    for doc, text in SENTENCES_TRAIN:
        start = text.find(term)
        while start != -1:
            prev = text[start - 1] if start else " "
            if anywhere or prev.isspace() or not (prev.isalnum()):
                count += 1
                docs.add(doc)
            start = text.find(term, start + 1)
    return count, len(docs)


@pytest.fixture
def counted_workspace(workspace):
    rows = [
        dict(doc_id=d, source="test", sent_idx=i, text=t, n_chars=len(t), n_words=len(t.split()), split="train")
        for i, (d, t) in enumerate(SENTENCES_TRAIN)
    ]
    rows.append(
        dict(doc_id="v1", source="test", sent_idx=0, text="고혈압 고혈압 위", n_chars=9, n_words=3, split="valid")
    )
    write_rows(workspace.corpus / "sentences" / "part-a.parquet", rows[:3], SENTENCES)
    write_rows(workspace.corpus / "sentences" / "part-b.parquet", rows[3:], SENTENCES)
    write_rows(workspace.terms / "terms.parquet", [dict(term=t, sources=["test"]) for t in TERMS_LIST], TERMS)
    return workspace


@pytest.mark.parametrize("anywhere", [False, True])
def test_counts_equal_brute_force_in_process(counted_workspace, anywhere):
    summary = count_workspace_terms(counted_workspace, CountConfig(workers=1, anywhere=anywhere, batch_rows=2))
    table = pq.read_table(counted_workspace.terms / "term_freq.parquet").to_pylist()
    got = {r["term"]: (r["count"], r["doc_freq"]) for r in table}
    assert got == {t: brute_force(t, anywhere) for t in TERMS_LIST}
    assert {r["mode"] for r in table} == {"anywhere" if anywhere else "word-start"}
    assert summary["sentences"] == len(SENTENCES_TRAIN)  # valid split not read


def test_word_start_does_not_overcount_short_terms(counted_workspace):
    count_workspace_terms(counted_workspace, CountConfig(workers=1))
    word_start = {
        r["term"]: r["count"] for r in pq.read_table(counted_workspace.terms / "term_freq.parquet").to_pylist()
    }
    count_workspace_terms(counted_workspace, CountConfig(workers=1, anywhere=True))
    anywhere = {r["term"]: r["count"] for r in pq.read_table(counted_workspace.terms / "term_freq.parquet").to_pylist()}
    # 범위 and 단위 hold 위 inside a word: counted anywhere, not at word starts.
    assert anywhere["위"] - word_start["위"] >= 2
    assert anywhere["위위"] == 2 and word_start["위위"] == 1  # overlapping match inside 위위위 only counts at the start


def test_worker_processes_give_the_same_counts(counted_workspace):
    count_workspace_terms(counted_workspace, CountConfig(workers=1, batch_rows=2))
    one = pq.read_table(counted_workspace.terms / "term_freq.parquet").to_pylist()
    summary = count_workspace_terms(counted_workspace, CountConfig(workers=2, batch_rows=1))
    two = pq.read_table(counted_workspace.terms / "term_freq.parquet").to_pylist()
    assert one == two and summary["workers"] == 2
    con = counted_workspace.connect(read_only=True)
    try:
        assert con.execute("select count(*) from term_freq").fetchone()[0] == len(TERMS_LIST)
    finally:
        con.close()


def test_empty_term_table_is_one_clear_error_and_writes_nothing(counted_workspace):
    write_rows(counted_workspace.terms / "terms.parquet", [], TERMS)
    with pytest.raises(KmbError, match="term table is empty"):
        count_workspace_terms(counted_workspace, CountConfig(workers=1))
    assert not (counted_workspace.terms / "term_freq.parquet").exists()


def test_missing_corpus_is_one_clear_error(workspace):
    write_rows(workspace.terms / "terms.parquet", [dict(term="위", sources=["x"])], TERMS)
    with pytest.raises(KmbError, match="kmb corpus build"):
        count_workspace_terms(workspace, CountConfig(workers=1))
    assert not (workspace.terms / "term_freq.parquet").exists()
    assert [p.name for p in workspace.terms.iterdir()] == ["terms.parquet"]


def test_cli_terms_count(counted_workspace):
    from typer.testing import CliRunner

    from kmb.cli import app

    result = CliRunner().invoke(app, ["terms", "count", "-w", str(counted_workspace.root), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "word-start" in result.output and (counted_workspace.terms / "term_freq.parquet").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["terms", "count", "--workers", "-1"],
        ["terms", "count", "--batch-rows", "0"],
        ["vocab", "build", "--base-vocab", "x", "--min-count", "-1"],
        ["vocab", "build", "--base-vocab", "x", "--top", "-1"],
    ],
)
def test_bad_numbers_create_no_workspace(tmp_path, args):
    import subprocess
    import sys

    ws = tmp_path / "ws"
    proc = subprocess.run([sys.executable, "-m", "kmb", *args, "--workspace", str(ws)], capture_output=True, text=True)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not ws.exists()
