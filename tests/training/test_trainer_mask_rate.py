"""--mlm-probability-start: a masking rate that falls over the run (mmBERT, BioClinical ModernBERT),
carried by the sampler's keys, so resume, data-loader workers and validation are unaffected."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from kmb.errors import KmbError
from kmb.training import trainer as trainer_module
from kmb.training.config import PretrainConfig, apply_recipe, differs_from_paper, masking_scheme
from kmb.training.masking import IGNORE_INDEX
from kmb.training.pretrain import run_pretraining
from kmb.training.shards import PairShardDataset, build_shards
from kmb.training.trainer import LengthGroupedSampler, PretrainingTrainer, run_steps

START, END = 0.45, 0.15


def row_counts(batch: dict) -> tuple[np.ndarray, np.ndarray]:
    """(targets, non-special tokens) of each pair of a batch ([CLS] A [SEP] B [SEP]: 3 specials a pair)."""
    return batch["labels"].ne(IGNORE_INDEX).sum(1).numpy(), batch["attention_mask"].sum(1).numpy() - 3


def batch_rate(batch: dict) -> float:
    """The share of a pair batch's non-special tokens that are targets."""
    targets, candidates = row_counts(batch)
    return float(targets.sum() / candidates.sum())


@pytest.fixture
def measured_rates(monkeypatch):
    """Records the masking rate of every training batch (by the step it trains) and of every validation batch."""
    seen = {"train": {}, "valid": []}
    training_step = PretrainingTrainer.training_step

    def recording_step(self, model, inputs, *args, **kwargs):
        seen["train"].setdefault(self.state.global_step, []).append(row_counts(inputs))
        return training_step(self, model, inputs, *args, **kwargs)

    validation_metrics = trainer_module.validation_metrics

    def recording_metrics(model, dataset, collator, **kwargs):
        def recording_collator(features):
            batch = collator(features)
            seen["valid"].append(batch_rate(batch))
            return batch

        return validation_metrics(model, dataset, recording_collator, **kwargs)

    monkeypatch.setattr(PretrainingTrainer, "training_step", recording_step)
    monkeypatch.setattr(trainer_module, "validation_metrics", recording_metrics)
    return seen


def expected_rate(step: int, total: int) -> float:
    progress = step / (total - 1)
    return START * (1 - progress) + END * progress


def exact_counts(candidates: np.ndarray, rate: float) -> np.ndarray:
    """BERT's exact count of targets a pair: round(rate x its tokens), half to even, at least one."""
    return np.maximum(np.rint(candidates.astype(np.float32) * np.float32(rate)), 1)


def test_a_run_masks_at_the_start_rate_first_and_the_end_rate_last(
    corpus_workspace, tiny_base_dir, helpers, measured_rates
):
    # 194 train pairs in batches of 8: 25 steps an epoch, so 30 steps cross into the second epoch
    total = 30
    cfg = helpers.config(corpus_workspace, tiny_base_dir, "rate", max_steps=total, mlm_probability_start=START,
                         mlm_probability=END)  # fmt: skip
    summary = run_pretraining(cfg)
    train = measured_rates["train"]
    assert sorted(train) == list(range(total)) and all(len(batches) == 1 for batches in train.values())
    rate = {step: batches[0][0].sum() / batches[0][1].sum() for step, batches in train.items()}
    assert rate[0] == pytest.approx(START, abs=0.05) and rate[1] == pytest.approx(START, abs=0.05)
    assert rate[total - 1] == pytest.approx(END, abs=0.05) and rate[total - 2] == pytest.approx(END, abs=0.05)
    assert np.mean([rate[s] for s in range(5)]) > 2 * np.mean([rate[s] for s in range(total - 5, total)])
    for step, [(targets, candidates)] in train.items():  # linear in between, across the epoch boundary too
        assert targets.tolist() == exact_counts(candidates, expected_rate(step, total)).tolist(), step
    # validation keeps the final rate: the start model's scores, the epoch end and the last step
    assert len(measured_rates["valid"]) >= 3
    assert np.mean(measured_rates["valid"]) == pytest.approx(END, abs=0.02)
    # recorded in the summary and the model card
    assert summary["masking"] == "token, 45% -> 15% (linear over the optimizer steps; validation 15%), dynamic"
    assert "mlm_probability_start 0.45 (paper: None)" in summary["differs from the paper"]
    card = (corpus_workspace.model("rate") / "README.md").read_text()
    assert "| mlm_probability_start | 0.45 |" in card and "| mlm_probability | 0.15 |" in card
    assert "MLM: 45% -> 15% (linear over the optimizer steps; validation 15%) of non-special tokens" in card


def test_without_the_option_the_rate_is_constant(corpus_workspace, tiny_base_dir, helpers, measured_rates):
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "flat", max_steps=4, mlm_probability=0.3))
    for [(targets, candidates)] in measured_rates["train"].values():
        assert targets.tolist() == exact_counts(candidates, 0.3).tolist()
    assert len(measured_rates["train"]) == 4
    card = (corpus_workspace.model("flat") / "README.md").read_text()
    assert "| mlm_probability_start | None |" in card and "MLM: 30% of non-special tokens" in card


def test_resume_equals_an_uninterrupted_run_with_the_schedule(corpus_workspace, tiny_base_dir, helpers):
    from safetensors.torch import load_file

    kw = dict(max_steps=6, save_steps=3, dropout=0.1, mlm_probability_start=START, mlm_probability=END)
    whole = helpers.LogCapture()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "whole", **kw), [whole])
    first = helpers.LogCapture(stop_at=3)
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "parts", **kw), [first])
    second = helpers.LogCapture()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "parts", resume=True, **kw), [second])
    assert sorted(first.losses) == [1, 2, 3] and sorted(second.losses) == [4, 5, 6]
    for step in range(1, 7):
        assert (first.losses | second.losses)[step] == pytest.approx(whole.losses[step], rel=1e-5), step
    a = load_file(corpus_workspace.model("whole") / "model.safetensors")
    b = load_file(corpus_workspace.model("parts") / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


def test_a_run_with_data_loader_workers_masks_as_one_without(corpus_workspace, tiny_base_dir, helpers, measured_rates):
    kw = dict(max_steps=4, mlm_probability_start=START, mlm_probability=END)
    alone, two = helpers.LogCapture(), helpers.LogCapture()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "alone", dataloader_workers=0, **kw), [alone])
    targets_alone = {step: batches[0][0].tolist() for step, batches in measured_rates["train"].items()}
    measured_rates["train"].clear()
    run_pretraining(helpers.config(corpus_workspace, tiny_base_dir, "two", dataloader_workers=2, **kw), [two])
    targets_two = {step: batches[0][0].tolist() for step, batches in measured_rates["train"].items()}
    assert targets_two == targets_alone and sorted(targets_two) == [0, 1, 2, 3]
    assert two.losses == pytest.approx(alone.losses, rel=1e-6) and len(two.losses) == 4


@pytest.mark.parametrize("whole_word", [False, True], ids=["tokens", "whole-words"])
def test_mask_batch_masks_each_row_at_its_own_rate(whole_word):
    from kmb.training.masking import mask_batch, mask_keys

    rng = np.random.default_rng(0)
    ids = rng.integers(5, 100, size=(4, 40))
    special = np.zeros_like(ids, dtype=bool)
    special[:, [0, -1]] = True
    keys = mask_keys(1, np.zeros(4, dtype=np.int64), np.arange(4))
    word_starts = rng.random(ids.shape) < 0.4 if whole_word else None
    rates = np.array([0.1, 0.2, 0.3, 0.45])
    kw = dict(mask_token_id=4, vocab_size=100)
    masked, labels = mask_batch(ids, special, keys, mlm_probability=rates, word_starts=word_starts, **kw)
    for row, rate in enumerate(rates):  # as if the row were masked alone at its rate
        one = slice(row, row + 1)
        starts = None if word_starts is None else word_starts[one]
        alone = mask_batch(ids[one], special[one], keys[one], mlm_probability=float(rate), word_starts=starts, **kw)
        assert (masked[row] == alone[0][0]).all() and (labels[row] == alone[1][0]).all()
    counts = (labels != IGNORE_INDEX).sum(1)
    assert counts.tolist() == sorted(counts.tolist()) and counts[-1] > 2 * counts[0]


def test_the_sampler_gives_each_steps_progress_over_epochs():
    lengths = np.random.default_rng(0).integers(5, 60, size=50).astype(np.int16)
    total = run_steps(50, 8, max_steps=-1, epochs=2)
    assert total == 14  # 7 steps an epoch, the last one short
    sampler = LengthGroupedSampler(lengths, global_batch=8, seed=1, total_steps=total)
    keys = list(sampler)
    sampler.set_epoch(1)
    keys += list(sampler)
    assert [k[:2] for k in keys[:50]] == list(LengthGroupedSampler(lengths, global_batch=8, seed=1))  # same order
    steps = [place // 8 for place in range(50)] + [7 + place // 8 for place in range(50)]
    assert [k[2] for k in keys] == [pytest.approx(step / 13) for step in steps]
    assert keys[0][2] == 0.0 and keys[-1][2] == 1.0
    assert run_steps(50, 8, max_steps=20, epochs=1) == 20


@pytest.fixture
def pair_shards(corpus_workspace, tiny_tokenizer_dir):
    from kmb.vocab.tokenizers import load_tokenizer

    files = sorted((corpus_workspace.corpus / "sentences").glob("*.parquet"))
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    shard_set = build_shards(corpus_workspace.pretrain("t") / "shards", files, tokenizer, tiny_tokenizer_dir)
    masking = dict(seed=3, mask_token_id=tokenizer.mask_token_id, vocab_size=len(tokenizer), special_ids=[0, 2, 3],
                   mlm_probability=END, mlm_probability_start=START)  # fmt: skip
    return shard_set, masking


def test_the_same_masks_for_any_number_of_workers(pair_shards):
    shard_set, masking = pair_shards
    dataset = PairShardDataset(shard_set.files("train"), **masking)
    sampler = LengthGroupedSampler(dataset.lengths, global_batch=8, seed=5, total_steps=10)

    def batches(workers: int) -> list[dict]:
        loader = torch.utils.data.DataLoader(dataset, batch_size=8, sampler=sampler, num_workers=workers,
                                             collate_fn=dataset.collator(0))  # fmt: skip
        return list(loader)

    alone, two = batches(0), batches(2)
    assert len(alone) == len(two) == 25
    for a, b in zip(alone, two):
        for key in a:
            assert torch.equal(a[key], b[key]), key
    assert batch_rate(alone[0]) == pytest.approx(START, abs=0.04)
    assert batch_rate(alone[9]) == pytest.approx(END, abs=0.04)
    assert batch_rate(alone[15]) == pytest.approx(END, abs=0.04)  # past the last step: the end rate


def test_validation_items_keep_the_final_rate_and_index_lists_fit(pair_shards):
    shard_set, masking = pair_shards
    valid = PairShardDataset(shard_set.files("valid"), fixed_epoch=1_000_003, **masking)
    assert {valid[(0, i, 0.0)]["mask_rate"] for i in range(len(valid))} == {END}
    train = PairShardDataset(shard_set.files("train"), **masking)
    assert train[(0, 4, 0.0)]["mask_rate"] == START and train[(0, 4, 1.0)]["mask_rate"] == END
    assert train[(0, 4, 0.5)]["mask_rate"] == pytest.approx((START + END) / 2) and train[4]["mask_rate"] == END
    collator = train.collator(0)
    early = collator([train[(0, i, 0.0)] for i in range(16)])
    late = collator([train[(0, i, 1.0)] for i in range(16)])
    assert len(early["masked_positions"]) > len(late["masked_positions"])  # the bound follows the batch's rate
    for batch in (early, late):
        selected = np.flatnonzero(batch["labels"].reshape(-1).numpy() != IGNORE_INDEX)
        assert set(selected) <= set(batch["masked_positions"].tolist())


def test_a_bad_start_rate_is_one_line(corpus_workspace, tiny_base_dir, helpers):
    for value in (0.0, 1.0, 1.5):
        with pytest.raises(KmbError) as error:
            run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, mlm_probability_start=value))
        assert str(error.value) == f"--mlm-probability-start must be between 0 and 1 (both excluded), not {value}"
    with pytest.raises(KmbError, match="--mlm-probability must be between 0 and 1"):
        run_pretraining(helpers.short_config(corpus_workspace, tiny_base_dir, mlm_probability=0))
    helpers.nothing_written(corpus_workspace)


def test_the_cli_refuses_a_bad_start_rate_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "kmb", "pretrain", "--workspace", str(tmp_path / "ws"), "--mlm-probability-start", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "kmb: error: --mlm-probability-start must be between 0 and 1 (both excluded), not 2.0"
    ]
    assert not (tmp_path / "ws").exists()


def test_the_paper_recipe_has_it_off_and_the_cli_passes_it(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import kmb.training.pretrain as pretrain
    from kmb.cli import app

    for recipe in ("paper", "modern"):
        cfg = apply_recipe(PretrainConfig(recipe=recipe))
        assert cfg.mlm_probability_start is None and cfg.mlm_probability == 0.15
        assert masking_scheme(cfg).startswith("token, 15%, ")
        assert "mlm_probability_start" not in differs_from_paper(cfg)
    seen = []
    monkeypatch.setattr(pretrain, "run_pretraining", lambda cfg: seen.append(cfg) or {"model": "x"})
    ws = ["--workspace", str(tmp_path / "ws")]
    assert CliRunner().invoke(app, ["pretrain", "--recipe", "paper", *ws]).exit_code == 0
    options = ["--mlm-probability-start", "0.3", "--mlm-probability", "0.15"]
    assert CliRunner().invoke(app, ["pretrain", *options, *ws]).exit_code == 0
    assert [(c.mlm_probability_start, c.mlm_probability) for c in seen] == [(None, 0.15), (0.3, 0.15)]


def test_segments_for_mlm_alone_follow_the_schedule_too(corpus_workspace, tiny_tokenizer_dir):
    from kmb.training.segment_shards import SegmentShardDataset, build_segment_shards
    from kmb.vocab.tokenizers import load_tokenizer

    files = sorted((corpus_workspace.corpus / "sentences").glob("*.parquet"))
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    segments = build_segment_shards(corpus_workspace.pretrain("s") / "segments", files, tokenizer, tiny_tokenizer_dir)
    kw = dict(seed=3, mlm_probability=END, mlm_probability_start=START)
    train = SegmentShardDataset.for_tokenizer(segments.files("train"), tokenizer, **kw)
    valid = SegmentShardDataset.for_tokenizer(segments.files("valid"), tokenizer, fixed_epoch=1_000_003, **kw)
    assert valid[(0, 1, 0.0)]["mask_rate"] == END and train[(0, 1, 0.0)]["mask_rate"] == START
    collator = train.collator(tokenizer.pad_token_id)
    for progress, rate in ((0.0, START), (1.0, END)):
        batch = collator([train[(0, i, progress)] for i in range(len(train))])
        targets = batch["labels"].ne(IGNORE_INDEX).sum(1).numpy()
        candidates = batch["attention_mask"].sum(1).numpy() - 2  # [CLS] ... [SEP]
        assert targets.tolist() == exact_counts(candidates, rate).tolist()
