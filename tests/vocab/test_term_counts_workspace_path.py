"""`kmb terms import/count/list` in a workspace whose path holds a quote and a space: the paths
reach DuckDB as bound parameters, never as SQL text."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from kmb.storage import SENTENCES, write_rows
from kmb.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def test_terms_commands_in_a_workspace_path_with_a_quote_and_a_space(tmp_path, run_kmb):
    ws = Workspace.open(tmp_path / "o'brien ws")
    texts = ["고혈압은 흔한 질환이다.", "천식 환자는 고혈압도 살핀다."]
    rows = [
        dict(doc_id=f"d{i}", source="test", sent_idx=0, text=t, n_chars=len(t), n_words=len(t.split()), split="train")
        for i, t in enumerate(texts)
    ]
    write_rows(ws.corpus / "sentences" / "part-a.parquet", rows, SENTENCES)
    sample = REPO / "samples" / "terms" / "medical_terms.tsv"
    code, out, err = run_kmb("terms", "import", sample, "--source", "custom", "--workspace", ws.root)
    assert code == 0, err
    code, out, err = run_kmb("terms", "list", "--contains", "고혈압", "--limit", "3", "--workspace", ws.root)
    assert code == 0, err
    assert "고혈압\tcustom\thypertension" in out
    code, out, err = run_kmb("terms", "count", "--workspace", ws.root, "--workers", "1")
    assert code == 0, err
    counts = {r["term"]: r["count"] for r in pq.read_table(ws.terms / "term_freq.parquet").to_pylist()}
    assert counts["고혈압"] == 2
