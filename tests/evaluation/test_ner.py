"""`kmb evaluate ner` on tiny models: KM-BERT and KLUE formats, the CLI, schemes, leaks, RoBERTa."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kmb.evaluation import metrics
from kmb.evaluation.ner import run_ner
from kmb.evaluation.ner_data import read_ner
from kmb.evaluation.options import FinetuneConfig
from kmb.evaluation.results import resolve_models

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
    result = run_ner(
        models,
        SAMPLES / "ner" / "medical_ner_sample.txt",
        workspace.eval("ner"),
        fmt="kmbert",
        folds=2,
        config=FinetuneConfig(**QUICK),
        predictions_out=preds,
        progress=lambda _: None,
    )
    assert set(result["models"]) == {"A", "B"}
    assert len(result["per_fold"]) == 4 and all(r["seconds"] > 0 for r in result["per_fold"])
    for name in ("A", "B"):
        words, gold, pred = _read_predictions(tmp_path / f"preds.{name}.tsv")
        assert len(words) == 126  # every sentence of the sample tested exactly once
        # anyone can recompute the pooled scores from the predictions file
        assert metrics.entity_scores(gold, pred) == result["models"][name]["pooled_entity"]
        assert 0.0 <= result["models"][name]["entity_micro_f1"]["mean"] <= 1.0
        # the word-level numbers per fold, recomputed from the same file: macro is the paper's, micro its own
        rows = [r for r in result["per_fold"] if r["model"] == name]
        start = 0
        for row in rows:
            fold_scores = metrics.word_level_scores(
                gold[start : start + row["n_test"]], pred[start : start + row["n_test"]]
            )
            assert row["word_macro_f1"] == pytest.approx(fold_scores["macro"]["f1"])
            assert row["word_micro_f1"] == pytest.approx(fold_scores["micro"]["f1"])
            start += row["n_test"]
    for name in ("result.json", "ner_folds.csv", "ner.md", "ner_f1.png"):
        assert (workspace.eval("ner") / name).stat().st_size > 0
    assert "| Model | F1 |" in (workspace.eval("ner") / "ner.md").read_text(encoding="utf-8")


def test_ner_klue_real_data(tiny_models, tmp_path, shared_data):
    source = shared_data / "klue-ner" / "klue-ner-v1.1_dev.first1000.tsv"
    subset = tmp_path / "klue-subset.tsv"  # the first 36 sentences, in a temp dir only
    lines = source.read_text(encoding="utf-8").split("\n\n")[:36]
    subset.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    models = resolve_models([str(tiny_models[0])])
    result = run_ner(
        models, subset, tmp_path / "out", fmt="klue", folds=2, config=FinetuneConfig(**QUICK), progress=lambda _: None
    )
    assert result["labels"][0] == "O" and "B-PS" in result["labels"]
    assert sum(r["n_test"] for r in result["per_fold"]) == 36


def test_cli_ner_quick(tiny_models, tmp_path):
    from typer.testing import CliRunner

    from kmb.cli import app

    # the first six documents of the sample keep this CLI check short
    text = (SAMPLES / "ner" / "medical_ner_sample.txt").read_text(encoding="utf-8")
    subset = tmp_path / "six_docs.txt"
    subset.write_text("-DOCSTART-".join(text.split("-DOCSTART-")[:7]), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "ner",
            "--model",
            f"tiny={tiny_models[0]}",
            "--data",
            str(subset),
            "--folds",
            "2",
            "--grid",
            "quick",
            "--batch-size",
            "16",
            "--workspace",
            str(tmp_path / "ws"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fold 1/2" in result.output and "ner results in" in result.output
    saved = json.loads((tmp_path / "ws" / "eval" / "ner" / "result.json").read_text(encoding="utf-8"))
    assert saved["task"] == "ner" and saved["folds"] == 2


def _six_docs(tmp_path: Path) -> Path:
    text = (SAMPLES / "ner" / "medical_ner_sample.txt").read_text(encoding="utf-8")
    subset = tmp_path / "six_docs.txt"
    subset.write_text("-DOCSTART-".join(text.split("-DOCSTART-")[:7]), encoding="utf-8")
    return subset


def _leaky_folds(folder: Path) -> Path:
    """Two folds under public-style names; fold 1's test repeats 2 of its 4 sentences from training."""
    from kmb.evaluation.ner_data import documents, read_ner

    docs = documents(read_ner(SAMPLES / "ner" / "medical_ner_sample.txt", "kmbert"))[:8]

    def write(path: Path, sentences) -> None:
        path.write_text(
            "".join("".join(f"{w} {'X' * len(w)} {t}\n" for w, t in zip(s.words, s.tags)) + "\n" for s in sentences),
            encoding="utf-8",
        )

    folder.mkdir()
    first, second = [s for d in docs[:4] for s in d], [s for d in docs[4:] for s in d]
    write(folder / "train_med1.txt", second + first[:2])
    write(folder / "test_med1.txt", first[:4])
    write(folder / "train_med2.txt", first)
    write(folder / "eval_med2.txt", second[:4])
    return folder


def test_decode_sums_the_subtoken_logits_in_the_paper_scheme():
    from kmb.evaluation.ner import decode
    from kmb.evaluation.ner_data import NerSentence, NerWindow

    sentence = NerSentence(["두통이", "열"], ["B-ST", "O"], "d")
    window = NerWindow(0, 0, 2, [2, 10, 11, 12, 13, 3], [-100, 1, 1, 1, 0, -100], [(1, 4), (4, 5)])
    logits = np.zeros((6, 2))
    logits[1] = [0.0, 1.0]  # the first sub-token says ST ...
    logits[2] = logits[3] = [1.0, 0.0]  # ... the other two, summed, say O
    logits[4] = [0.0, 2.0]
    labels = ["O", "ST"]
    assert decode([sentence], [window], [logits], labels) == [["ST", "ST"]]
    assert decode([sentence], [window], [logits], labels, every_subtoken=True) == [["O", "ST"]]


def test_paper_labelling_merges_b_and_i():
    from kmb.evaluation.ner import Labelling
    from kmb.evaluation.ner_data import read_ner

    labelling = Labelling.of("paper", read_ner(SAMPLES / "ner" / "medical_ner_sample.txt", "kmbert"))
    assert labelling.labels == ["O", "BD", "DS", "ST"] and labelling.every_subtoken
    assert labelling.label_ids["B-DS"] == labelling.label_ids["I-DS"] == 2


def test_ner_leaks_per_fold_and_paper_metric_in_every_output(tiny_models, tmp_path):
    folder = _leaky_folds(tmp_path / "folds")
    lines: list[str] = []
    result = run_ner(
        resolve_models([f"A={tiny_models[0]}"]),
        folder,
        tmp_path / "out",
        config=FinetuneConfig(**QUICK),
        progress=lines.append,
    )
    assert [(x["leaked"], x["n_test"]) for x in result["leaks"]] == [
        (2, result["per_fold"][0]["n_test"]),
        (0, result["per_fold"][1]["n_test"]),
    ]
    assert result["per_fold"][0]["leaks"] == 2 and result["per_fold"][0]["leak_share"] == pytest.approx(
        2 / result["per_fold"][0]["n_test"]
    )
    assert any(line.startswith("ner fold 1: 2 of") for line in lines)
    summary = result["models"]["A"]
    assert summary["word_macro_f1"]["mean"] == pytest.approx(np.mean([r["word_macro_f1"] for r in result["per_fold"]]))
    table = (tmp_path / "out" / "ner.md").read_text(encoding="utf-8")
    assert "word macro F1 (paper's metric) | word micro F1 |" in table and "fold 1 2/" in table
    row = next(r for r in table.splitlines() if r.startswith("| A |"))
    assert (
        f"{summary['word_macro_f1']['mean']:.3f} ± {summary['word_macro_f1']['std']:.3f} | {summary['word_micro_f1']['mean']:.3f}"
        in row
    )
    saved = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert saved["leaks"][0]["leaked"] == 2 and saved["scheme"] == "bio" and "word_macro_f1" in saved["models"]["A"]


def test_cli_ner_paper_scheme_and_drop_leaks(tiny_models, tmp_path):
    from typer.testing import CliRunner

    from kmb.cli import app

    folder = _leaky_folds(tmp_path / "folds")
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "ner",
            "--model",
            f"tiny={tiny_models[0]}",
            "--data",
            str(folder),
            "--scheme",
            "paper",
            "--drop-leaks",
            "--grid",
            "quick",
            "--batch-size",
            "16",
            "--workspace",
            str(tmp_path / "ws"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "entity F1 n/a (paper scheme)" in result.output
        and "word macro F1" in result.output
        and "(paper's metric)" in result.output
    )
    assert "leaks per fold" in result.output and "2 training copies dropped" in result.output
    saved = json.loads((tmp_path / "ws" / "eval" / "ner" / "result.json").read_text(encoding="utf-8"))
    assert (
        saved["scheme"] == "paper" and saved["labels"] == ["O", "BD", "DS", "ST"] and saved["leaks"][0]["dropped"] == 2
    )
    fold1 = saved["per_fold"][0]
    assert fold1["entity_micro_f1"] is None and 0.0 <= fold1["word_macro_f1"] <= 1.0
    assert saved["models"]["tiny"]["pooled_entity"] is None
    assert "scheme paper" in (tmp_path / "ws" / "eval" / "ner" / "ner.md").read_text(encoding="utf-8")


def test_ner_on_a_tiny_roberta(tiny_roberta, tmp_path):
    models = resolve_models([f"roberta={tiny_roberta}"])
    result = run_ner(
        models, _six_docs(tmp_path), tmp_path / "out", folds=2, config=FinetuneConfig(**QUICK), progress=lambda _: None
    )
    assert 0.0 <= result["models"]["roberta"]["entity_micro_f1"]["mean"] <= 1.0
    assert sum(r["n_test"] for r in result["per_fold"]) == len(read_ner(_six_docs(tmp_path), "kmbert"))
