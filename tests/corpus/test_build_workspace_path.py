"""`kmb corpus add/build/stats/export` in a workspace whose path holds a quote and a space: every
path reaches DuckDB as a bound parameter (or, in a view, a literal quoted by storage.sql_string)."""

from __future__ import annotations

from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "textbooks"


def test_corpus_commands_in_a_workspace_path_with_a_quote_and_a_space(tmp_path, run_kmb):
    ws = tmp_path / "o'brien ws"
    books = tmp_path / "books"
    books.mkdir()
    for name in ("01_hypertension.txt", "02_diabetes.txt"):
        (books / name).write_bytes((SAMPLES / name).read_bytes())
    code, out, err = run_kmb("corpus", "add", books, "--source", "textbook", "--workspace", ws)
    assert code == 0, err
    code, out, err = run_kmb("corpus", "build", "-w", ws, "--workers", "1")
    assert code == 0, err
    # An incremental build reads the existing corpus's sentences too (the dedup's second path).
    more = tmp_path / "more"
    more.mkdir()
    (more / "03.txt").write_bytes((SAMPLES / "03_myocardial_infarction.txt").read_bytes())
    code, out, err = run_kmb("corpus", "add", more, "--source", "textbook", "--workspace", ws)
    assert code == 0, err
    code, out, err = run_kmb("corpus", "build", "-w", ws, "--workers", "1")
    assert code == 0, err
    code, out, err = run_kmb("corpus", "stats", "-w", ws)
    assert code == 0, err
    assert "textbook / " in out
    target = tmp_path / "corpus.txt"
    code, out, err = run_kmb("corpus", "export", "-w", ws, "--format", "txt", "--split", "all", "-o", target)
    assert code == 0, err
    assert target.read_text(encoding="utf-8").strip()

    con = duckdb.connect(str(ws / "kmb.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from documents").fetchone()[0] == 3
        assert con.execute("select count(distinct doc_id) from sentences").fetchone()[0] == 3
    finally:
        con.close()
