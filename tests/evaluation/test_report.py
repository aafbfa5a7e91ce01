"""`kmb evaluate report`: every run gathered in the paper's order."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.intrinsic import run_nsp
from kmb.evaluation.ner import run_ner
from kmb.evaluation.options import FinetuneConfig, IntrinsicConfig
from kmb.evaluation.report import build_report
from kmb.evaluation.results import resolve_models
from kmb.evaluation.sts import run_sts

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
QUICK = dict(grid="quick", batch_size=16, seed=3)


def test_report_gathers_runs(tiny_models, workspace):
    models = resolve_models([f"A={tiny_models[0]}", f"B={tiny_models[1]}"])
    data = SAMPLES / "pairs" / "medical_pairs.tsv"
    run_nsp(models, data, workspace.eval("nsp"), config=IntrinsicConfig(seed=1), progress=lambda _: None)
    run_sts(
        models,
        SAMPLES / "sts" / "medical_sts_train.tsv",
        SAMPLES / "sts" / "medical_sts_test.tsv",
        workspace.eval("sts"),
        heads=("regression",),
        config=FinetuneConfig(**QUICK),
        max_train=40,
        max_test=20,
        progress=lambda _: None,
    )
    text = build_report(workspace.root / "eval")
    assert (workspace.root / "eval" / "report.md").read_text(encoding="utf-8") == text
    assert "## Winners" in text and "| nsp | nsp |" in text and "| sts | sts |" in text
    assert "paper Table 2" in text and "paper Table 3" in text
    assert "![nsp nsp](nsp/nsp.png)" in text
    assert text.index("Table 2") < text.index("Table 3")


def test_report_without_results_is_an_error(workspace):
    with pytest.raises(KmbError, match="no evaluation results"):
        build_report(workspace.root / "eval")


def test_report_marks_nsp_na_and_ner_paper_scheme(tiny_models, tiny_roberta, workspace, tmp_path):
    models = resolve_models([f"bert={tiny_models[0]}", f"roberta={tiny_roberta}"])
    run_nsp(
        models,
        SAMPLES / "pairs" / "medical_pairs.tsv",
        workspace.eval("nsp"),
        config=IntrinsicConfig(seed=1),
        progress=lambda _: None,
    )
    text = (SAMPLES / "ner" / "medical_ner_sample.txt").read_text(encoding="utf-8")
    subset = tmp_path / "six_docs.txt"
    subset.write_text("-DOCSTART-".join(text.split("-DOCSTART-")[:7]), encoding="utf-8")
    run_ner(
        models[:1],
        subset,
        workspace.eval("ner-paper"),
        folds=2,
        scheme="paper",
        config=FinetuneConfig(**QUICK),
        progress=lambda _: None,
    )
    report = build_report(workspace.root / "eval")
    assert any(row.startswith("| roberta |") and "n/a" in row for row in report.splitlines())
    assert "NER word macro F1 (paper's metric, paper scheme)" in report and "scheme paper" in report
