"""An evaluation run folder appears whole or not at all, one run of a name at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmb.errors import KmbError
from kmb.evaluation.commands import run_folder
from kmb.evaluation.report import load_results

REPO = Path(__file__).resolve().parents[2]


def test_a_failed_run_leaves_the_previous_run_whole(workspace):
    with run_folder(workspace, "ner") as tmp:
        (tmp / "result.json").write_text(json.dumps({"task": "ner", "n": 1}), encoding="utf-8")
        (tmp / "ner.md").write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), run_folder(workspace, "ner") as tmp:
        (tmp / "ner.md").write_text("new\n", encoding="utf-8")  # the new run's first file ...
        raise RuntimeError("killed")  # ... and then it dies
    run = workspace.eval("ner")
    assert (run / "ner.md").read_text(encoding="utf-8") == "old\n"
    assert json.loads((run / "result.json").read_text(encoding="utf-8"))["n"] == 1
    assert [p.name for p in run.parent.iterdir()] == ["ner"]


def test_a_finished_run_replaces_the_old_one_whole(workspace):
    for n in (1, 2):
        with run_folder(workspace, "ner") as tmp:
            (tmp / "result.json").write_text(json.dumps({"task": "ner", "n": n}), encoding="utf-8")
            if n == 1:
                (tmp / "stale.csv").write_text("x\n", encoding="utf-8")
    assert sorted(p.name for p in workspace.eval("ner").iterdir()) == ["result.json"]


def test_two_runs_of_one_name_are_refused(workspace):
    with workspace.lock("eval/ner"), pytest.raises(KmbError), run_folder(workspace, "ner"):
        pass
    assert not workspace.eval("ner").exists()


def test_the_report_reads_no_half_written_run(workspace):
    hidden = workspace.root / "eval" / ".ner.host-p1.abcd.tmp"
    hidden.mkdir(parents=True)
    (hidden / "result.json").write_text(json.dumps({"task": "ner"}), encoding="utf-8")
    assert load_results(workspace.root / "eval") == []


def test_predictions_appear_only_with_their_run_folder(workspace, tmp_path, monkeypatch):
    import errno

    from kmb import storage
    from kmb.storage import files_together

    preds = tmp_path / "preds.tsv"
    preds.write_text("previous run\n", encoding="utf-8")

    def full_disk(tmp, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(storage, "replace_dir", full_disk)  # the run folder's commit fails ...
    with pytest.raises(OSError), files_together() as later, run_folder(workspace, "ner") as tmp:
        with later.text(preds) as handle:  # ... after the predictions were written whole
            handle.write("new run\n")
        (tmp / "result.json").write_text(json.dumps({"task": "ner"}), encoding="utf-8")
    assert preds.read_text(encoding="utf-8") == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left
    assert not workspace.eval("ner").exists()

    monkeypatch.undo()
    with files_together() as later, run_folder(workspace, "ner") as tmp:
        with later.text(preds) as handle:
            handle.write("new run\n")
        (tmp / "result.json").write_text(json.dumps({"task": "ner"}), encoding="utf-8")
        assert preds.read_text(encoding="utf-8") == "previous run\n"  # not before the block ends
    assert preds.read_text(encoding="utf-8") == "new run\n" and (workspace.eval("ner") / "result.json").is_file()


def test_a_second_model_failing_leaves_no_predictions_of_the_first(tiny_models, tmp_path, monkeypatch, run_kmb):
    import errno

    from kmb.evaluation import classify

    lines = (REPO / "samples" / "classify" / "medical_paraphrase_train.tsv").read_text(encoding="utf-8").splitlines()
    train, test = tmp_path / "train.tsv", tmp_path / "test.tsv"
    train.write_text("\n".join(lines[:13]) + "\n", encoding="utf-8")
    test.write_text("\n".join(lines[:1] + lines[13:19]) + "\n", encoding="utf-8")
    real, calls = classify.evaluate_model, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "checkpoint"))
        return real(*args, **kwargs)

    monkeypatch.setattr(classify, "evaluate_model", second_fails)
    preds = tmp_path / "preds.tsv"
    models = [f"a={tiny_models[0]}", f"b={tiny_models[1]}"]
    options = ["--train", train, "--test", test, "--seeds", "1", "--grid", "5e-5:1", "--max-length", "32"]
    code, _, err = run_kmb("evaluate", "classify", "-m", models[0], "-m", models[1], *options,
                           "--predictions-out", preds, "--workspace", tmp_path / "ws")  # fmt: skip
    assert code == 1 and err.count("kmb: error") == 1 and "no space left" in err.strip().splitlines()[-1], err
    assert len(calls) == 2 and not list(tmp_path.glob("*preds*")) and not list(tmp_path.glob(".preds*"))
    assert not (tmp_path / "ws" / "eval" / "classify").exists()
