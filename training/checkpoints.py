"""Which Trainer checkpoint `kmb pretrain --resume` continues from: the newest one that reads.

A kill while the Trainer writes a checkpoint, or a full disk, can leave the newest
``checkpoint-<step>/`` truncated or incomplete; the Trainer would crash on it. Each checkpoint is
checked without loading it (the JSON state, the safetensors header against the file's size, the
zip directories of the optimizer, scheduler, RNG and scaler states), newest first, and the first
sound one is used: the run then repeats the steps after it.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kmb.errors import KmbError

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
# The Trainer's own states, each a torch zip file. The RNG states (rng_state.pth, or
# rng_state_<rank>.pth under torchrun) and the fp16 scaler.pt are optional to the Trainer, but one
# that is there is read with torch.load, which fails on a truncated file: checked when present.
TORCH_STATES = ("optimizer.pt", "scheduler.pt")
OPTIONAL_STATES = ("rng_state*.pth", "scaler.pt")


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int  # the optimizer steps done (trainer_state.json's global_step)


def checkpoint_problem(folder: Path) -> str | None:
    """What makes a checkpoint unusable (one short phrase), or None when every part reads."""
    try:
        state = json.loads((folder / "trainer_state.json").read_text())
        int(state["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return "trainer_state.json is missing or unreadable"
    weights = folder / "model.safetensors"
    if weights.is_file():
        from safetensors import safe_open

        try:
            with safe_open(str(weights), "pt") as handle:
                handle.keys()
        except Exception:  # truncated or foreign: safetensors checks the header against the size
            return "model.safetensors is truncated or unreadable"
    elif not (folder / "pytorch_model.bin").is_file():
        return "the model weights are missing"
    optional = sorted(path.name for pattern in OPTIONAL_STATES for path in folder.glob(pattern))
    for name in [*TORCH_STATES, *optional]:
        try:
            with zipfile.ZipFile(folder / name) as archive:  # the central directory sits at the end
                archive.namelist()
        except (OSError, zipfile.BadZipFile):
            return f"{name} is missing or truncated"
    return None


def resume_checkpoint(ckpt_dir: Path) -> tuple[Checkpoint, list[str]]:
    """-> (the newest readable checkpoint, "checkpoint-N: problem" for each newer one skipped).
    KmbError when there is none."""
    found = []
    if ckpt_dir.is_dir():
        for folder in ckpt_dir.iterdir():
            match = CHECKPOINT_NAME.match(folder.name)
            if match and folder.is_dir():
                found.append((int(match.group(1)), folder))
    skipped = []
    for _, folder in sorted(found, reverse=True):
        problem = checkpoint_problem(folder)
        if problem is None:
            state = json.loads((folder / "trainer_state.json").read_text())
            return Checkpoint(folder, int(state["global_step"])), skipped
        skipped.append(f"{folder.name}: {problem}")
    if skipped:
        raise KmbError(f"--resume: no readable checkpoint ({'; '.join(skipped)})", path=ckpt_dir)
    raise KmbError("--resume: no checkpoint to resume from", path=ckpt_dir)
