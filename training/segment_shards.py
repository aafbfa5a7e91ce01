"""MLM-only training data: segments of consecutive sentences of one document, tokenized once.

    pretrain/<name>/segments/manifest.json        what the segments were built from (stale detection)
    pretrain/<name>/segments/train-00000.arrow    Arrow IPC files, schema SEGMENT_SHARDS
    pretrain/<name>/segments/valid-00000.arrow

RoBERTa's "doc-sentences" inputs, for models pretrained without NSP (RoBERTa, XLM-R, ModernBERT,
or BERT trained MLM only): the sentences of a document, in order, are packed greedily into
``[CLS] s1 s2 ... sk [SEP]`` (the tokenizer's own cls/sep tokens, ``<s>``/``</s>`` for RoBERTa)
of at most ``max_length`` tokens. A segment never crosses a document or a removed-sentence gap
(``sent_idx`` not consecutive: see :mod:`kmb.training.sentence_pairs`); a sentence longer than a
segment is truncated and stands alone. The pair shards (:mod:`kmb.training.shards`) stay for
MLM + NSP; this module reuses their sentence ordering, fingerprint and manifest checks, and the
same whole-set atomic write (:func:`kmb.storage.atomic_dir`).

Each sentence is tokenized on its own, without special tokens. For tokenizers that mark word
starts ("Ġ" byte-level BPE, "▁" Unigram) it is given a leading space, so its first word is a word
start inside a segment as it would be in running text (WordPiece ignores the space). Where an
added token makes the vocab's word-start rule wrong, the row's ``word_start_flips`` say where
(:mod:`kmb.training.word_starts`).

:class:`SegmentShardDataset` memory-maps the shards; its :meth:`~SegmentShardDataset.collator`
pads and masks whole batches with :func:`kmb.training.masking.mask_batch` (token-level, or whole
words with ``word_starts``), giving ``input_ids``, ``attention_mask``, ``labels`` and
``masked_positions``: the inputs of :func:`kmb.training.model.masked_only_mlm` models and of plain
``AutoModelForMaskedLM`` (drop ``masked_positions``) under the HF Trainer (with
``remove_unused_columns=False``: the items carry their mask keys, which the model does not take).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from kmb.errors import KmbError
from kmb.storage import SEGMENT_SHARDS, atomic_dir, write_json_atomic
from kmb.training.masking import (
    mask_epoch_and_index,
    word_marker,
    word_start_table,
)
from kmb.training.sentence_pairs import OrderedSentences, write_ordered_sentences
from kmb.training.shards import (
    SPLITS,
    PairMasking,
    ShardSet,
    fingerprint,
    load_current,
    masked_batch,
    split_progress,
)
from kmb.training.word_starts import WordStartFlips

SEGMENT_FORMAT = 2  # 2: word_start_flips


@dataclass
class SegmentSet(ShardSet):
    """A built segment set: ``files(split)`` (from ShardSet) and ``n_segments(split)``."""

    def n_segments(self, split: str) -> int:
        return int(self.manifest["splits"][split]["segments"])


def segment_fingerprint(sentence_files: list[Path], tokenizer_dir: Path, max_length: int) -> str:
    """The pair shards' fingerprint of the same inputs, marked as segments of this format."""
    pairs = fingerprint(sentence_files, tokenizer_dir, max_length, seed=0)
    return hashlib.sha256(f"segments:{SEGMENT_FORMAT}:{pairs}".encode()).hexdigest()


# --- building ----------------------------------------------------------------------------------
class SentenceEncoder:
    """Token ids of sentences without special tokens, a batch at a time (see the module docstring
    for the leading space)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.prefix = "" if word_marker(tokenizer.get_vocab()) == "##" else " "
        self.word_start_flips = WordStartFlips(tokenizer)

    def __call__(self, texts: list[str]) -> list[list[int]]:
        return self.encode(texts)[0]

    def encode(self, texts: list[str]) -> tuple[list[list[int]], dict[int, list[int]]]:
        """(ids per sentence, {sentence: word-start flips}) for a batch of sentences."""
        if self.prefix:
            texts = [self.prefix + t for t in texts]
        if self.word_start_flips.backend is not None:  # added tokens: ids and their offsets at once
            return self.word_start_flips.encode_sentences(texts)
        ids = self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False)[
            "input_ids"
        ]
        return ids, {}


class SegmentPacker:
    """Greedy packing of one split's sentences, fed in corpus order: :meth:`add` returns the
    segments it finished, each ``(ids, first_row, n_sentences, flips)`` with ids wrapped in
    cls/sep and the sentences' word-start flips moved to their positions in the segment."""

    def __init__(self, cls_id: int, sep_id: int, max_length: int):
        self.cls_id, self.sep_id = cls_id, sep_id
        self.budget = max_length - 2
        self._ids: list[int] = []
        self._flips: list[int] = []
        self._first = self._count = 0

    def add(self, row: int, ids: list[int], ends_run: bool, flips=()) -> list[tuple[list[int], int, int, list[int]]]:
        done = []
        if self._count and len(self._ids) + len(ids) > self.budget:
            done.append(self._flush())
        if not self._count:
            self._first = row
        kept = self.budget - len(self._ids)
        self._flips.extend(1 + len(self._ids) + p for p in flips if p < kept)  # 1: the cls token
        self._ids.extend(ids[:kept])
        self._count += 1
        if ends_run:  # the document ends, or its next sentence was removed
            done.append(self._flush())
        return done

    def _flush(self) -> tuple[list[int], int, int, list[int]]:
        segment = ([self.cls_id] + self._ids + [self.sep_id], self._first, self._count, self._flips)
        self._ids, self._flips, self._count = [], [], 0
        return segment


def build_segment_shards(
    folder: Path,
    sentence_files: list[Path],
    tokenizer,
    tokenizer_dir: Path,
    *,
    max_length: int = 128,
    shard_segments: int = 1_000_000,
    chunk_sentences: int = 8192,
    progress=None,
) -> SegmentSet:
    """Build (or reuse when current) the train and valid segment shards in ``folder``.

    Takes the corpus's sentence files, a transformers tokenizer with cls and sep tokens, and the
    directory it came from (fingerprinted); returns the :class:`SegmentSet`. ``progress(split,
    n)`` is called as segments are written. An empty split is a :class:`KmbError`; then, as on
    any error, nothing is left in ``folder`` but what was there before."""
    if max_length < 3:
        raise KmbError(f"--max-length must be at least 3 ([CLS] a token [SEP]), not {max_length}")
    if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise KmbError(
            "the tokenizer has no cls/sep (or <s>/</s>) token to open and close a segment", path=tokenizer_dir
        )
    expected = segment_fingerprint(sentence_files, tokenizer_dir, max_length)
    current = load_current(folder, expected)
    if current is not None:
        return SegmentSet(current.folder, current.manifest)
    vocab_size = len(tokenizer)
    id_type = pa.uint16() if vocab_size <= 65_536 else pa.uint32()
    schema = SEGMENT_SHARDS.set(0, pa.field("input_ids", pa.list_(id_type), nullable=False))
    with atomic_dir(folder) as tmp:
        splits = {}
        for split in SPLITS:
            ordered_path = tmp / f"{split}-sentences.arrow"
            if write_ordered_sentences(sentence_files, split, ordered_path) == 0:
                raise KmbError(
                    f"the corpus has no {split!r} sentences: rebuild it with a {split} split",
                    path=sentence_files[0].parent,
                )
            sentences = OrderedSentences(ordered_path)
            packer = SegmentPacker(tokenizer.cls_token_id, tokenizer.sep_token_id, max_length)
            splits[split] = _write_split(
                tmp,
                split,
                sentences,
                SentenceEncoder(tokenizer),
                packer,
                schema,
                shard_segments,
                chunk_sentences,
                progress,
            )
            splits[split]["sentences"] = len(sentences)
            sentences.close()
            ordered_path.unlink()
        manifest = {
            "fingerprint": expected,
            "kind": "segments",
            "format": SEGMENT_FORMAT,
            "max_length": max_length,
            "tokenizer": str(tokenizer_dir),
            "vocab_size": vocab_size,
            "id_type": str(id_type),
            "sentence_files": [str(p) for p in sentence_files],
            "splits": splits,
        }
        write_json_atomic(tmp / "manifest.json", manifest)
    return SegmentSet(folder, manifest)


def _write_split(tmp, split, sentences, encoder, packer, schema, shard_segments, chunk_sentences, progress) -> dict:
    table = sentences.table
    doc_id, sent_idx = table.column("doc_id"), table.column("sent_idx")
    text = table.column("text")
    ends_run = ~sentences.has_next
    writer = _ShardWriter(tmp, split, schema, shard_segments)
    for start in range(0, len(sentences), chunk_sentences):
        ids, flips = encoder.encode(text.slice(start, chunk_sentences).to_pylist())
        done = [
            seg
            for k, row_ids in enumerate(ids)
            for seg in packer.add(start + k, row_ids, bool(ends_run[start + k]), flips.get(k, ()))
        ]
        if not done:
            continue
        first_rows = pa.array([seg[1] for seg in done], pa.int64())
        lengths = np.fromiter((len(seg[0]) for seg in done), dtype=np.int16, count=len(done))
        writer.write(
            pa.record_batch(
                [
                    pa.array([seg[0] for seg in done], type=schema.field("input_ids").type),
                    pa.array(lengths),
                    doc_id.take(first_rows).combine_chunks(),
                    sent_idx.take(first_rows).combine_chunks(),
                    pa.array([seg[2] for seg in done], pa.int32()),
                    pa.array([seg[3] for seg in done], pa.list_(pa.int16())),
                ],
                schema=schema,
            )
        )
        if progress is not None:
            progress(split, len(done))
    return writer.close()


class _ShardWriter:
    """Arrow IPC files ``<split>-NNNNN.arrow`` of at most ``per_file`` rows (whole batches)."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, per_file: int):
        self.folder, self.split, self.schema, self.per_file = folder, split, schema, per_file
        self.files: list[str] = []
        self.rows = self.tokens = self._in_file = 0
        self._sink = self._writer = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None or self._in_file >= self.per_file:
            self._close_file()
            self.files.append(f"{self.split}-{len(self.files):05d}.arrow")
            self._sink = pa.OSFile(str(self.folder / self.files[-1]), "wb")
            self._writer = pa.ipc.new_file(self._sink, self.schema)
        self._writer.write_batch(batch)
        self._in_file += batch.num_rows
        self.rows += batch.num_rows
        self.tokens += int(batch.column("length").to_numpy().astype(np.int64).sum())

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
        self._in_file = 0

    def close(self) -> dict:
        self._close_file()
        return {"files": self.files, "segments": self.rows, "tokens": self.tokens}


# --- reading -----------------------------------------------------------------------------------
class SegmentShardDataset(torch.utils.data.Dataset):
    """Map-style dataset over memory-mapped segment shards. An item is one unmasked segment and
    the key of its masks; :meth:`collator` masks whole batches.

    An index is ``(epoch, i)`` (kmb's length-grouped sampler; ``(epoch, i, progress)`` with a
    masking-rate schedule, see :meth:`kmb.training.shards.PairMasking.rate`) or a plain ``i`` (the
    Trainer's own samplers). Masks come from (seed, epoch, i): drawn afresh every epoch, or fixed with
    ``static_masking`` (epoch 0) or ``fixed_epoch`` (validation, always at the final rate). ``word_starts``, a vocab-sized
    boolean table (:func:`kmb.training.masking.word_start_table`), turns on whole-word masking.
    ``lengths`` (tokens per segment) feeds a length-grouped sampler.
    """

    def __init__(
        self,
        files: list[Path],
        *,
        seed: int,
        mask_token_id: int,
        vocab_size: int,
        special_ids: list[int],
        word_starts: np.ndarray | None = None,
        static_masking: bool = False,
        fixed_epoch: int | None = None,
        mlm_probability: float = 0.15,
        limit: int | None = None,
        mlm_probability_start: float | None = None,
    ):
        special = tuple(sorted(set(special_ids)))
        self.masking = PairMasking(seed, mask_token_id, vocab_size, special, mlm_probability, mlm_probability_start)
        self.word_starts = word_starts
        self.static_masking, self.fixed_epoch = static_masking, fixed_epoch
        tables = [pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all() for path in files]  # zero-copy
        chunks = [chunk for table in tables for chunk in table.column("input_ids").chunks]
        self._batches = [(c.offsets.to_numpy(), c.values.to_numpy()) for c in chunks]  # views into the maps
        flips = [chunk for table in tables for chunk in table.column("word_start_flips").chunks]
        self._flips = [(c.offsets.to_numpy(), c.values.to_numpy()) for c in flips]
        self._starts = np.cumsum([0] + [len(c) for c in chunks], dtype=np.int64)
        lengths = [table.column("length").to_numpy() for table in tables]
        total = int(self._starts[-1])
        self._len = total if limit is None else min(int(limit), total)
        self.lengths = (np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int16))[: self._len]

    @classmethod
    def for_tokenizer(cls, files: list[Path], tokenizer, *, seed: int, whole_word_masking: bool = False, **kwargs):
        """The dataset with the mask id, vocab size and special ids of ``tokenizer`` (and its word
        starts when ``whole_word_masking``); other keywords as for the constructor."""
        return cls(
            files,
            seed=seed,
            mask_token_id=tokenizer.mask_token_id,
            vocab_size=len(tokenizer),
            special_ids=list(tokenizer.all_special_ids),
            word_starts=word_start_table(tokenizer) if whole_word_masking else None,
            **kwargs,
        )

    def __len__(self) -> int:
        return self._len

    def segment(self, index: int) -> np.ndarray:
        """The unmasked token ids of segment ``index``."""
        b = int(np.searchsorted(self._starts, index, side="right") - 1)
        offsets, values = self._batches[b]
        row = index - int(self._starts[b])
        return values[offsets[row] : offsets[row + 1]]

    def word_start_flips(self, index: int) -> np.ndarray:
        """The positions of segment ``index`` where the vocab's word-start rule is flipped."""
        b = int(np.searchsorted(self._starts, index, side="right") - 1)
        offsets, values = self._flips[b]
        row = index - int(self._starts[b])
        return values[offsets[row] : offsets[row + 1]]

    def __getitem__(self, key) -> dict:
        key, progress = split_progress(key)
        epoch, index = mask_epoch_and_index(key, self.fixed_epoch, self.static_masking)
        rate = self.masking.rate(None if self.fixed_epoch is not None else progress)  # validation: the final rate
        item = {"input_ids": self.segment(index), "mask_epoch": epoch, "mask_index": index, "mask_rate": rate}
        if self.word_starts is not None:
            item["word_start_flips"] = self.word_start_flips(index)
        return item

    def collator(
        self, pad_token_id: int, pad_to_multiple_of: int | None = None, pad_to: int | None = None
    ) -> SegmentCollator:
        return SegmentCollator(pad_token_id, self.masking, self.word_starts, pad_to_multiple_of, pad_to)


class SegmentCollator:
    """Pad a list of segments (to the longest, optionally to a multiple of 8 or a fixed length)
    and mask them, a few numpy passes over the whole batch."""

    def __init__(
        self,
        pad_token_id: int,
        masking: PairMasking,
        word_starts: np.ndarray | None = None,
        pad_to_multiple_of: int | None = None,
        pad_to: int | None = None,
    ):
        self.pad_token_id, self.masking, self.word_starts = pad_token_id, masking, word_starts
        self.pad_to_multiple_of, self.pad_to = pad_to_multiple_of, pad_to

    def __call__(self, features: list[dict]) -> dict:
        return masked_batch(
            features, self.pad_token_id, self.masking, self.word_starts, self.pad_to_multiple_of, self.pad_to
        )
