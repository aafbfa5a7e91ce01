"""PAIRS files: reading them, make-pairs from a corpus, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.pairs import make_pairs, read_pairs

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
HEADER = "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"


def test_pairs_reading_and_errors(tmp_path):
    pairs = read_pairs(SAMPLES / "pairs" / "medical_pairs.tsv")
    assert {p.type for p in pairs} == {"textbook", "news", "article"}
    bad = tmp_path / "pairs.tsv"
    bad.write_text("type\tsentence1\tsentence2\nnews\t가\n", encoding="utf-8")
    with pytest.raises(KmbError, match="3 tab-separated columns") as info:
        read_pairs(bad)
    assert info.value.line == 2
    bad.write_text("kind\ts1\ts2\n", encoding="utf-8")
    with pytest.raises(KmbError, match="header"):
        read_pairs(bad)


def _write_corpus(workspace):
    from kmb.storage import SENTENCES, write_rows

    def row(doc, source, idx, text, split="valid"):
        return {
            "doc_id": doc,
            "source": source,
            "sent_idx": idx,
            "text": text,
            "n_chars": len(text),
            "n_words": len(text.split()),
            "split": split,
        }

    rows = [
        row("n1", "naver_health", 0, "겨울철에는 독감 환자가 크게 늘어난다고 한다."),
        row("n1", "naver_health", 1, "전문가들은 예방접종을 서둘러 맞으라고 권했다."),
        row("n1", "naver_health", 3, "손을 자주 씻는 것도 중요한 예방 수칙이라고 한다."),  # gap: 2 was removed
        row("k1", "kci", 0, "본 연구는 노인 환자의 낙상 위험 요인을 분석하였다."),
        row("k1", "kci", 1, "대상자는 종합병원에 입원한 예순 명의 노인이었다."),
        row("k1", "kci", 2, "짧다."),
        row("t1", "textbook", 0, "심장은 온몸으로 혈액을 보내는 근육 기관이다.", "train"),
        row("t1", "textbook", 1, "심장은 네 개의 방으로 나뉘어 있는 구조이다.", "train"),
    ]
    write_rows(workspace.corpus / "sentences" / "part-0.parquet", rows, SENTENCES)


def test_make_pairs_from_corpus(workspace, tmp_path):
    _write_corpus(workspace)
    out = tmp_path / "pairs.tsv"
    counts = make_pairs(workspace.corpus / "sentences", out, split="valid", min_chars=10, per_type=10, seed=1)
    assert counts == {"news": 1, "article": 1}  # the gap and the short sentence make no pair
    pairs = read_pairs(out)
    news = [p for p in pairs if p.type == "news"][0]
    assert news.sentence1.startswith("겨울철에는") and news.sentence2.startswith("전문가들은")
    counts_all = make_pairs(workspace.corpus / "sentences", out, split=None, min_chars=10, per_type=10, seed=1)
    assert counts_all["textbook"] == 1
    first = out.read_text(encoding="utf-8")
    make_pairs(workspace.corpus / "sentences", out, split=None, min_chars=10, per_type=10, seed=1)
    assert out.read_text(encoding="utf-8") == first  # same seed, same file
    with pytest.raises(KmbError, match="no consecutive sentence pairs"):
        make_pairs(workspace.corpus / "sentences", tmp_path / "none.tsv", min_chars=500)
    assert not (tmp_path / "none.tsv").exists()  # nothing half-written


def test_cli_make_pairs_default_path(workspace):
    from typer.testing import CliRunner

    from kmb.cli import app

    _write_corpus(workspace)
    result = CliRunner().invoke(
        app, ["evaluate", "make-pairs", "--workspace", str(workspace.root), "--min-chars", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "total" in result.output
    assert len(read_pairs(workspace.root / "eval" / "pairs.tsv")) == 2
