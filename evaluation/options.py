"""The evaluation commands' options: the shared fine-tuning and intrinsic settings, their defaults
(the paper's where it has one) and their checks, run before anything is read or written.

A light module (no torch at import), so the CLI reads its defaults from these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kmb import checks
from kmb.errors import KmbError

# learning rate x epochs; the paper's batch size 32 is FinetuneConfig.batch_size.
GRIDS: dict[str, list[tuple[float, int]]] = {
    "paper": [(lr, epochs) for lr in (2e-5, 3e-5, 5e-5) for epochs in (2, 3, 4)],
    "quick": [(5e-5, 2)],
}
BATCH = checks.at_least(1, "a batch holds at least one input")
MAX_LENGTH = checks.at_least(5, "[CLS] s1 [SEP] s2 [SEP] needs at least 5 tokens")


@dataclass
class FinetuneConfig:
    """Fine-tuning settings shared by NER, STS and classification: the grid, batches, dev split, seed, device."""

    grid: str = "paper"
    batch_size: int = 32
    max_length: int = 128
    dev_fraction: float = 0.1
    seed: int = 42
    device: str | None = None  # None: cuda when available, else cpu
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01

    def settings(self) -> list[tuple[float, int]]:
        """A named grid, or explicit settings "LR:EPOCHS[,LR:EPOCHS...]" (e.g. "1e-3:5" for tiny models)."""
        if self.grid in GRIDS:
            return GRIDS[self.grid]
        try:
            settings = [(float(lr), int(epochs)) for lr, epochs in (item.split(":") for item in self.grid.split(","))]
        except ValueError:
            raise KmbError(
                f"--grid must be {', '.join(GRIDS)} or LR:EPOCHS[,LR:EPOCHS...], not {self.grid!r}"
            ) from None
        if any(lr <= 0 or epochs < 1 for lr, epochs in settings):
            raise KmbError(f"--grid must have learning rates above 0 and at least 1 epoch, not {self.grid!r}")
        return settings

    def check(self) -> None:
        """Every number and the grid, before anything is read or written."""
        checks.number("--batch-size", self.batch_size, BATCH)
        checks.number("--max-length", self.max_length, MAX_LENGTH)
        checks.number("--seed", self.seed, checks.SEED)
        checks.number("--dev-fraction", self.dev_fraction, checks.FRACTION)
        self.settings()

    def torch_device(self):
        return torch_device(self.device)


@dataclass
class IntrinsicConfig:
    """Settings of `kmb evaluate mlm` and `nsp`: maskings per pair (paper: 100), batches, seed, device."""

    repeats: int = 100
    batch_size: int = 64
    max_length: int = 128
    seed: int = 42
    device: str | None = None

    def check(self) -> None:
        """Every number, before anything is read or written."""
        checks.number("--repeats", self.repeats, checks.at_least(1, "at least one masking"))
        checks.number("--batch-size", self.batch_size, BATCH)
        checks.number("--max-length", self.max_length, MAX_LENGTH)
        checks.number("--seed", self.seed, checks.SEED)

    def torch_device(self):
        return torch_device(self.device)


# The defaults of `kmb evaluate make-pairs`.
PAIRS_MIN_CHARS = 20
PAIRS_PER_TYPE = 294  # the paper's pairs per corpus type


# What each fine-tuning task runs on, besides the models and FinetuneConfig. The fields are the
# keyword options of run_ner / run_sts / run_classify, so a command hands them over as they are.
@dataclass
class NerTask:
    fmt: str = "kmbert"  # kmbert (WORD MASK TAG), klue (character TSV) or conll (WORD TAG)
    folds: int = 5  # the paper's cross-validation
    scheme: str = "bio"  # bio (IOB2, seqeval) or paper (the KM-BERT authors' merged classes)
    drop_leaks: bool = False
    predictions_out: Path | None = None


@dataclass
class StsTask:
    fmt: str = "korsts"
    heads: tuple[str, ...] = ("regression", "6class")  # the 6-class head is KM-BERT's variant
    predictions_out: Path | None = None
    max_train: int | None = None
    max_test: int | None = None

    @staticmethod
    def heads_for(six_class: bool) -> tuple[str, ...]:
        return StsTask.heads if six_class else StsTask.heads[:1]


@dataclass
class ClassifyTask:
    data: Path | None = None  # one labelled file (stratified folds) or a folder of folds
    train: Path | None = None  # or a given split: --train with --test
    test: Path | None = None
    fmt: str = "auto"
    folds: int = 5
    seeds: int = 1  # training runs per fold, seeds --seed, --seed + 1, ...
    predictions_out: Path | None = None


def check_pairs_options(min_chars: int, per_type: int, seed: int) -> None:
    checks.number("--min-chars", min_chars, checks.at_least(0))
    checks.number("--per-type", per_type, checks.at_least(1, "at least one pair per type"))
    checks.number("--seed", seed, checks.SEED)


def check_folds(folds: int) -> None:
    checks.number("--folds", folds, checks.at_least(2, "cross validation needs at least 2 folds"))


def check_seeds(seeds: int, seed: int) -> None:
    checks.number("--seeds", seeds, checks.at_least(1, "at least one training run per fold"))
    if seed + seeds - 1 >= checks.SEED_LIMIT:
        raise KmbError(f"--seed {seed} with --seeds {seeds} runs past the largest seed, {checks.SEED_LIMIT - 1}")


def check_sizes(max_train: int | None, max_test: int | None) -> None:
    checks.number("--max-train", max_train, checks.at_least(2, "a dev split is cut from the training pairs"))
    checks.number("--max-test", max_test, checks.at_least(1, "at least one test pair"))


def torch_device(name: str | None):
    import torch

    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
