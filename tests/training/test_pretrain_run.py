"""One whole `kmb pretrain` run of a tiny BERT (one epoch, fp32, no dropout), shared by the tests of
this module: what the run learns, what it measures, and the directory it leaves."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from kmb.training.metrics import read_metrics
from kmb.training.pretrain import run_pretraining
from kmb.workspace import Workspace


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory, helpers):
    root = tmp_path_factory.mktemp("bert-run")
    ws = Workspace.open(root / "ws")
    helpers.write_sentences(ws, helpers.make_sentence_rows(60))
    base = helpers.family_base("bert", root / "base")
    capture = helpers.LogCapture()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the per-test fixture does: tiny models, a busy shared machine
    try:
        summary = run_pretraining(helpers.config(ws, base, "run", epochs=1, eval_steps=10), [capture])
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(
        workspace=ws,
        summary=summary,
        losses=capture.losses,
        out=Path(summary["model"]),
        records=read_metrics(ws.pretrain("run") / "metrics.jsonl"),
    )


def test_the_training_loss_decreases(bert_run):
    steps = sorted(bert_run.losses)
    first, last = [bert_run.losses[s] for s in steps[:3]], [bert_run.losses[s] for s in steps[-3:]]
    assert sum(last) / 3 < sum(first) / 3 - 0.5


def test_the_validation_scores_improve_from_the_start_model(bert_run):
    records = bert_run.records
    assert records[0]["phase"] == "base" and records[0]["step"] == 0
    assert records[-1]["mlm_loss"] < records[0]["mlm_loss"]
    assert records[-1]["mlm_accuracy"] > records[0]["mlm_accuracy"]


def test_each_evaluation_is_recorded_once(bert_run):
    assert [r["step"] for r in bert_run.records[1:]] == sorted({r["step"] for r in bert_run.records[1:]})


def test_the_summary_has_the_measured_throughput(bert_run):
    # the throughput measured over the steps after the warm-up (no GPU here: no MFU line)
    summary = bert_run.summary
    assert summary["throughput tokens/s"] > 0 and 0 <= summary["throughput padding"] < 1
    assert summary["TFLOP/s per device"] > 0 and "MFU" not in summary


def test_the_model_directory_holds_weights_tokenizer_metrics_curves_and_card(bert_run):
    out = bert_run.out
    assert (bert_run.workspace.pretrain("run") / "curves.png").stat().st_size > 10_000
    assert {"model.safetensors", "config.json", "README.md", "vocab.txt", "metrics.jsonl", "curves.png"} <= {
        p.name for p in out.iterdir()
    }
    assert not list(out.glob("*.bin"))
    assert "mlm_accuracy" in (out / "README.md").read_text()


def test_the_model_directory_loads_with_plain_transformers(bert_run, plain_python):
    script = (
        "import sys, torch\n"
        "from transformers import AutoModelForPreTraining, AutoModelForMaskedLM, AutoTokenizer\n"
        f"d = {str(bert_run.out)!r}\n"
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
