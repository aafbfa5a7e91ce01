"""The evaluate commands as library calls: every numeric option checked before anything is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kmb.errors import KmbError

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PAIRS = str(SAMPLES / "pairs" / "medical_pairs.tsv")
NER = str(SAMPLES / "ner" / "medical_ner_sample.txt")
CLASSIFY = ["--data", str(SAMPLES / "classify" / "medical_sentences.tsv")]
STS = [
    "--train",
    str(SAMPLES / "sts" / "medical_sts_train.tsv"),
    "--test",
    str(SAMPLES / "sts" / "medical_sts_test.tsv"),
]

BAD_NUMBERS = [
    (["make-pairs", "--per-type", "0"], "--per-type must be at least 1"),
    (["make-pairs", "--min-chars", "-1"], "--min-chars must be at least 0"),
    (["make-pairs", "--seed", "-5"], "--seed must be between 0"),
    (["mlm", "--data", PAIRS, "--repeats", "0"], "--repeats must be at least 1"),
    (["mlm", "--data", PAIRS, "--batch-size", "0"], "--batch-size must be at least 1"),
    (["mlm", "--data", PAIRS, "--max-length", "2"], "--max-length must be at least 5"),
    (["mlm", "--data", PAIRS, "--seed", "-1"], "--seed must be between 0"),
    (["nsp", "--data", PAIRS, "--batch-size", "-3"], "--batch-size must be at least 1"),
    (["nsp", "--data", PAIRS, "--seed", "4294967296"], "--seed must be between 0"),
    (["ner", "--data", NER, "--folds", "1"], "--folds must be at least 2"),
    (["ner", "--data", NER, "--dev-fraction", "0"], "--dev-fraction must be between 0 and 1"),
    (["ner", "--data", NER, "--dev-fraction", "1.5"], "--dev-fraction must be between 0 and 1"),
    (["ner", "--data", NER, "--batch-size", "0"], "--batch-size must be at least 1"),
    (["ner", "--data", NER, "--max-length", "3"], "--max-length must be at least 5"),
    (["ner", "--data", NER, "--grid", "1e-3:0"], "at least 1 epoch"),
    (["ner", "--data", NER, "--scheme", "word"], "--scheme must be bio or paper"),
    (["sts", *STS, "--max-train", "1"], "--max-train must be at least 2"),
    (["sts", *STS, "--max-test", "0"], "--max-test must be at least 1"),
    (["sts", *STS, "--dev-fraction", "-0.1"], "--dev-fraction must be between 0 and 1"),
    (["sts", *STS, "--max-length", "0"], "--max-length must be at least 5"),
    (["classify", *CLASSIFY, "--folds", "1"], "--folds must be at least 2"),
    (["classify", *CLASSIFY, "--seeds", "0"], "--seeds must be at least 1"),
    (["classify", *CLASSIFY, "--seed", "4294967295", "--seeds", "2"], "runs past the largest seed"),
    (["classify", *CLASSIFY, "--format", "xml"], "--format must be auto, tsv, csv, jsonl or klue-nli"),
    (["classify", *CLASSIFY, "--dev-fraction", "1"], "--dev-fraction must be between 0 and 1"),
    (["classify", *CLASSIFY, "--train", CLASSIFY[1]], "not both"),
    (["classify"], "give --data FILE|DIR, or --train FILE and --test FILE"),
]


@pytest.mark.parametrize("args, message", BAD_NUMBERS)
def test_bad_numbers_stop_before_anything_is_written(tiny_models, tmp_path, args, message):
    from typer.testing import CliRunner

    from kmb.cli import app

    model = [] if args[0] == "make-pairs" else ["--model", str(tiny_models[0])]
    workspace = tmp_path / "ws"
    result = CliRunner().invoke(app, ["evaluate", *args, *model, "--workspace", str(workspace)])
    assert result.exit_code != 0
    assert isinstance(result.exception, KmbError) and message in str(result.exception)
    assert not workspace.exists()  # not even the workspace was created


def test_bad_number_is_one_line_and_exit_1(tiny_models, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kmb",
            "evaluate",
            "ner",
            "--model",
            str(tiny_models[0]),
            "--data",
            NER,
            "--folds",
            "0",
            "--workspace",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "kmb: error: --folds must be at least 2 (cross validation needs at least 2 folds), not 0"
    ]
    assert not (tmp_path / "ws").exists()
