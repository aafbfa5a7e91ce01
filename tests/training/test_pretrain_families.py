"""`kmb pretrain` from other Korean encoders: any AutoModelForMaskedLM family (BERT, RoBERTa, XLM-R,
ModernBERT, DistilBERT, ALBERT, the ELECTRA generator, DeBERTa-v2). One run per family (with TensorBoard, dropout on) is shared by the tests of this module."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from kmb.training.pretrain import run_pretraining
from kmb.workspace import Workspace

FAMILIES = [("bert", "mlm+nsp"), ("roberta", "mlm"), ("xlm-roberta", "mlm"), ("modernbert", "mlm"), ("distilbert", "mlm"),
            ("albert", "mlm"), ("electra", "mlm"), ("deberta-v2", "mlm")]  # fmt: skip
STEPS = dict(max_steps=5, save_steps=3, eval_steps=2)


@pytest.fixture(scope="module", params=FAMILIES, ids=[family for family, _ in FAMILIES])
def family_run(request, tmp_path_factory, helpers):
    family, objective = request.param
    root = tmp_path_factory.mktemp(f"family-{family}")
    ws = Workspace.open(root / "ws")
    helpers.write_sentences(ws, helpers.make_sentence_rows(60))
    base = helpers.family_base(family, root / family, dropout=0.1)
    capture = helpers.LogCapture()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the per-test fixture does: tiny models, a busy shared machine
    try:
        summary = run_pretraining(helpers.config(ws, base, "whole", report_to="tensorboard", **STEPS), [capture])
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(
        family=family,
        objective=objective,
        workspace=ws,
        base=base,
        summary=summary,
        losses=capture.losses,
        out=ws.model("whole"),
        root=root,
    )


def test_auto_chooses_the_familys_objective(family_run):
    summary, objective = family_run.summary, family_run.objective
    assert summary["objective"] == f"{objective} (auto)" and summary["family"] == family_run.family
    unit = "pairs" if objective == "mlm+nsp" else "segments"
    assert summary[f"train {unit}"] > 0
    assert (family_run.workspace.pretrain("whole") / unit.replace("pairs", "shards")).is_dir()
    assert ("nsp accuracy" in summary) == (objective == "mlm+nsp")


def test_resume_equals_an_uninterrupted_run(family_run, helpers):
    ws, base = family_run.workspace, family_run.base
    first = helpers.LogCapture(stop_at=3)
    run_pretraining(helpers.config(ws, base, "parts", **STEPS), [first])
    second = helpers.LogCapture()
    run_pretraining(helpers.config(ws, base, "parts", resume=True, **STEPS), [second])
    assert sorted(first.losses) == [1, 2, 3] and sorted(second.losses) == [4, 5]
    for step in range(1, 6):
        assert (first.losses | second.losses)[step] == pytest.approx(family_run.losses[step], rel=1e-5), step
    a = load_file(ws.model("whole") / "model.safetensors")
    b = load_file(ws.model("parts") / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


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


def test_tensorboard_gets_the_logs_and_the_validation_metrics_that_exist(family_run):
    scalars = _tensorboard_scalars(family_run.workspace.pretrain("whole") / "runs")
    nsp = {"eval/nsp_accuracy", "eval/nsp_loss"}
    metrics = {"eval/mlm_accuracy", "eval/mlm_loss"} | (nsp if family_run.objective == "mlm+nsp" else set())
    assert {"train/loss", "train/learning_rate"} | metrics <= set(scalars)
    assert not nsp & (set(scalars) - metrics)
    assert sorted(scalars["train/loss"]) == [1, 2, 3, 4, 5]
    for tag in metrics:  # the start model at step 0, then every --eval-steps and the last step
        assert sorted(scalars[tag]) == [0, 2, 4, 5], tag


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
    enc = tok(
        ["고혈압 환자는 두통 증상으로 병원에 왔다 .", "당뇨병 환자에게 인슐린 처방이 필요하다 ."],
        padding=True,
        return_tensors="pt",
        return_token_type_ids=False,
    )
    special = torch.isin(enc["input_ids"], torch.tensor(tok.all_special_ids))
    masked, labels = mask_tokens(
        enc["input_ids"],
        special,
        mask_token_id=tok.mask_token_id,
        vocab_size=len(tok),
        generator=torch.Generator().manual_seed(0),
        mlm_probability=0.3,
    )
    return {"input_ids": masked, "attention_mask": enc["attention_mask"], "labels": labels}


def _plain_masked_lm(family_run, plain_python) -> tuple[str, float, dict]:
    """-> (the class plain AutoModelForMaskedLM loads, its loss on a masked batch, that batch)."""
    batch = _masked_batch(family_run.out)
    path = family_run.root / "batch.pt"
    torch.save(batch, path)
    done = plain_python(MASKED_LM_CHECK, family_run.out, path, cwd="/", timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    plain_class, plain_loss = done.stdout.split()
    return plain_class, float(plain_loss), batch


def test_plain_transformers_loads_the_output_and_gives_the_masked_only_heads_loss(family_run, plain_python):
    from kmb.training.masking import masked_positions
    from kmb.training.model import masked_only_mlm

    plain_class, plain_loss, batch = _plain_masked_lm(family_run, plain_python)
    ours = masked_only_mlm(family_run.out).eval()
    assert type(ours).__name__ == f"MaskedOnly{plain_class}"
    with torch.no_grad():
        got = ours(**batch, masked_positions=torch.from_numpy(masked_positions(batch["labels"].numpy(), 0.3))).loss
    assert float(got) == pytest.approx(plain_loss, rel=1e-5)


def test_the_model_card_names_the_family_and_the_objective(family_run):
    card = (family_run.out / "README.md").read_text()
    saved = {
        "bert": "BertForPreTraining",
        "roberta": "RobertaForMaskedLM",
        "xlm-roberta": "XLMRobertaForMaskedLM",
        "modernbert": "ModernBertForMaskedLM",
        "distilbert": "DistilBertForMaskedLM",
        "albert": "AlbertForMaskedLM",
        "electra": "ElectraForMaskedLM",
        "deberta-v2": "DebertaV2ForMaskedLM",
    }[family_run.family]
    assert f"- base family: {family_run.family} ({saved})" in card
    assert f"- objective: {family_run.objective} (auto)" in card
