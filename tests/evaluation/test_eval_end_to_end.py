"""End to end on tiny models: ner (KM-BERT and KLUE formats), sts (KorSTS), mlm, nsp, report, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation import metrics
from kmb.evaluation.finetune import FinetuneConfig
from kmb.evaluation.intrinsic import IntrinsicConfig, not_next_pairs, run_mlm, run_nsp
from kmb.evaluation.ner import run_ner
from kmb.evaluation.pairs import read_pairs
from kmb.evaluation.report import build_report
from kmb.evaluation.results import resolve_models
from kmb.evaluation.sts import run_sts

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
QUICK = dict(grid="quick", batch_size=16, seed=3)


def _read_predictions(path: Path):
    words, gold, pred = [[]], [[]], [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            words.append([]), gold.append([]), pred.append([])
            continue
        w, g, p = line.split("\t")
        words[-1].append(w), gold[-1].append(g), pred[-1].append(p)
    keep = [i for i, s in enumerate(words) if s]
    return [words[i] for i in keep], [gold[i] for i in keep], [pred[i] for i in keep]


def test_ner_kmbert_sample_two_models(tiny_models, workspace, tmp_path):
    models = resolve_models([f"A={tiny_models[0]}", f"B={tiny_models[1]}"])
    preds = tmp_path / "preds.tsv"
    result = run_ner(models, SAMPLES / "ner" / "medical_ner_sample.txt", workspace.eval("ner"), fmt="kmbert", folds=2,
                     config=FinetuneConfig(**QUICK), predictions_out=preds, progress=lambda _: None)
    assert set(result["models"]) == {"A", "B"}
    assert len(result["per_fold"]) == 4 and all(r["seconds"] > 0 for r in result["per_fold"])
    for name in ("A", "B"):
        words, gold, pred = _read_predictions(tmp_path / f"preds.{name}.tsv")
        assert len(words) == 126  # every sentence of the sample tested exactly once
        # anyone can recompute the pooled scores from the predictions file
        assert metrics.entity_scores(gold, pred) == result["models"][name]["pooled_entity"]
        assert 0.0 <= result["models"][name]["entity_micro_f1"]["mean"] <= 1.0
    for name in ("result.json", "ner_folds.csv", "ner.md", "ner_f1.png"):
        assert (workspace.eval("ner") / name).stat().st_size > 0
    assert "| Model | F1 |" in (workspace.eval("ner") / "ner.md").read_text(encoding="utf-8")


def test_ner_klue_real_data(tiny_models, tmp_path, shared_data):
    source = shared_data / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv"
    subset = tmp_path / "klue-subset.tsv"  # the first 36 sentences, in a temp dir only
    lines = source.read_text(encoding="utf-8").split("\n\n")[:36]
    subset.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    models = resolve_models([str(tiny_models[0])])
    result = run_ner(models, subset, tmp_path / "out", fmt="klue", folds=2, config=FinetuneConfig(**QUICK), progress=lambda _: None)
    assert result["labels"][0] == "O" and "B-PS" in result["labels"]
    assert sum(r["n_test"] for r in result["per_fold"]) == 36


def test_sts_korsts_real_subset(tiny_models, tmp_path, shared_data):
    models = resolve_models([str(tiny_models[0])])
    preds = tmp_path / "sts.tsv"
    result = run_sts(models, shared_data / "korsts" / "sts-train.tsv", shared_data / "korsts" / "sts-dev.tsv", tmp_path / "out",
                     config=FinetuneConfig(**QUICK), predictions_out=preds, max_train=48, max_test=24, progress=lambda _: None)
    scores = result["models"][models[0].name]
    assert set(scores) >= {"regression", "6class"}
    rows = [line.split("\t") for line in preds.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 24 and rows[0][2] == "안전모를 가진 한 남자가 춤을 추고 있다."
    gold, pred = [float(r[0]) for r in rows], [float(r[1]) for r in rows]
    assert scores["regression"]["pearson"] == pytest.approx(metrics.correlations(gold, pred)["pearson"], abs=1e-3)
    assert all(0.0 <= p <= 5.0 for p in pred)


def test_mlm_and_nsp_are_seeded_and_per_type(tiny_models, tmp_path):
    models = resolve_models([f"A={tiny_models[0]}", f"B={tiny_models[1]}"])
    data = SAMPLES / "pairs" / "medical_pairs.tsv"
    config = IntrinsicConfig(repeats=3, seed=5)
    first = run_mlm(models, data, tmp_path / "mlm1", config=config, progress=lambda _: None)
    second = run_mlm(models, data, tmp_path / "mlm2", config=config, progress=lambda _: None)
    assert first["models"] == second["models"]
    assert list(first["models"]["A"]) == ["textbook", "news", "article", "overall"]
    assert len(first["models"]["A"]["overall"]["values"]) == 3
    assert (tmp_path / "mlm1" / "mlm.png").stat().st_size > 0
    csv_rows = (tmp_path / "mlm1" / "mlm_repeats.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_rows) == 1 + 2 * 3 * 4 and all(int(r.split(",")[3]) > 0 for r in csv_rows[1:])

    nsp = run_nsp(models, data, tmp_path / "nsp", config=config, progress=lambda _: None)
    acc = nsp["models"]["A"]["accuracy"]
    assert set(acc) == {f"{t}/{l}" for t in ("textbook", "news", "article") for l in ("IsNext", "NotNext")} | {"overall"}
    # with equal IsNext and NotNext counts, overall is the mean of the two label accuracies per type
    assert acc["overall"] == pytest.approx(sum(v for k, v in acc.items() if k != "overall") / 6)
    assert (tmp_path / "nsp" / "nsp.png").stat().st_size > 0


def test_not_next_pairs_stay_within_type_and_are_seeded():
    pairs = read_pairs(SAMPLES / "pairs" / "medical_pairs.tsv")
    negatives = not_next_pairs(pairs, seed=1)
    assert negatives == not_next_pairs(pairs, seed=1)
    by_second = {p.sentence2: p.type for p in pairs}
    for positive, negative in zip(pairs, negatives):
        assert negative.sentence1 == positive.sentence1 and negative.sentence2 != positive.sentence2
        assert by_second[negative.sentence2] == positive.type


def test_report_gathers_runs(tiny_models, workspace):
    models = resolve_models([f"A={tiny_models[0]}", f"B={tiny_models[1]}"])
    data = SAMPLES / "pairs" / "medical_pairs.tsv"
    run_nsp(models, data, workspace.eval("nsp"), config=IntrinsicConfig(seed=1), progress=lambda _: None)
    run_sts(models, SAMPLES / "sts" / "medical_sts_train.tsv", SAMPLES / "sts" / "medical_sts_test.tsv", workspace.eval("sts"),
            heads=("regression",), config=FinetuneConfig(**QUICK), max_train=40, max_test=20, progress=lambda _: None)
    text = build_report(workspace.root / "eval")
    assert (workspace.root / "eval" / "report.md").read_text(encoding="utf-8") == text
    assert "## Winners" in text and "| nsp | nsp |" in text and "| sts | sts |" in text
    assert "paper Table 2" in text and "paper Table 3" in text
    assert "![nsp nsp](nsp/nsp.png)" in text
    assert text.index("Table 2") < text.index("Table 3")


def test_report_without_results_is_an_error(workspace):
    with pytest.raises(KmbError, match="no evaluation results"):
        build_report(workspace.root / "eval")


def test_model_without_tokenizer_is_one_clear_line(model_without_tokenizer, tmp_path):
    pairs = SAMPLES / "pairs" / "medical_pairs.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "kmb", "evaluate", "nsp", "--model", str(model_without_tokenizer), "--data", str(pairs), "--workspace", str(tmp_path / "ws")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and "no tokenizer" in lines[0]
    assert not (tmp_path / "ws" / "eval" / "nsp").exists()


def test_model_without_nsp_head_is_an_error(tiny_models, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    bare = tmp_path / "token-model"
    AutoModelForTokenClassification.from_pretrained(str(tiny_models[0]), num_labels=3).save_pretrained(bare)
    AutoTokenizer.from_pretrained(str(tiny_models[0])).save_pretrained(bare)
    with pytest.raises(KmbError, match="no next-sentence-prediction head"):
        run_nsp(resolve_models([str(bare)]), SAMPLES / "pairs" / "medical_pairs.tsv", tmp_path / "out", progress=lambda _: None)


def test_cli_ner_quick(tiny_models, tmp_path):
    from typer.testing import CliRunner

    from kmb.cli import app

    # the first six documents of the sample keep this CLI check short
    text = (SAMPLES / "ner" / "medical_ner_sample.txt").read_text(encoding="utf-8")
    subset = tmp_path / "six_docs.txt"
    subset.write_text("-DOCSTART-".join(text.split("-DOCSTART-")[:7]), encoding="utf-8")
    result = CliRunner().invoke(app, [
        "evaluate", "ner", "--model", f"tiny={tiny_models[0]}", "--data", str(subset),
        "--folds", "2", "--grid", "quick", "--batch-size", "16", "--workspace", str(tmp_path / "ws"),
    ])
    assert result.exit_code == 0, result.output
    assert "fold 1/2" in result.output and "ner results in" in result.output
    saved = json.loads((tmp_path / "ws" / "eval" / "ner" / "result.json").read_text(encoding="utf-8"))
    assert saved["task"] == "ner" and saved["folds"] == 2
