"""A damaged corpus part is named before any reader of the corpus starts work (issue 29.3)."""

from __future__ import annotations

import pytest

from kmb.storage import SENTENCES, TERMS, write_rows

ROWS = [
    dict(doc_id=f"d{i}", source="news", sent_idx=0, text=f"고혈압 환자 {i}번째 문장이다.", n_chars=14, n_words=4,
         split="train" if i % 3 else "valid")
    for i in range(30)
]  # fmt: skip


@pytest.fixture
def damaged(workspace):
    write_rows(workspace.corpus / "sentences" / "part-a.parquet", ROWS, SENTENCES)
    bad = workspace.corpus / "sentences" / "part-b.parquet"
    write_rows(bad, ROWS, SENTENCES)
    bad.write_bytes(bad.read_bytes()[:-30])  # the footer cut off
    write_rows(workspace.terms / "terms.parquet", [dict(term="고혈압", sources=["test"])], TERMS)
    return workspace, bad


@pytest.mark.parametrize(
    "args,output",
    [
        (["corpus", "export", "--format", "txt"], "corpus/export"),
        (["corpus", "stats"], "corpus/stats"),
        (["terms", "count", "--workers", "1"], "terms/term_freq.parquet"),
        (["evaluate", "make-pairs", "--split", "all"], "eval/pairs.tsv"),
    ],
)
def test_each_reader_names_the_damaged_part_and_writes_nothing(damaged, run_kmb, args, output):
    workspace, bad = damaged
    code, _, stderr = run_kmb(*args, "--workspace", workspace.root)
    assert code == 1 and len(stderr.strip().splitlines()) == 1, stderr
    assert "damaged" in stderr and bad.name in stderr and "Traceback" not in stderr
    assert not (workspace.root / output).exists()


def test_a_damaged_term_table_is_named_by_vocab_build(workspace, tmp_path, run_kmb):
    write_rows(workspace.corpus / "sentences" / "part-a.parquet", ROWS, SENTENCES)
    terms = workspace.terms / "terms.parquet"
    write_rows(terms, [dict(term="고혈압", sources=["test"])], TERMS)
    terms.write_bytes(terms.read_bytes()[:-30])
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "고", "##혈", "##압"]) + "\n", encoding="utf-8"
    )
    code, _, stderr = run_kmb("vocab", "build", "--base-vocab", vocab, "--workspace", workspace.root)
    assert code == 1 and "damaged" in stderr and "terms.parquet" in stderr
    assert not (workspace.root / "vocab" / "medical").exists()
