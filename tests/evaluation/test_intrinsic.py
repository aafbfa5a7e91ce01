"""`kmb evaluate mlm` and `nsp` on tiny models: seeded, per type, heads missing, other families."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.intrinsic import not_next_pairs, run_mlm, run_nsp
from kmb.evaluation.options import IntrinsicConfig
from kmb.evaluation.pairs import read_pairs
from kmb.evaluation.results import resolve_models

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


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
    assert set(acc) == {f"{t}/{label}" for t in ("textbook", "news", "article") for label in ("IsNext", "NotNext")} | {
        "overall"
    }
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


def test_model_without_tokenizer_is_one_clear_line(model_without_tokenizer, tmp_path):
    pairs = SAMPLES / "pairs" / "medical_pairs.tsv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kmb",
            "evaluate",
            "nsp",
            "--model",
            str(model_without_tokenizer),
            "--data",
            str(pairs),
            "--workspace",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
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
        run_nsp(
            resolve_models([str(bare)]),
            SAMPLES / "pairs" / "medical_pairs.tsv",
            tmp_path / "out",
            progress=lambda _: None,
        )


def test_mlm_on_tiny_roberta_and_modernbert(tiny_roberta, tiny_modernbert, tmp_path):
    models = resolve_models([f"roberta={tiny_roberta}", f"modernbert={tiny_modernbert}"])
    result = run_mlm(
        models,
        SAMPLES / "pairs" / "medical_pairs.tsv",
        tmp_path / "mlm",
        config=IntrinsicConfig(repeats=2, seed=1),
        progress=lambda _: None,
    )
    for name in ("roberta", "modernbert"):
        overall = result["models"][name]["overall"]
        assert len(overall["values"]) == 2 and 0.0 <= overall["mean"] <= 1.0
    rows = (tmp_path / "mlm" / "mlm_repeats.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert rows and all(int(r.split(",")[3]) > 0 for r in rows)  # tokens were masked and scored


def test_nsp_marks_a_model_without_nsp_head_na(tiny_models, tiny_roberta, tmp_path):
    models = resolve_models([f"bert={tiny_models[0]}", f"roberta={tiny_roberta}"])
    lines: list[str] = []
    result = run_nsp(
        models,
        SAMPLES / "pairs" / "medical_pairs.tsv",
        tmp_path / "nsp",
        config=IntrinsicConfig(seed=1),
        progress=lines.append,
    )
    assert result["models"]["roberta"]["accuracy"] is None
    assert 0.0 <= result["models"]["bert"]["accuracy"]["overall"] <= 1.0
    said = [line for line in lines if line.startswith("nsp roberta")]
    assert len(said) == 1 and "n/a" in said[0] and "no next-sentence-prediction head" in said[0]
    table = (tmp_path / "nsp" / "nsp.md").read_text(encoding="utf-8")
    assert any(row.startswith("| roberta |") and "n/a" in row for row in table.splitlines())
    assert "(best)" not in table  # beating a model that was not measured is no win


def test_cli_nsp_on_roberta_alone_says_so_in_one_line(tiny_roberta, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kmb",
            "evaluate",
            "nsp",
            "--model",
            str(tiny_roberta),
            "--data",
            str(SAMPLES / "pairs" / "medical_pairs.tsv"),
            "--workspace",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no next-sentence-prediction head" in lines[0]
    assert not (tmp_path / "ws" / "eval" / "nsp").exists()
