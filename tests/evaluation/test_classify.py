"""`kmb evaluate classify` on tiny models: k folds x seeds, text pairs, KLUE-NLI, the CLI, bad input."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from kmb.errors import KmbError
from kmb.evaluation.classify import run_classify
from kmb.evaluation.options import FinetuneConfig
from kmb.evaluation.results import resolve_models

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "classify"
QUICK = dict(grid="quick", batch_size=16, seed=3)


def _read_predictions(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _mean_std(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def test_reported_numbers_equal_a_recomputation_from_the_predictions(tiny_models, tmp_path):
    models = resolve_models([f"A={tiny_models[0]}", f"B={tiny_models[1]}"])
    preds = tmp_path / "preds.tsv"
    result = run_classify(
        models,
        tmp_path / "out",
        data=SAMPLES / "medical_sentences.tsv",
        folds=2,
        seeds=2,
        config=FinetuneConfig(**QUICK),
        predictions_out=preds,
        progress=lambda _: None,
    )
    assert result["labels"] == ["BD", "DS", "ST", "none"] and result["folds"] == 2 and result["seeds"] == 2
    for name in ("A", "B"):
        rows = _read_predictions(tmp_path / f"preds.{name}.tsv")
        assert list(rows[0]) == ["fold", "seed", "gold", "pred", "text"]
        assert len(rows) == 2 * 126  # every example tested once per seed
        by_run = defaultdict(lambda: ([], []))
        for row in rows:
            gold, pred = by_run[(int(row["fold"]), int(row["seed"]))]
            gold.append(row["gold"]), pred.append(row["pred"])
        assert sorted(by_run) == [(1, 3), (1, 4), (2, 3), (2, 4)]
        runs = [r for r in result["per_run"] if r["model"] == name]
        accuracies, macros = [], []
        for run in runs:
            gold, pred = by_run[(run["fold"], run["seed"])]
            accuracies.append(accuracy_score(gold, pred))
            macros.append(f1_score(gold, pred, average="macro", zero_division=0))
            assert run["accuracy"] == pytest.approx(accuracies[-1]) and run["macro_f1"] == pytest.approx(macros[-1])
            assert run["n_test"] == len(gold)
        summary = result["models"][name]
        assert (summary["accuracy"]["mean"], summary["accuracy"]["std"]) == pytest.approx(_mean_std(accuracies))
        assert (summary["macro_f1"]["mean"], summary["macro_f1"]["std"]) == pytest.approx(_mean_std(macros))
        pooled_gold, pooled_pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
        assert summary["pooled"]["accuracy"] == pytest.approx(accuracy_score(pooled_gold, pooled_pred))
    out = tmp_path / "out"
    for name in ("result.json", "classify_runs.csv", "classify.md", "classify.png"):
        assert (out / name).stat().st_size > 0
    table = (out / "classify.md").read_text(encoding="utf-8")
    a = result["models"]["A"]
    assert (
        f"| {a['accuracy']['mean']:.3f} ± {a['accuracy']['std']:.3f} | {a['macro_f1']['mean']:.3f} ± {a['macro_f1']['std']:.3f} | 4 |"
        in table
    )
    assert json.loads((out / "result.json").read_text(encoding="utf-8"))["task"] == "classify"


def test_text_pairs_on_a_given_split(tiny_models, tmp_path):
    models = resolve_models([str(tiny_models[0])])
    preds = tmp_path / "pairs.tsv"
    result = run_classify(
        models,
        tmp_path / "out",
        train=SAMPLES / "medical_paraphrase_train.tsv",
        test=SAMPLES / "medical_paraphrase_test.tsv",
        config=FinetuneConfig(**QUICK),
        predictions_out=preds,
        progress=lambda _: None,
    )
    assert result["mode"] == "given" and result["paired"] and result["labels"] == ["different", "similar"]
    [run] = result["per_run"]
    assert (run["n_train"] + run["n_dev"], run["n_test"]) == (120, 30)
    rows = _read_predictions(preds)
    assert list(rows[0]) == ["fold", "seed", "gold", "pred", "text", "text_pair"]
    assert rows[0]["text_pair"] == "혈당이 떨어지면 진땀이 나고 손 떨림이 생긴다."
    assert {r["pred"] for r in rows} <= {"different", "similar"}
    assert run["accuracy"] == pytest.approx(accuracy_score([r["gold"] for r in rows], [r["pred"] for r in rows]))
    assert "Text pairs, 2 labels (different, similar)" in (tmp_path / "out" / "classify.md").read_text(encoding="utf-8")


def _klue_nli(path: Path, pairs) -> Path:
    records = [
        {"guid": f"klue-nli-v1_x_{i:05d}", "premise": p, "hypothesis": h, "gold_label": g}
        for i, (p, h, g) in enumerate(pairs)
    ]
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")
    return path


def _nli_pairs(rows: int, offset: int = 0):
    """NLI-shaped records from the bundled paraphrase sample (similar -> entailment, else neutral/contradiction)."""
    from kmb.corpus.classify_files import read_classify

    examples = read_classify(SAMPLES / "medical_paraphrase_train.tsv")[offset : offset + rows]
    names = ["neutral", "contradiction"]
    return [
        (e.text, e.text_pair, "entailment" if e.label == "similar" else names[i % 2]) for i, e in enumerate(examples)
    ]


def test_klue_nli_json_runs_as_text_pairs(tiny_roberta, tmp_path):
    # a RoBERTa (one segment type) reads the pairs without token type ids
    train = _klue_nli(tmp_path / "klue-nli-v1.1_train.json", _nli_pairs(36))
    test = _klue_nli(tmp_path / "klue-nli-v1.1_dev.json", _nli_pairs(12, 60))
    result = run_classify(
        resolve_models([f"roberta={tiny_roberta}"]),
        tmp_path / "out",
        train=train,
        test=test,
        config=FinetuneConfig(**QUICK),
        progress=lambda _: None,
    )
    assert result["paired"] and result["labels"] == ["contradiction", "entailment", "neutral"]
    assert 0.0 <= result["models"]["roberta"]["accuracy"]["mean"] <= 1.0


def test_data_options_are_checked_first(tiny_models, tmp_path):
    models = resolve_models([str(tiny_models[0])])
    data = SAMPLES / "medical_sentences.tsv"
    for kwargs, message in (
        (dict(), "give --data FILE|DIR, or --train FILE and --test FILE"),
        (dict(data=data, train=data), "not both"),
        (dict(train=data), "give --data"),
        (dict(data=data, seeds=0), "--seeds must be at least 1"),
        (dict(data=data, fmt="xml"), "--format must be"),
    ):
        with pytest.raises(KmbError, match=message):
            run_classify(models, tmp_path / "out", config=FinetuneConfig(**QUICK), progress=lambda _: None, **kwargs)
    assert not (tmp_path / "out").exists()


def test_cli_classify_end_to_end(tiny_models, tmp_path):
    from typer.testing import CliRunner

    from kmb.cli import app

    ws = tmp_path / "ws"
    preds = tmp_path / "preds.tsv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "classify",
            "--model",
            f"tiny={tiny_models[0]}",
            "--data",
            str(SAMPLES / "medical_sentences.tsv"),
            "--folds",
            "2",
            "--grid",
            "quick",
            "--batch-size",
            "16",
            "--predictions-out",
            str(preds),
            "--workspace",
            str(ws),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "classify tiny fold 1/2 seed 42" in result.output and "classify results in" in result.output
    assert "accuracy" in result.output and "macro F1" in result.output
    saved = json.loads((ws / "eval" / "classify" / "result.json").read_text(encoding="utf-8"))
    assert saved["task"] == "classify" and saved["folds"] == 2 and saved["labels"] == ["BD", "DS", "ST", "none"]
    assert len(_read_predictions(preds)) == 126
    report = CliRunner().invoke(app, ["evaluate", "report", "--workspace", str(ws)])
    assert report.exit_code == 0, report.output
    assert "## Classification" in report.output and "| classify | classify | Classification macro F1" in report.output
    assert "![classify classify](classify/classify.png)" in report.output


def test_cli_bad_input_is_one_line_exit_1_and_writes_nothing(tiny_models, tmp_path, run_kmb):
    train, test = tmp_path / "train.tsv", tmp_path / "test.tsv"
    train.write_text("text\tlabel\n두통\tST\n당뇨병\tDS\n기침\tST\n", encoding="utf-8")
    test.write_text("text\tlabel\n무릎\tBD\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    cp949 = tmp_path / "cp949.tsv"
    cp949.write_bytes(b"text\tlabel\n" + "두통\tST\n".encode("cp949"))
    cases = (
        (["--train", train, "--test", test], f"{test}:2: label 'BD' is not in the training data"),
        (["--data", empty], f"{empty}:1: empty file"),
        (["--data", cp949], f"{cp949}:2: not UTF-8 text"),
        (["--data", train, "--format", "jsonl"], f"{train}:1: not valid JSON"),
    )
    ws = tmp_path / "ws"
    for args, message in cases:
        code, out, err = run_kmb("evaluate", "classify", "--model", tiny_models[0], *args, "--workspace", ws)
        assert code == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"kmb: error: {message}"), err
        assert not ws.exists()
