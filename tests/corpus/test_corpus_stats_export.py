"""`kmb corpus stats` and `kmb corpus export`, through the library and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from kmb.cli import app
from kmb.corpus.build import BuildConfig, build_corpus
from kmb.corpus.export import export_corpus
from kmb.corpus.stats import corpus_stats
from kmb.storage import DOCUMENTS, write_rows
from kmb.errors import KmbError

DOCS = [
    ("n:1", "naver_health", "[헬스조선 김민준 기자] 독감 예방접종은 매년 맞아야 한다. 접종 후 2주가 지나야 항체가 생긴다.\n"
                            "김민준 기자 minjun@example.com\nⓒ 헬스조선, 무단전재 및 재배포 금지"),
    ("n:2", "naver_health", "고혈압 환자는 싱겁게 먹어야 한다. 하루 30분 걷기도 도움이 된다. 짧다."),
    ("k:1", "kci", "본 연구는 당뇨병 환자의 운동 효과를 분석하였다. 운동군의 혈당이 유의하게 감소하였다.\n참고문헌\n1. 김민준. 운동. 2020."),
    ("k:2", "kci", "고혈압 환자는 싱겁게 먹어야 한다. 수면의 질이 혈압 조절과 관련이 있음을 확인하였다."),
]


@pytest.fixture
def built(workspace):
    for source in ("naver_health", "kci"):
        rows = [{"doc_id": d, "source": s, "text": t} for d, s, t in DOCS if s == source]
        write_rows(workspace.raw(source) / "part-1.parquet", rows, DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1, valid_ratio=0.5, seed=3))
    return workspace


def test_stats_counts_and_histograms(built):
    stats = corpus_stats(built)
    by = {(r["source"], r["split"]): r for r in stats["by_source_split"]}
    assert sum(r["sentences"] for r in by.values()) == 7
    assert sum(r["documents"] for r in by.values()) == 4
    assert {s for s, _ in by} == {"naver_health", "kci"}
    assert all(r["words"] > 0 and r["characters"] > r["words"] for r in by.values())
    assert stats["documents"] == {"kept": 4}
    assert stats["filters"]["too_short"] == 1
    assert stats["duplicate_sentences"] == 1
    assert stats["cleaning"]["references"] == 1 and stats["cleaning"]["byline"] == 1
    assert len(stats["plots"]) == 3
    for plot in stats["plots"]:
        with open(plot, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_export_txt_has_blank_lines_between_documents(built, tmp_path):
    out = tmp_path / "all.txt"
    counts = export_corpus(built, out, "txt", "all")
    assert counts["sentences"] == 7 and counts["documents"] == 4
    blocks = out.read_text(encoding="utf-8").strip("\n").split("\n\n")
    assert len(blocks) == 4
    assert sum(len(b.split("\n")) for b in blocks) == 7
    train = export_corpus(built, tmp_path / "train.txt", "txt", "train")
    valid = export_corpus(built, tmp_path / "valid.txt", "txt", "valid")
    assert train["sentences"] + valid["sentences"] == 7


def test_export_jsonl_one_object_per_sentence(built, tmp_path):
    out = tmp_path / "all.jsonl"
    export_corpus(built, out, "jsonl", "all")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 7
    assert set(rows[0]) == {"doc_id", "source", "sent_idx", "text", "split"}


def test_export_and_stats_bad_input(workspace, tmp_path):
    with pytest.raises(KmbError, match="no corpus sentences yet"):
        export_corpus(workspace, tmp_path / "x.txt")
    with pytest.raises(KmbError, match="no corpus sentences yet"):
        corpus_stats(workspace)
    with pytest.raises(KmbError, match="unknown format"):
        export_corpus(workspace, tmp_path / "x.csv", "csv")


def test_cli_build_stats_export(built, tmp_path):
    runner = CliRunner()
    ws = str(built.root)
    result = runner.invoke(app, ["corpus", "build", "-w", ws, "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "new documents read" in result.output  # nothing new, still a summary
    result = runner.invoke(app, ["corpus", "stats", "-w", ws])
    assert result.exit_code == 0, result.output
    assert "naver_health / " in result.output and "histograms" in result.output
    out = tmp_path / "corpus.txt"
    result = runner.invoke(app, ["corpus", "export", "-w", ws, "--format", "txt", "--split", "all", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("\n\n") == 3


def test_cli_error_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kmb.cli", "corpus", "build", "-w", str(tmp_path / "ws")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and "no raw document tables" in lines[0]
