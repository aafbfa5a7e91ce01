"""`kmb pretrain` holds the workspace lock "pretrain/<name>" for the whole run (kmb.training.pretrain):
a second run of the same name is refused at once, in one line, and writes nothing."""

from __future__ import annotations

import pytest
from transformers import TrainerCallback

from kmb.errors import KmbError
from kmb.training.pretrain import run_pretraining


class LockProbe(TrainerCallback):
    """Tries to take ``area``'s lock after each step; records the steps where it was refused."""

    def __init__(self, workspace, area: str):
        self.workspace, self.area, self.refused = workspace, area, []

    def on_step_end(self, args, state, control, **kwargs):
        try:
            with self.workspace.lock(self.area):
                pass
        except KmbError:
            self.refused.append(state.global_step)


def test_a_second_pretrain_of_the_same_name_is_refused_while_the_first_holds_the_lock(
    corpus_workspace, tiny_base_dir, helpers, run_kmb
):
    with corpus_workspace.lock("pretrain/bad"):  # the first `kmb pretrain --output bad`, still running
        code, out, err = run_kmb(
            "pretrain",
            "--workspace",
            corpus_workspace.root,
            "--base-model",
            tiny_base_dir,
            "--output",
            "bad",
            "--max-steps",
            "2",
            "--batch-size",
            "8",
            "--precision",
            "fp32",
        )
        assert code == 1 and out == ""
        assert err.splitlines() == [
            f"kmb: error: {corpus_workspace.root / '.locks' / 'pretrain~bad.lock'}: another kmb command is writing "
            "pretrain/bad in this workspace; wait for it to end"
        ]
        assert not corpus_workspace.pretrain("bad").exists()
        helpers.nothing_written(corpus_workspace)
        # another name is another lock, held while that run trains
        probe = LockProbe(corpus_workspace, "pretrain/other")
        assert (
            run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, output="other"), [probe])["steps"]
            == 2
        )
        assert probe.refused == [1, 2]
    # released at the end of each run: the same name runs once the first is done
    assert run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir))["steps"] == 2


@pytest.mark.parametrize("option", [dict(batch_size=0), dict(init="mean"), dict(output="../x")])
def test_a_bad_option_is_refused_before_the_lock_is_taken(tmp_path, tiny_base_dir, option):
    # the options need no file: a bad one creates no workspace, not even its lock file
    from kmb.training.config import PretrainConfig

    root = tmp_path / "no-ws"
    with pytest.raises(KmbError):
        run_pretraining(
            PretrainConfig(**{"workspace": root, "base_model": str(tiny_base_dir), "output": "bad", **option})
        )
    assert not root.exists()
