"""Step 3 of `kmb pretrain`: the training data.

The pair shards for MLM + NSP (kmb.training.shards) or the segment shards for MLM alone
(kmb.training.segment_shards), built when missing or stale by the main process; the train and
validation datasets over them, and the collator that masks (tokens or whole words) and pads.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import torch

from kmb.training.config import PretrainConfig
from kmb.training.inputs import RunInputs


@dataclass
class TrainingData:
    shard_set: object  # kmb.training.shards.ShardSet, or segment_shards.SegmentSet for MLM alone
    train_set: object  # PairShardDataset or SegmentShardDataset, masks drawn per (seed, epoch, item)
    valid_set: object  # the same kind, masks fixed across evaluations
    collator: object  # pads and masks whole batches

    @property
    def unit(self) -> str:
        """What one training example is: "pairs" (MLM + NSP) or "segments" (MLM)."""
        return "segments" if self.shard_set.manifest.get("kind") == "segments" else "pairs"

    def n_train(self) -> int:
        return int(self.shard_set.manifest["splits"]["train"][self.unit])


def training_data(cfg: PretrainConfig, inputs: RunInputs, args) -> TrainingData:
    """Step 3: the shards (the main process builds them, the others wait and then read the same
    files), the train and validation datasets, and the collator: NSP pairs for MLM + NSP,
    doc-sentences segments for MLM alone."""
    from kmb.training.masking import word_start_table
    from kmb.training.shards import VALID_MASK_EPOCH

    with args.main_process_first(desc="shards", local=False):
        shard_set = build_training_shards(cfg, inputs)
        if args.process_index == 0 and not cfg.resume:  # a fresh run starts without old results
            for folder in ("checkpoints", "profile", "runs"):
                shutil.rmtree(inputs.run_dir / folder, ignore_errors=True)
            inputs.metrics_path.unlink(missing_ok=True)
    tokenizer = inputs.tokenizer
    word_starts = word_start_table(tokenizer) if cfg.whole_word_masking else None
    if inputs.objective == "mlm+nsp":
        from kmb.training.shards import PairShardDataset as Dataset

        special_ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    else:
        from kmb.training.segment_shards import SegmentShardDataset as Dataset

        special_ids = list(tokenizer.all_special_ids)
    masking = dict(
        seed=cfg.seed,
        mask_token_id=tokenizer.mask_token_id,
        vocab_size=inputs.replacement_vocab_size,
        special_ids=special_ids,
        mlm_probability=cfg.mlm_probability,
        mlm_probability_start=cfg.mlm_probability_start,  # validation keeps mlm_probability
        word_starts=word_starts,
    )
    train_set = Dataset(shard_set.files("train"), static_masking=cfg.static_masking, **masking)
    valid_set = Dataset(shard_set.files("valid"), fixed_epoch=VALID_MASK_EPOCH, limit=cfg.max_eval_pairs, **masking)
    # Pads and masks whole batches (in the data-loader workers on a GPU); validation items keep
    # their fixed masks through their dataset's fixed epoch.
    collator = train_set.collator(tokenizer.pad_token_id, pad_to_multiple_of=8 if torch.cuda.is_available() else None)
    return TrainingData(shard_set=shard_set, train_set=train_set, valid_set=valid_set, collator=collator)


def build_training_shards(cfg: PretrainConfig, inputs: RunInputs):
    """The pair shards (pretrain/<name>/shards/) or the segment shards (pretrain/<name>/segments/)."""
    if inputs.objective == "mlm+nsp":
        from kmb.training.shards import build_shards

        return build_shards(
            inputs.run_dir / "shards",
            inputs.sentence_files,
            inputs.tokenizer,
            inputs.tokenizer_dir,
            max_length=cfg.max_length,
            seed=cfg.seed,
            shard_pairs=cfg.shard_pairs,
        )
    from kmb.training.segment_shards import build_segment_shards

    return build_segment_shards(
        inputs.run_dir / "segments",
        inputs.sentence_files,
        inputs.tokenizer,
        inputs.tokenizer_dir,
        max_length=cfg.max_length,
        shard_segments=cfg.shard_pairs,
    )
