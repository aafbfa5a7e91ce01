"""`kmb pretrain` end to end on a tiny BERT and our own small corpus (CPU, fp32, no dropout):
bad input gives one clear line and writes nothing; tokenizer choice, recipes, head checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from kmb.errors import KmbError
from kmb.training.metrics import read_metrics
from kmb.training.pretrain import PretrainConfig, run_pretraining

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class LogCapture(TrainerCallback):
    def __init__(self, stop_at: int | None = None):
        self.losses: dict[int, float] = {}
        self.stop_at = stop_at

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses[state.global_step] = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_at is not None and state.global_step >= self.stop_at:
            control.should_training_stop = True  # simulate an interruption right after a checkpoint
        return control


def _config(ws, base, output, **kw):
    values = dict(workspace=ws.root, base_model=str(base), output=output, batch_size=8, lr=5e-3, precision="fp32",
                  logging_steps=1, save_steps=1000, progress=False, seed=7, static_masking=False)
    values.update(kw)
    return PretrainConfig(**values)


def test_loss_decreases_and_the_saved_directory_loads_with_plain_transformers(corpus_workspace, tiny_base_dir,
                                                                             plain_python):
    capture = LogCapture()
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "run", epochs=1, eval_steps=10), [capture])
    steps = sorted(capture.losses)
    first, last = [capture.losses[s] for s in steps[:3]], [capture.losses[s] for s in steps[-3:]]
    assert sum(last) / 3 < sum(first) / 3 - 0.5
    records = read_metrics(corpus_workspace.pretrain("run") / "metrics.jsonl")
    assert records[0]["phase"] == "base" and records[0]["step"] == 0
    assert records[-1]["mlm_loss"] < records[0]["mlm_loss"] and records[-1]["mlm_accuracy"] > records[0]["mlm_accuracy"]
    assert [r["step"] for r in records[1:]] == sorted({r["step"] for r in records[1:]})  # each eval once
    out = Path(summary["model"])
    # the throughput measured over the steps after the warm-up (no GPU here: no MFU line)
    assert summary["throughput tokens/s"] > 0 and 0 <= summary["throughput padding"] < 1
    assert summary["TFLOP/s per device"] > 0 and "MFU" not in summary
    assert (corpus_workspace.pretrain("run") / "curves.png").stat().st_size > 10_000
    assert {"model.safetensors", "config.json", "README.md", "vocab.txt", "metrics.jsonl", "curves.png"} <= {
        p.name for p in out.iterdir()}
    assert not list(out.glob("*.bin"))
    assert "mlm_accuracy" in (out / "README.md").read_text()
    script = (
        "import sys, torch\n"
        "from transformers import AutoModelForPreTraining, AutoModelForMaskedLM, AutoTokenizer\n"
        f"d = {str(out)!r}\n"
        "tok = AutoTokenizer.from_pretrained(d)\n"
        "pre = AutoModelForPreTraining.from_pretrained(d)\n"
        "mlm = AutoModelForMaskedLM.from_pretrained(d)\n"
        "assert type(pre).__name__ == 'BertForPreTraining', type(pre)\n"
        "enc = tok('고혈압 환자는 [MASK] 증상으로 병원에 왔다 .', return_tensors='pt')\n"
        "print(tok.convert_ids_to_tokens(mlm(**enc).logits[0].argmax(-1).tolist()))\n"
        "assert not any(m == 'kmb' or m.startswith('kmb.') for m in sys.modules)\n"
    )
    done = plain_python(script, cwd="/", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("stop, total", [(3, 6), (27, 29)], ids=["mid-epoch", "next-epoch"])
def test_resume_equals_an_uninterrupted_run(corpus_workspace, tiny_base_dir, stop, total):
    # 194 train pairs in batches of 8: 25 steps an epoch, so (27, 29) resumes inside epoch 2
    whole = LogCapture()
    kw = dict(max_steps=total, save_steps=stop, dropout=0.1)
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "whole", **kw), [whole])
    first = LogCapture(stop_at=stop)
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "parts", **kw), [first])
    assert sorted(first.losses) == list(range(1, stop + 1))
    second = LogCapture()
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "parts", resume=True, **kw), [second])
    assert sorted(second.losses) == list(range(stop + 1, total + 1))
    for step in range(1, total + 1):
        got = (first.losses | second.losses)[step]
        assert got == pytest.approx(whole.losses[step], rel=1e-5), step
    a = load_file(corpus_workspace.model("whole") / "model.safetensors")
    b = load_file(corpus_workspace.model("parts") / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)
    steps = [r["step"] for r in read_metrics(corpus_workspace.pretrain("parts") / "metrics.jsonl")]
    assert steps[0] == 0 and steps[-1] == total and steps.count(total) == 1


def test_torchrun_two_processes_equal_one_process(corpus_workspace, tiny_base_dir, tiny_tokenizer_dir):
    one = LogCapture()
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "one", max_steps=4, grad_accum=2), [one])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH="")
    # torch's own launcher under this interpreter (the torchrun script's shebang may name another venv)
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "kmb", "pretrain",
           "--workspace", str(corpus_workspace.root), "--base-model", str(tiny_base_dir), "--output", "two",
           "--batch-size", "8", "--grad-accum", "2", "--lr", "5e-3", "--precision", "fp32", "--logging-steps", "1",
           "--max-steps", "4", "--save-steps", "4", "--seed", "7", "--dynamic-masking"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads((corpus_workspace.pretrain("two") / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    two = {r["step"]: r["loss"] for r in state["log_history"] if "loss" in r}
    assert sorted(two) == [1, 2, 3, 4]
    for step in two:
        assert two[step] == pytest.approx(one.losses[step], rel=1e-4), step
    a = load_file(corpus_workspace.model("one") / "model.safetensors")
    b = load_file(corpus_workspace.model("two") / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)
    assert "kmb pretrain" in done.stdout and done.stdout.count("kmb pretrain") == 1


# Operations that read a tensor's value on the host: on a GPU each one waits for the device.
HOST_READS = {"aten._local_scalar_dense.default", "aten.item.default", "aten.is_nonzero.default",
              "aten.nonzero.default", "aten.masked_select.default", "aten.index.Tensor"}


class HostReadSpy(TrainerCallback):
    """Records every host-reading operation (with where it came from) in the steps after ``first``
    up to ``last``, inside the Trainer's loop: data, forward, backward, clipping, optimizer, counters."""

    def __init__(self, first: int, last: int):
        from torch.utils._python_dispatch import TorchDispatchMode

        self.first, self.last, self.seen = first, last, []
        spy = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                if str(func) in HOST_READS:
                    import traceback

                    spy.seen.append((str(func), traceback.format_stack(limit=8)[:-1]))
                return func(*args, **(kwargs or {}))

        self.mode = Mode()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.first:
            self.mode.__enter__()
        elif state.global_step == self.last:
            self.mode.__exit__(None, None, None)
        return control


def test_training_steps_never_read_a_tensor_on_the_host(corpus_workspace, tiny_base_dir):
    """Between logging steps nothing reads a tensor's value, so on a GPU the host queues step after
    step without waiting: the masked positions come as a fixed-size index list, the attention mask
    ready-made, and the NaN check and blocking copies are off. (Checked on CPU through the dispatcher.)"""
    spy = HostReadSpy(first=6, last=9)
    run_pretraining(_config(corpus_workspace, tiny_base_dir, "sync", max_steps=12, logging_steps=100), [spy])
    assert spy.seen == [], f"{len(spy.seen)} host reads, first {spy.seen[0][0]} at:\n" + "".join(spy.seen[0][1])


def test_profile_steps_write_a_trace_and_the_costliest_operations(corpus_workspace, tiny_base_dir):
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "prof", max_steps=12, logging_steps=100,
                                      profile_steps=3))
    folder = corpus_workspace.pretrain("prof") / "profile"
    assert summary["profile"] == str(folder) and summary["profiled steps"] == 3 and summary["profiled step ms"] > 0
    trace = json.loads((folder / "trace-rank0.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert {"aten::addmm", "Optimizer.step#AdamW.step"} & names, sorted(n for n in names if n)[:40]
    top = (folder / "top-ops-rank0.txt").read_text()
    assert top.startswith("3 training steps") and "aten::" in top
    # throughput is measured after the profiled steps: still reported
    assert summary["throughput tokens/s"] > 0


def test_a_failing_profile_write_does_not_cost_the_model(corpus_workspace, tiny_base_dir, monkeypatch):
    from kmb.training.profiling import StepProfiler

    def broken(self, profiler, steps, seconds):
        raise OSError("disk full")

    monkeypatch.setattr(StepProfiler, "_write", broken)
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "prof-broken", max_steps=8, logging_steps=100,
                                      profile_steps=2))
    assert summary["profile"] == "not written: OSError: disk full"
    assert (Path(summary["model"]) / "model.safetensors").is_file()


# --- bad input ------------------------------------------------------------------------------------
def _short_config(ws, base, **kw):
    values = dict(workspace=ws.root, base_model=str(base), output="bad", batch_size=8, lr=5e-3, precision="fp32",
                  max_steps=2, logging_steps=1, progress=False)
    values.update(kw)
    return PretrainConfig(**values)


def _nothing_written(ws):
    assert not ws.model("bad").exists()
    assert not list((ws.root / "models").iterdir())
    assert not (ws.pretrain("bad") / "shards").exists()
    assert not (ws.pretrain("bad") / "segments").exists()


def test_no_corpus(workspace, tiny_base_dir):
    with pytest.raises(KmbError, match="no corpus sentences"):
        run_pretraining(_short_config(workspace, tiny_base_dir))
    _nothing_written(workspace)


@pytest.mark.parametrize("option, message", [
    (dict(max_length=4), "--max-length must be between 8 and 512"),
    (dict(profile_steps=-1), "--profile-steps must be 0"),
    (dict(compile_mode="fast"), "unknown --compile-mode 'fast'"),
    (dict(batch_size=8, grad_accum=3), "not divisible"),
])
def test_bad_numbers_are_refused_before_anything_is_written(corpus_workspace, tiny_base_dir, option, message):
    with pytest.raises(KmbError, match=message):
        run_pretraining(_short_config(corpus_workspace, tiny_base_dir, **option))
    _nothing_written(corpus_workspace)


def test_empty_validation_split(workspace, tiny_base_dir, helpers):
    helpers.write_sentences(workspace, [r for r in helpers.make_sentence_rows(30) if r["split"] == "train"])
    with pytest.raises(KmbError, match="no 'valid' sentences"):
        run_pretraining(_short_config(workspace, tiny_base_dir))
    _nothing_written(workspace)


def test_tokenizer_that_does_not_match_the_model(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    tokens = helpers.vocab_tokens()
    small = helpers.save_tokenizer(tmp_path / "small", tokens[:-10])
    with pytest.raises(KmbError, match=r"has \d+ tokens but the model has \d+ token embeddings"):
        run_pretraining(_short_config(corpus_workspace, tiny_base_dir, tokenizer=small))
    shuffled = helpers.save_tokenizer(tmp_path / "shuffled", tokens[:5] + tokens[5:][::-1])
    with pytest.raises(KmbError, match="not the same ones"):
        run_pretraining(_short_config(corpus_workspace, tiny_base_dir, tokenizer=shuffled))
    _nothing_written(corpus_workspace)


def test_base_model_that_is_not_a_masked_lm(corpus_workspace, tmp_path):
    from transformers import GPT2Config

    folder = tmp_path / "gpt2"
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(str(folder))
    with pytest.raises(KmbError, match="'gpt2' model, which has no masked-LM class in transformers; kmb pretrain "
                                       "continues masked-LM encoders"):
        run_pretraining(_short_config(corpus_workspace, folder))
    _nothing_written(corpus_workspace)


def test_missing_hub_id_offline_is_one_line(corpus_workspace, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), PYTHONPATH="")
    kmb = Path(sys.executable).parent / "kmb"
    done = subprocess.run([str(kmb), "pretrain", "--workspace", str(corpus_workspace.root), "--base-model",
                           "nobody/no-such-bert", "--output", "bad"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and "HF_HUB_OFFLINE" in lines[0], done.stderr
    _nothing_written(corpus_workspace)


def test_extended_vocab_grows_the_embeddings(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    tokens = helpers.vocab_tokens()
    extended = helpers.save_tokenizer(tmp_path / "extended", tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(_short_config(corpus_workspace, tiny_base_dir, tokenizer=extended, output="ext"))
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens) + 2


def test_from_scratch_with_config_tiny_and_the_workspace_vocab(corpus_workspace, helpers):
    helpers.save_tokenizer(corpus_workspace.vocab("mine"), helpers.vocab_tokens())
    cfg = PretrainConfig(workspace=corpus_workspace.root, config="tiny", output="scratch", batch_size=8,
                         max_steps=2, precision="fp32", progress=False, static_masking=True)
    summary = run_pretraining(cfg)
    assert summary["tokenizer"].endswith("vocab/mine") and summary["steps"] == 2
    with pytest.raises(KmbError, match="either --base-model or --config"):
        run_pretraining(PretrainConfig(workspace=corpus_workspace.root, config="tiny", base_model="x"))


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs must be more than 0"),
    (["--max-steps", "0"], "--max-steps must be -1 (off) or at least 1"),
    (["--max-steps", "-5"], "--max-steps must be -1 (off) or at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--grad-accum", "0"], "--grad-accum must be at least 1"),
    (["--lr", "0"], "--lr must be more than 0"),
    (["--lr", "nan"], "--lr must be more than 0"),
    (["--warmup", "-1"], "--warmup must be 0 or more"),
    (["--max-length", "4"], "--max-length must be between 8 and 512"),
    (["--max-length", "1000"], "--max-length must be between 8 and 512"),
    (["--seed", "-1"], "--seed must be between 0 and 4294967295"),
    (["--eval-steps", "0"], "--eval-steps must be at least 1"),
    (["--save-steps", "0"], "--save-steps must be at least 1"),
    (["--logging-steps", "0"], "--logging-steps must be at least 1"),
    (["--dropout", "1.5"], "--dropout must be at least 0 and below 1"),
    (["--max-eval-pairs", "0"], "--max-eval-pairs must be at least 1"),
    (["--dataloader-workers", "-1"], "--dataloader-workers must be 0 or more"),
    (["--profile-steps", "-1"], "--profile-steps must be 0 (off) or more"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else None)
def test_every_numeric_option_is_checked_before_anything_runs(corpus_workspace, tiny_base_dir, args, message):
    from typer.testing import CliRunner

    from kmb.cli import app

    result = CliRunner().invoke(app, ["pretrain", "--workspace", str(corpus_workspace.root), "--base-model",
                                      str(tiny_base_dir), "--output", "bad", *args])
    assert result.exit_code != 0 and isinstance(result.exception, KmbError), result.output
    assert str(result.exception).startswith(message), str(result.exception)
    _nothing_written(corpus_workspace)


def test_batch_size_zero_is_one_line_and_exit_1(corpus_workspace, tiny_base_dir):
    kmb = Path(sys.executable).parent / "kmb"
    done = subprocess.run([str(kmb), "pretrain", "--workspace", str(corpus_workspace.root), "--base-model",
                           str(tiny_base_dir), "--output", "bad", "--batch-size", "0"], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=""), timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["kmb: error: --batch-size must be at least 1, not 0"], done.stderr
    _nothing_written(corpus_workspace)


# --- the tokenizer: the base model's own unless asked ------------------------------------------------
def test_without_tokenizer_the_base_models_own_is_used_even_with_a_workspace_vocab(corpus_workspace, tiny_base_dir,
                                                                                 helpers, capsys):
    tokens = helpers.vocab_tokens()
    helpers.save_tokenizer(corpus_workspace.vocab("medical"), tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(_short_config(corpus_workspace, tiny_base_dir, output="own"))
    assert summary["tokenizer"] == str(tiny_base_dir) and summary["tokenizer from"] == "base model"
    assert summary["vocab size"] == len(tokens)
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens)
    card = (Path(summary["model"]) / "README.md").read_text()
    assert f"- tokenizer: {tiny_base_dir} (base model, {len(tokens)} tokens)" in card
    # a BertForPreTraining checkpoint brings both heads: no warning
    assert summary["heads"] == "MLM and NSP from the checkpoint"
    assert "- pretraining heads: MLM and NSP from the checkpoint\n" in card
    assert "kmb: warning" not in capsys.readouterr().err


def test_tokenizer_workspace_selects_the_extended_vocab(corpus_workspace, tiny_base_dir, helpers):
    tokens = helpers.vocab_tokens()
    vocab = helpers.save_tokenizer(corpus_workspace.vocab("medical"), tokens + ["고혈압약", "##환자"])
    summary = run_pretraining(_short_config(corpus_workspace, tiny_base_dir, output="ext", tokenizer="workspace"))
    assert summary["tokenizer"] == str(vocab) and summary["tokenizer from"] == "workspace vocab"
    assert summary["vocab size"] == len(tokens) + 2
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["bert.embeddings.word_embeddings.weight"].shape[0] == len(tokens) + 2
    card = (Path(summary["model"]) / "README.md").read_text()
    assert f"- tokenizer: {vocab} (workspace vocab, {len(tokens) + 2} tokens)" in card


def test_no_tokenizer_to_use_is_a_clear_error(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    with pytest.raises(KmbError, match="no tokenizer in the workspace: build one with `kmb vocab build`"):
        run_pretraining(PretrainConfig(workspace=corpus_workspace.root, config="tiny", output="bad"))
    with pytest.raises(KmbError, match="no tokenizer in the workspace"):
        run_pretraining(_short_config(corpus_workspace, tiny_base_dir, tokenizer="workspace"))
    bare = helpers.save_tiny_bert(tmp_path / "bare", len(helpers.vocab_tokens()))
    helpers.save_tokenizer(corpus_workspace.vocab("medical"), helpers.vocab_tokens())  # never picked silently
    with pytest.raises(KmbError, match="the base model has no tokenizer"):
        run_pretraining(_short_config(corpus_workspace, bare))
    _nothing_written(corpus_workspace)


# --- recipes: the paper's values by default, modern in one word, explicit options win -----------------
def test_the_default_recipe_is_the_papers():
    from kmb.training.pretrain import apply_recipe, differs_from_paper

    cfg = apply_recipe(PretrainConfig())
    assert (cfg.recipe, cfg.lr, cfg.batch_size, cfg.max_length, cfg.static_masking, cfg.init, cfg.warmup) == (
        "paper", 1e-6, 32, 128, True, "normal", 0.0)
    assert cfg.mlm_probability == 0.15
    assert differs_from_paper(cfg) == {}


def test_modern_recipe_and_explicit_options_win():
    from kmb.training.pretrain import apply_recipe, differs_from_paper

    modern = apply_recipe(PretrainConfig(recipe="modern"))
    assert (modern.lr, modern.warmup, modern.static_masking, modern.init) == (2e-5, 0.06, False, "subword-mean")
    assert differs_from_paper(modern) == {"lr": "2e-05 (paper: 1e-06)", "static_masking": "False (paper: True)",
                                          "init": "subword-mean (paper: normal)"}
    mixed = apply_recipe(PretrainConfig(recipe="modern", lr=1e-4, static_masking=True, batch_size=64))
    assert (mixed.lr, mixed.warmup, mixed.static_masking, mixed.init, mixed.batch_size) == (
        1e-4, 0.06, True, "subword-mean", 64)
    paper = apply_recipe(PretrainConfig(init="subword-mean", static_masking=False))
    assert (paper.lr, paper.init, paper.static_masking) == (1e-6, "subword-mean", False)
    with pytest.raises(KmbError, match="unknown --recipe 'fast': choose paper or modern"):
        apply_recipe(PretrainConfig(recipe="fast"))


def test_cli_passes_objective_whole_word_masking_and_report_to(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import kmb.training.pretrain as pretrain
    from kmb.cli import app

    seen = []
    monkeypatch.setattr(pretrain, "run_pretraining", lambda cfg: seen.append(cfg) or {"model": "x"})
    ws = ["--workspace", str(tmp_path / "ws")]
    assert CliRunner().invoke(app, ["pretrain", *ws]).exit_code == 0
    assert CliRunner().invoke(app, ["pretrain", "--objective", "mlm", "--whole-word-masking", "--report-to",
                                    "tensorboard", *ws]).exit_code == 0
    assert [(c.objective, c.whole_word_masking, c.report_to) for c in seen] == [
        ("auto", False, "none"), ("mlm", True, "tensorboard")]


def test_cli_leaves_options_not_given_to_the_recipe(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import kmb.training.pretrain as pretrain
    from kmb.cli import app

    seen = []
    monkeypatch.setattr(pretrain, "run_pretraining", lambda cfg: seen.append(cfg) or {"model": "x"})
    ws = ["--workspace", str(tmp_path / "ws")]
    assert CliRunner().invoke(app, ["pretrain", *ws]).exit_code == 0
    assert CliRunner().invoke(app, ["pretrain", "--recipe", "modern", "--lr", "3e-5", "--static-masking",
                                    "--tokenizer", "workspace", *ws]).exit_code == 0
    assert CliRunner().invoke(app, ["pretrain", "--dynamic-masking", "--init", "subword-mean", *ws]).exit_code == 0
    given = [(c.recipe, c.lr, c.warmup, c.static_masking, c.init, c.tokenizer) for c in seen]
    assert given == [("paper", None, None, None, None, None), ("modern", 3e-5, None, True, None, "workspace"),
                     ("paper", None, None, False, "subword-mean", None)]


def test_summary_and_model_card_name_the_recipe_and_what_differs(corpus_workspace, tiny_base_dir):
    summary = run_pretraining(_short_config(corpus_workspace, tiny_base_dir, output="rec", recipe="modern",
                                            static_masking=True))
    differs = "lr 0.005 (paper: 1e-06); batch_size 8 (paper: 32); init subword-mean (paper: normal)"
    assert summary["recipe"] == "modern" and summary["differs from the paper"] == differs
    card = (Path(summary["model"]) / "README.md").read_text()
    assert f"Recipe: `modern`. Values that differ from the paper's: {differs}." in card
    assert "| recipe | modern |" in card and "| warmup | 0.06 |" in card and "| static_masking | True |" in card


def test_the_paper_recipe_initialises_new_embeddings_from_a_normal(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    from transformers import BertForPreTraining

    from kmb.training.pretrain import check_inputs, pretraining_model
    from kmb.vocab.extend import extend_embeddings
    from kmb.vocab.tokenizers import load_tokenizer

    extended = helpers.save_tokenizer(tmp_path / "extended", helpers.vocab_tokens() + ["고혈압약", "##환자"])
    for recipe, init in (("paper", "normal"), ("modern", "subword-mean")):
        inputs = check_inputs(_short_config(corpus_workspace, tiny_base_dir, tokenizer=extended, recipe=recipe))
        assert inputs.config.init == init
        model, _ = pretraining_model(inputs.config, inputs)
        expected = extend_embeddings(BertForPreTraining.from_pretrained(str(tiny_base_dir)),
                                     load_tokenizer(tiny_base_dir), load_tokenizer(extended), init=init,
                                     seed=inputs.config.seed)
        torch.testing.assert_close(model.bert.embeddings.word_embeddings.weight,
                                   expected.bert.embeddings.word_embeddings.weight, rtol=0, atol=0)
    _nothing_written(corpus_workspace)


# --- the heads of the base model ---------------------------------------------------------------------
def test_a_plain_bert_model_base_says_its_heads_start_random(corpus_workspace, tmp_path, helpers, capsys):
    from transformers import BertConfig, BertModel

    tokens = helpers.vocab_tokens()
    base = tmp_path / "plain"
    BertModel(BertConfig(vocab_size=len(tokens), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(str(base))
    helpers.save_tokenizer(base, tokens)
    summary = run_pretraining(_short_config(corpus_workspace, base, output="plain"))
    assert summary["heads"] == "MLM and NSP freshly initialised (not in the checkpoint)"
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kmb: warning")]
    assert warnings == [f"kmb: warning: {base}: the MLM and NSP heads start random (not in the checkpoint), "
                        "so the start model's scores are no baseline"]
    card = (Path(summary["model"]) / "README.md").read_text()
    assert ("- pretraining heads: MLM and NSP freshly initialised (not in the checkpoint); the start model's "
            "MLM/NSP scores below are therefore no baseline") in card


def test_heads_are_described_from_the_keys_missing_in_the_checkpoint():
    from kmb.training.pretrain import describe_heads

    assert describe_heads(set()) == ("MLM and NSP from the checkpoint", [])
    assert describe_heads({"cls.seq_relationship.weight", "cls.seq_relationship.bias"}) == (
        "NSP freshly initialised (not in the checkpoint), MLM from the checkpoint", ["NSP"])
    assert describe_heads({"cls.predictions.bias", "cls.predictions.transform.dense.weight"})[1] == ["MLM"]


# --- starting from another Korean encoder: any AutoModelForMaskedLM family ---------------------------
def _family_base(family, tmp_path, helpers, dropout=0.0):
    if family == "bert":
        folder = helpers.save_tiny_bert(tmp_path / "bert", len(helpers.vocab_tokens()), dropout=dropout)
        return helpers.save_tokenizer(folder, helpers.vocab_tokens())
    return helpers.save_tiny_encoder(tmp_path / family, family, dropout=dropout)


def _tensorboard_scalars(folder: Path) -> dict[str, list[int]]:
    """tag -> the steps it was written at, over the event files in ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps: dict[str, list[int]] = {}
    for events in sorted(folder.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            steps.setdefault(tag, []).extend(event.step for event in accumulator.Scalars(tag))
    return steps


MASKED_LM_CHECK = """
import sys, torch
from transformers import AutoModelForMaskedLM
model = AutoModelForMaskedLM.from_pretrained(sys.argv[1]).eval()
batch = torch.load(sys.argv[2])
with torch.no_grad():
    print(type(model).__name__, float(model(**batch).loss))
assert not any(m == "kmb" or m.startswith("kmb.") for m in sys.modules)
"""


def _masked_batch(model_dir: Path) -> dict:
    from kmb.training.masking import mask_tokens
    from kmb.vocab.tokenizers import load_tokenizer

    tok = load_tokenizer(model_dir)
    enc = tok(["고혈압 환자는 두통 증상으로 병원에 왔다 .", "당뇨병 환자에게 인슐린 처방이 필요하다 ."], padding=True,
              return_tensors="pt", return_token_type_ids=False)
    special = torch.isin(enc["input_ids"], torch.tensor(tok.all_special_ids))
    masked, labels = mask_tokens(enc["input_ids"], special, mask_token_id=tok.mask_token_id, vocab_size=len(tok),
                                 generator=torch.Generator().manual_seed(0), mlm_probability=0.3)
    return {"input_ids": masked, "attention_mask": enc["attention_mask"], "labels": labels}


@pytest.mark.parametrize("family, objective", [("bert", "mlm+nsp"), ("roberta", "mlm"), ("xlm-roberta", "mlm"),
                                               ("modernbert", "mlm")])
def test_auto_objective_resume_and_a_plain_masked_lm_for_each_family(corpus_workspace, tmp_path, helpers, family,
                                                                    objective, plain_python):
    from kmb.training.masking import masked_positions
    from kmb.training.model import masked_only_mlm

    base = _family_base(family, tmp_path, helpers, dropout=0.1)
    kw = dict(max_steps=5, save_steps=3, eval_steps=2)
    whole = LogCapture()
    summary = run_pretraining(_config(corpus_workspace, base, "whole", report_to="tensorboard", **kw), [whole])
    assert summary["objective"] == f"{objective} (auto)" and summary["family"] == family
    unit = "pairs" if objective == "mlm+nsp" else "segments"
    assert summary[f"train {unit}"] > 0 and (corpus_workspace.pretrain("whole") / unit.replace("pairs", "shards")).is_dir()
    assert ("nsp accuracy" in summary) == (objective == "mlm+nsp")
    # resume equals uninterrupted
    first = LogCapture(stop_at=3)
    run_pretraining(_config(corpus_workspace, base, "parts", **kw), [first])
    second = LogCapture()
    run_pretraining(_config(corpus_workspace, base, "parts", resume=True, **kw), [second])
    assert sorted(first.losses) == [1, 2, 3] and sorted(second.losses) == [4, 5]
    for step in range(1, 6):
        assert (first.losses | second.losses)[step] == pytest.approx(whole.losses[step], rel=1e-5), step
    a = load_file(corpus_workspace.model("whole") / "model.safetensors")
    b = load_file(corpus_workspace.model("parts") / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)
    # the Trainer's logs and the validation metrics that exist, as TensorBoard scalars
    scalars = _tensorboard_scalars(corpus_workspace.pretrain("whole") / "runs")
    metrics = {"eval/mlm_accuracy", "eval/mlm_loss"} | ({"eval/nsp_accuracy", "eval/nsp_loss"} if unit == "pairs" else set())
    assert {"train/loss", "train/learning_rate"} | metrics <= set(scalars)
    assert not {"eval/nsp_accuracy", "eval/nsp_loss"} & (set(scalars) - metrics)
    assert sorted(scalars["train/loss"]) == [1, 2, 3, 4, 5]
    for tag in metrics:  # the start model at step 0, then every --eval-steps and the last step
        assert sorted(scalars[tag]) == [0, 2, 4, 5], tag
    # plain AutoModelForMaskedLM, without kmb, gives the masked-only head's loss
    out = corpus_workspace.model("whole")
    batch = _masked_batch(out)
    torch.save(batch, tmp_path / "batch.pt")
    done = plain_python(MASKED_LM_CHECK, out, tmp_path / "batch.pt", cwd="/", timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    plain_class, plain_loss = done.stdout.split()
    ours = masked_only_mlm(out).eval()
    assert type(ours).__name__ == f"MaskedOnly{plain_class}"
    with torch.no_grad():
        got = ours(**batch, masked_positions=torch.from_numpy(masked_positions(batch["labels"].numpy(), 0.3))).loss
    assert float(got) == pytest.approx(float(plain_loss), rel=1e-5)
    card = (out / "README.md").read_text()
    assert f"- base family: {family} ({plain_class.replace('ForMaskedLM', 'ForPreTraining') if objective == 'mlm+nsp' else plain_class})" in card
    assert f"- objective: {objective} (auto)" in card


def test_mlm_on_a_bert_saves_a_masked_lm_and_auto_continues_it_with_mlm(corpus_workspace, tiny_base_dir):
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "bert-mlm", objective="mlm", max_steps=2))
    assert summary["objective"] == "mlm" and summary["train segments"] > 0 and "nsp loss" not in summary
    out = Path(summary["model"])
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    records = read_metrics(out / "metrics.jsonl")
    assert set(records[-1]) == {"phase", "step", "epoch", "mlm_accuracy", "mlm_loss"}
    again = run_pretraining(_config(corpus_workspace, out, "bert-mlm-again", max_steps=2))
    assert again["objective"] == "mlm (auto)"  # an MLM head and no NSP head: pretrained MLM-only


def test_whole_word_masking_with_mlm_and_nsp(corpus_workspace, tiny_base_dir):
    summary = run_pretraining(_config(corpus_workspace, tiny_base_dir, "wwm", whole_word_masking=True, max_steps=2))
    assert summary["objective"] == "mlm+nsp (auto)"
    assert summary["masking"] == "whole-word (every piece of a chosen eojeol), 15%, dynamic"
    assert "whole_word_masking True (paper: False)" in summary["differs from the paper"]
    card = (Path(summary["model"]) / "README.md").read_text()
    assert "- masking: whole-word (every piece of a chosen eojeol), 15%, dynamic" in card
    assert "| whole_word_masking | True |" in card


def test_an_extended_bpe_vocab_grows_a_roberta_and_the_card_says_so(corpus_workspace, tmp_path, helpers):
    from kmb.vocab.tokenizers import load_tokenizer

    base = helpers.save_tiny_encoder(tmp_path / "roberta", "roberta")
    extended = load_tokenizer(base)
    extended.add_tokens(["고혈압", "당뇨병"])
    extended.save_pretrained(str(tmp_path / "extended"))
    summary = run_pretraining(_config(corpus_workspace, base, "grown", tokenizer=str(tmp_path / "extended"),
                                      max_steps=2))
    assert summary["vocab growth"] == "+2 tokens (400 -> 402, init normal)" and summary["objective"] == "mlm (auto)"
    weights = load_file(Path(summary["model"]) / "model.safetensors")
    assert weights["roberta.embeddings.word_embeddings.weight"].shape[0] == 402
    card = (Path(summary["model"]) / "README.md").read_text()
    for line in ("- base family: roberta (RobertaForMaskedLM)", "- objective: mlm (auto)",
                 "- masking: token, 15%, dynamic", "- vocab growth: +2 tokens (400 -> 402, init normal)",
                 "| split | sentences | segments | tokens |"):
        assert line in card, line
    assert "NotNext" not in card and "nsp_accuracy" not in card


def test_tensorboard_without_the_package_is_one_line(corpus_workspace, tiny_base_dir, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else find_spec(name, *a))
    with pytest.raises(KmbError, match=r"--report-to tensorboard needs the tensorboard package: pip install 'kmb\[tensorboard\]'"):
        run_pretraining(_short_config(corpus_workspace, tiny_base_dir, report_to="tensorboard"))
    with pytest.raises(KmbError, match="unknown --report-to 'wandb': choose none or tensorboard"):
        run_pretraining(_short_config(corpus_workspace, tiny_base_dir, report_to="wandb"))
    _nothing_written(corpus_workspace)


def test_bad_objective_and_bases_are_one_line_and_write_nothing(corpus_workspace, tiny_base_dir, tmp_path, helpers):
    from transformers import ElectraConfig, ElectraForPreTraining
    from typer.testing import CliRunner

    from kmb.cli import app

    result = CliRunner().invoke(app, ["pretrain", "--workspace", str(corpus_workspace.root), "--base-model",
                                      str(tiny_base_dir), "--output", "bad", "--objective", "nsp"])
    assert result.exit_code != 0 and str(result.exception) == "unknown --objective 'nsp': choose auto, mlm, mlm+nsp"
    roberta = helpers.save_tiny_encoder(tmp_path / "roberta", "roberta")
    with pytest.raises(KmbError, match="--objective mlm\\+nsp: a 'roberta' model has no NSP head"):
        run_pretraining(_short_config(corpus_workspace, roberta, objective="mlm+nsp"))
    # an ELECTRA discriminator: an encoder without an MLM head, for every objective it could take
    electra = tmp_path / "electra"
    ElectraForPreTraining(ElectraConfig(vocab_size=400, embedding_size=32, hidden_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=64)).save_pretrained(str(electra))
    for path in helpers.bpe_tokenizer.iterdir():
        (electra / path.name).write_bytes(path.read_bytes())
    for objective in ("auto", "mlm"):
        with pytest.raises(KmbError, match=r"the base model \(ElectraForPreTraining\) has no MLM head in its checkpoint"):
            run_pretraining(_short_config(corpus_workspace, electra, objective=objective))
    # tokenizers that do not match a RoBERTa: fewer tokens than its embeddings, ids beyond them
    unigram = helpers.bpe_tokenizer.parent / "unigram"
    with pytest.raises(KmbError, match="the tokenizer has 107 tokens but the model has 400 token embeddings"):
        run_pretraining(_short_config(corpus_workspace, roberta, tokenizer=str(unigram)))
    small = helpers.save_tiny_encoder(tmp_path / "small", "roberta", vocab_size=300)
    with pytest.raises(KmbError, match="the tokenizer has token ids up to 399 but the model only 300 token embeddings"):
        run_pretraining(_short_config(corpus_workspace, small))
    _nothing_written(corpus_workspace)


def test_the_base_models_own_tokenizer_may_be_smaller_than_padded_embeddings(corpus_workspace, tmp_path, helpers):
    # ModernBERT pads its embedding matrix beyond its tokenizer; random replacements stay in the tokenizer
    base = helpers.save_tiny_encoder(tmp_path / "padded", "modernbert", vocab_size=448)
    summary = run_pretraining(_config(corpus_workspace, base, "padded", max_steps=2))
    assert summary["objective"] == "mlm (auto)" and summary["vocab size"] == 400 and summary["vocab growth"] == "none"
