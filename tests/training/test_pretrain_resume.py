"""`kmb pretrain --resume` of a run whose checkpoint is already at --max-steps (kmb.training.pretrain):
nothing more is trained and nothing is rewritten."""

from __future__ import annotations

import json

from kmb.training.pretrain import run_pretraining


def test_resume_at_max_steps_trains_nothing_and_leaves_the_output(corpus_workspace, tiny_base_dir, helpers):
    kw = dict(max_steps=2, save_steps=2)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "done", **kw))
    run_dir, model_dir = corpus_workspace.pretrain("done"), corpus_workspace.model("done")
    state_path = run_dir / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    before = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in [model_dir / "model.safetensors", run_dir / "metrics.jsonl", state_path]
    }
    capture = helpers.LogCapture()
    summary = run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "done", resume=True, **kw), [capture])
    assert summary == {
        "model": str(model_dir),
        "trained": "nothing: checkpoint-2 is already at --max-steps 2",
        "steps": 2,
    }
    assert capture.losses == {}
    assert json.loads(state_path.read_text())["global_step"] == 2
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["checkpoint-2"]
    for path, (data, mtime) in before.items():
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, path


def test_resume_at_max_steps_without_a_saved_model_says_so(corpus_workspace, tiny_base_dir, helpers):
    # killed after the last checkpoint, before models/<name>/ was written
    kw = dict(max_steps=2, save_steps=2)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "cut", **kw), [helpers.LogCapture(stop_at=2)])
    import shutil

    shutil.rmtree(corpus_workspace.model("cut"))
    summary = run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "cut", resume=True, **kw))
    assert summary["model"] == "not written: run again without --resume" and summary["steps"] == 2
    assert not corpus_workspace.model("cut").exists()
