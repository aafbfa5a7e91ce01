"""`kmb pretrain --resume` of a run whose checkpoint is already at --max-steps (kmb.training.pretrain):
nothing more is trained and nothing is rewritten."""

from __future__ import annotations

import json

import pytest

from kmb.training.pretrain import run_pretraining


def resume_after_the_last_step(ws, base, helpers, name: str, last: int, **kw) -> dict:
    """Run to the end, then --resume with the same options: nothing may train or change."""
    run_pretraining(helpers.config(ws, base, name, save_steps=last, **kw))
    run_dir, model_dir = ws.pretrain(name), ws.model(name)
    state_path = run_dir / "checkpoints" / f"checkpoint-{last}" / "trainer_state.json"
    before = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in [model_dir / "model.safetensors", model_dir / "README.md", run_dir / "metrics.jsonl", state_path]
    }
    capture = helpers.LogCapture()
    summary = run_pretraining(helpers.config(ws, base, name, save_steps=last, resume=True, **kw), [capture])
    assert capture.losses == {}
    assert json.loads(state_path.read_text())["global_step"] == last
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [f"checkpoint-{last}"]
    for path, (data, mtime) in before.items():
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, path
    return summary


def test_resume_at_max_steps_trains_nothing_and_leaves_the_output(corpus_workspace, tiny_base_dir, helpers):
    summary = resume_after_the_last_step(corpus_workspace, tiny_base_dir, helpers, "done", 2, max_steps=2)
    assert summary == {
        "model": str(corpus_workspace.model("done")),
        "trained": "nothing: checkpoint-2 is already at the last step (--max-steps 2)",
        "steps": 2,
    }
    # a larger --max-steps trains on from there
    capture = helpers.LogCapture()
    summary = run_pretraining(
        helpers.config(corpus_workspace, tiny_base_dir, "done", save_steps=2, max_steps=3, resume=True), [capture]
    )
    assert summary["steps"] == 3 and sorted(capture.losses) == [3]


@pytest.mark.parametrize("epochs, last", [(0.2, 5), (1, 25)], ids=["part-epoch", "whole-epoch"])
def test_resume_after_the_last_step_of_the_epochs_trains_nothing(
    corpus_workspace, tiny_base_dir, helpers, epochs, last
):
    # 194 train pairs in batches of 8: 25 steps an epoch; 0.2 epochs is 5 steps (rounded up)
    summary = resume_after_the_last_step(corpus_workspace, tiny_base_dir, helpers, "epochs", last, epochs=epochs)
    assert (
        summary["trained"]
        == f"nothing: checkpoint-{last} is already at the last step (--epochs {epochs}: {last} steps)"
    )
    assert summary["steps"] == last


def test_resume_at_max_steps_without_a_saved_model_says_so(corpus_workspace, tiny_base_dir, helpers):
    # killed after the last checkpoint, before models/<name>/ was written
    kw = dict(max_steps=2, save_steps=2)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "cut", **kw), [helpers.LogCapture(stop_at=2)])
    import shutil

    shutil.rmtree(corpus_workspace.model("cut"))
    summary = run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "cut", resume=True, **kw))
    assert summary["model"] == "not written: run again without --resume" and summary["steps"] == 2
    assert not corpus_workspace.model("cut").exists()
