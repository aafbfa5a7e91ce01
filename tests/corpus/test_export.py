"""`kmb corpus export` through the library and the command line (with build and stats)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kmb.cli import app
from kmb.corpus.export import export_corpus
from kmb.errors import KmbError


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


def test_export_bad_input(workspace, tmp_path):
    with pytest.raises(KmbError, match="no corpus sentences yet"):
        export_corpus(workspace, tmp_path / "x.txt")
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
