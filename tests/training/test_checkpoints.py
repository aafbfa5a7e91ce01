"""Which checkpoint `kmb pretrain --resume` continues from (kmb.training.checkpoints): the newest one
that reads; a damaged newer one (a kill or a full disk while the Trainer wrote it) is skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from kmb.errors import KmbError
from kmb.training.checkpoints import checkpoint_problem, resume_checkpoint
from kmb.training.pretrain import run_pretraining


def make_checkpoint(ckpt_dir: Path, step: int, weights: str = "model.safetensors") -> Path:
    """A checkpoint folder with the parts the Trainer writes (tiny contents)."""
    folder = ckpt_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    if weights == "model.safetensors":
        save_file({"w": torch.arange(64, dtype=torch.float32)}, str(folder / weights))
    else:
        torch.save({"w": torch.zeros(4)}, str(folder / weights))
    torch.save({"state": {}}, str(folder / "optimizer.pt"))
    torch.save({"last_epoch": step}, str(folder / "scheduler.pt"))
    torch.save({"python": 1, "cpu": torch.get_rng_state()}, str(folder / "rng_state.pth"))
    torch.save({"scale": 1.0}, str(folder / "scaler.pt"))  # with --precision fp16 only
    return folder


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_sound_checkpoint_has_no_problem(tmp_path):
    assert checkpoint_problem(make_checkpoint(tmp_path, 2)) is None
    for optional in ("rng_state.pth", "scaler.pt"):  # the Trainer goes on without them
        (tmp_path / "checkpoint-2" / optional).unlink()
    assert checkpoint_problem(tmp_path / "checkpoint-2") is None
    assert checkpoint_problem(make_checkpoint(tmp_path, 4, weights="pytorch_model.bin")) is None


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda f: truncate(f / "model.safetensors"), "model.safetensors is truncated or unreadable"),
        (lambda f: (f / "model.safetensors").unlink(), "the model weights are missing"),
        (lambda f: (f / "trainer_state.json").write_text('{"global_st'), "trainer_state.json is missing or unreadable"),
        (lambda f: (f / "trainer_state.json").unlink(), "trainer_state.json is missing or unreadable"),
        (lambda f: truncate(f / "optimizer.pt"), "optimizer.pt is missing or truncated"),
        (lambda f: (f / "scheduler.pt").unlink(), "scheduler.pt is missing or truncated"),
        (lambda f: truncate(f / "rng_state.pth"), "rng_state.pth is missing or truncated"),
        (lambda f: truncate(f / "scaler.pt"), "scaler.pt is missing or truncated"),
    ],
    ids=[
        "truncated-weights",
        "no-weights",
        "cut-state",
        "no-state",
        "cut-optimizer",
        "no-scheduler",
        "cut-rng",
        "cut-scaler",
    ],
)
def test_each_damaged_part_is_named(tmp_path, damage, problem):
    folder = make_checkpoint(tmp_path, 2)
    damage(folder)
    assert checkpoint_problem(folder) == problem


def test_the_newest_readable_checkpoint_is_chosen(tmp_path):
    for step in (9, 10, 12):  # by number: checkpoint-10 is newer than checkpoint-9
        make_checkpoint(tmp_path, step)
    truncate(tmp_path / "checkpoint-12" / "model.safetensors")
    (tmp_path / "checkpoint-11").mkdir()  # a folder the Trainer had only begun
    (tmp_path / "checkpoint-13.tmp").mkdir()  # not a checkpoint name: never considered
    checkpoint, skipped = resume_checkpoint(tmp_path)
    assert checkpoint.path == tmp_path / "checkpoint-10" and checkpoint.step == 10
    assert skipped == [
        "checkpoint-12: model.safetensors is truncated or unreadable",
        "checkpoint-11: trainer_state.json is missing or unreadable",
    ]


def test_no_readable_checkpoint_is_one_error_naming_each(tmp_path):
    with pytest.raises(KmbError, match="--resume: no checkpoint to resume from"):
        resume_checkpoint(tmp_path / "absent")
    make_checkpoint(tmp_path, 2)
    (tmp_path / "checkpoint-2" / "optimizer.pt").unlink()
    with pytest.raises(
        KmbError, match=r"no readable checkpoint \(checkpoint-2: optimizer.pt is missing or truncated\)"
    ):
        resume_checkpoint(tmp_path)


@pytest.mark.parametrize("part", ["model.safetensors", "optimizer.pt", "rng_state.pth"])
def test_resume_falls_back_past_a_truncated_checkpoint(corpus_workspace, tiny_base_dir, helpers, capsys, part):
    # checkpoints at steps 2 and 4; a part of the newest is cut in half, as a full disk leaves it
    kw = dict(max_steps=4, save_steps=2)
    whole = helpers.LogCapture()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "run", **kw), [whole])
    expected = load_file(corpus_workspace.model("run") / "model.safetensors")
    ckpt_dir = corpus_workspace.pretrain("run") / "checkpoints"
    truncate(ckpt_dir / "checkpoint-4" / part)
    capsys.readouterr()
    again = helpers.LogCapture()
    summary = run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "run", resume=True, **kw), [again])
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kmb: warning")]
    problem = "truncated or unreadable" if part == "model.safetensors" else "missing or truncated"
    assert warnings == [
        f"kmb: warning: --resume: skipped checkpoint-4: {part} is {problem}; resuming from checkpoint-2"
    ]
    # steps 3 and 4 are trained again, exactly as the first time
    assert summary["steps"] == 4 and sorted(again.losses) == [3, 4]
    for step in (3, 4):
        assert again.losses[step] == pytest.approx(whole.losses[step], rel=1e-5), step
    got = load_file(corpus_workspace.model("run") / "model.safetensors")
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
    assert checkpoint_problem(ckpt_dir / "checkpoint-4") is None  # written anew
