"""`kmb pretrain`'s options (kmb.training.config): the paper's recipe by default, modern in one word,
explicit options win; every option checked, one line, before anything is read or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.training.config import PretrainConfig
from kmb.training.pretrain import run_pretraining


def test_the_default_recipe_is_the_papers():
    from kmb.training.config import apply_recipe, differs_from_paper

    cfg = apply_recipe(PretrainConfig())
    assert (cfg.recipe, cfg.lr, cfg.batch_size, cfg.max_length, cfg.static_masking, cfg.init, cfg.warmup) == (
        "paper",
        1e-6,
        32,
        128,
        True,
        "normal",
        0.0,
    )
    assert cfg.mlm_probability == 0.15
    assert differs_from_paper(cfg) == {}


def test_modern_recipe_and_explicit_options_win():
    from kmb.training.config import apply_recipe, differs_from_paper

    modern = apply_recipe(PretrainConfig(recipe="modern"))
    assert (modern.lr, modern.warmup, modern.static_masking, modern.init) == (2e-5, 0.06, False, "subword-mean")
    assert differs_from_paper(modern) == {
        "lr": "2e-05 (paper: 1e-06)",
        "static_masking": "False (paper: True)",
        "init": "subword-mean (paper: normal)",
    }
    mixed = apply_recipe(PretrainConfig(recipe="modern", lr=1e-4, static_masking=True, batch_size=64))
    assert (mixed.lr, mixed.warmup, mixed.static_masking, mixed.init, mixed.batch_size) == (
        1e-4,
        0.06,
        True,
        "subword-mean",
        64,
    )
    paper = apply_recipe(PretrainConfig(init="subword-mean", static_masking=False))
    assert (paper.lr, paper.init, paper.static_masking) == (1e-6, "subword-mean", False)
    with pytest.raises(KmbError, match="--recipe must be paper or modern, not 'fast'"):
        apply_recipe(PretrainConfig(recipe="fast"))


def test_cli_passes_objective_whole_word_masking_and_report_to(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import kmb.training.pretrain as pretrain
    from kmb.cli import app

    seen = []
    monkeypatch.setattr(pretrain, "run_pretraining", lambda cfg: seen.append(cfg) or {"model": "x"})
    ws = ["--workspace", str(tmp_path / "ws")]
    assert CliRunner().invoke(app, ["pretrain", *ws]).exit_code == 0
    assert (
        CliRunner()
        .invoke(app, ["pretrain", "--objective", "mlm", "--whole-word-masking", "--report-to", "tensorboard", *ws])
        .exit_code
        == 0
    )
    assert [(c.objective, c.whole_word_masking, c.report_to) for c in seen] == [
        ("auto", False, "none"),
        ("mlm", True, "tensorboard"),
    ]


def test_cli_leaves_options_not_given_to_the_recipe(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import kmb.training.pretrain as pretrain
    from kmb.cli import app

    seen = []
    monkeypatch.setattr(pretrain, "run_pretraining", lambda cfg: seen.append(cfg) or {"model": "x"})
    ws = ["--workspace", str(tmp_path / "ws")]
    assert CliRunner().invoke(app, ["pretrain", *ws]).exit_code == 0
    assert (
        CliRunner()
        .invoke(
            app, ["pretrain", "--recipe", "modern", "--lr", "3e-5", "--static-masking", "--tokenizer", "workspace", *ws]
        )
        .exit_code
        == 0
    )
    assert CliRunner().invoke(app, ["pretrain", "--dynamic-masking", "--init", "subword-mean", *ws]).exit_code == 0
    given = [(c.recipe, c.lr, c.warmup, c.static_masking, c.init, c.tokenizer) for c in seen]
    assert given == [
        ("paper", None, None, None, None, None),
        ("modern", 3e-5, None, True, None, "workspace"),
        ("paper", None, None, False, "subword-mean", None),
    ]


@pytest.mark.parametrize(
    "option, message",
    [
        (dict(max_length=4), "--max-length must be between 8 and 512"),
        (dict(profile_steps=-1), "--profile-steps must be at least 0"),
        (dict(compile_mode="fast"), "--compile-mode must be default, reduce-overhead or max-autotune, not 'fast'"),
        (dict(precision="fp8"), "--precision must be auto, fp32, bf16 or fp16, not 'fp8'"),
        (dict(batch_size=8, grad_accum=3), "not divisible"),
    ],
)
def test_bad_numbers_are_refused_before_anything_is_written(corpus_workspace, tiny_base_dir, option, message, helpers):
    with pytest.raises(KmbError, match=message):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, **option))
    helpers.nothing_written(corpus_workspace)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs must be more than 0"),
        (["--max-steps", "0"], "--max-steps must be -1 (off) or at least 1"),
        (["--max-steps", "-5"], "--max-steps must be -1 (off) or at least 1"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--grad-accum", "0"], "--grad-accum must be at least 1"),
        (["--lr", "0"], "--lr must be more than 0"),
        (["--lr", "nan"], "--lr must be more than 0"),
        (["--warmup", "-1"], "--warmup must be at least 0"),
        (["--max-length", "4"], "--max-length must be between 8 and 512"),
        (["--max-length", "1000"], "--max-length must be between 8 and 512"),
        (["--seed", "-1"], "--seed must be between 0 and 4294967295"),
        (["--eval-steps", "0"], "--eval-steps must be at least 1"),
        (["--save-steps", "0"], "--save-steps must be at least 1"),
        (["--logging-steps", "0"], "--logging-steps must be at least 1"),
        (["--dropout", "1.5"], "--dropout must be between 0 and 1 (1 excluded)"),
        (["--max-eval-pairs", "0"], "--max-eval-pairs must be at least 1"),
        (["--dataloader-workers", "-1"], "--dataloader-workers must be at least 0 (0 = no worker process)"),
        (["--profile-steps", "-1"], "--profile-steps must be at least 0 (0 = off)"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_every_numeric_option_is_checked_before_anything_runs(corpus_workspace, tiny_base_dir, args, message, helpers):
    from typer.testing import CliRunner

    from kmb.cli import app

    result = CliRunner().invoke(
        app,
        [
            "pretrain",
            "--workspace",
            str(corpus_workspace.root),
            "--base-model",
            str(tiny_base_dir),
            "--output",
            "bad",
            *args,
        ],
    )
    assert result.exit_code != 0 and isinstance(result.exception, KmbError), result.output
    assert str(result.exception).startswith(message), str(result.exception)
    helpers.nothing_written(corpus_workspace)


def test_batch_size_zero_is_one_line_and_exit_1(corpus_workspace, tiny_base_dir, helpers):
    kmb = Path(sys.executable).parent / "kmb"
    done = subprocess.run(
        [
            str(kmb),
            "pretrain",
            "--workspace",
            str(corpus_workspace.root),
            "--base-model",
            str(tiny_base_dir),
            "--output",
            "bad",
            "--batch-size",
            "0",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=""),
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["kmb: error: --batch-size must be at least 1, not 0"], done.stderr
    helpers.nothing_written(corpus_workspace)


def test_tensorboard_without_the_package_is_one_line(corpus_workspace, tiny_base_dir, monkeypatch, helpers):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else find_spec(name, *a)
    )
    with pytest.raises(
        KmbError, match=r"--report-to tensorboard needs the tensorboard package: pip install 'kmb\[tensorboard\]'"
    ):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, report_to="tensorboard"))
    helpers.nothing_written(corpus_workspace)


def test_an_unknown_report_to_is_one_line(corpus_workspace, tiny_base_dir, helpers):
    with pytest.raises(KmbError, match="--report-to must be none or tensorboard, not 'wandb'"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, report_to="wandb"))
    helpers.nothing_written(corpus_workspace)
