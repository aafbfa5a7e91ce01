"""Tokenized NSP pair shards: built once, memory-mapped in training.

    pretrain/<name>/shards/manifest.json        what the shards were built from (stale detection)
    pretrain/<name>/shards/train-00000.arrow    Arrow IPC files, schema PAIR_SHARDS
    pretrain/<name>/shards/valid-00000.arrow

Pairs are tokenized once as ``[CLS] A [SEP] B [SEP]`` truncated to ``max_length`` (longest side
first) with the tokenizer's own batch encoder, and stored as uint16 ids while the vocab fits.
Arrow IPC rather than Parquet because training reads pairs at random positions: an uncompressed
IPC file is memory-mapped and a pair is a zero-copy slice, so RAM use does not grow with the corpus.

The shard set is rebuilt when the manifest's fingerprint (sentence files, tokenizer files,
max length, seed, format version) differs from the current inputs; the whole set is written to a
temporary folder and renamed into place, so an interrupted build leaves the old set (or none).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from kmb.errors import KmbError
from kmb.storage import PAIR_SHARDS, atomic_dir
from kmb.training.masking import mask_batch, mask_epoch_and_index, mask_keys, masked_positions
from kmb.training.sentence_pairs import OrderedSentences, iter_pair_chunks, write_ordered_sentences
from kmb.training.word_starts import WordStartFlips, apply_flips

FORMAT_VERSION = 2  # 2: word_start_flips
SPLITS = ("train", "valid")
# Validation masks come from their own seed stream, fixed across evaluations.
VALID_MASK_EPOCH = 1_000_003


@dataclass
class ShardSet:
    folder: Path
    manifest: dict

    def files(self, split: str) -> list[Path]:
        return [self.folder / name for name in self.manifest["splits"][split]["files"]]

    def n_pairs(self, split: str) -> int:
        return int(self.manifest["splits"][split]["pairs"])


# --- fingerprint -------------------------------------------------------------------------------
def fingerprint(sentence_files: list[Path], tokenizer_dir: Path, max_length: int, seed: int) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": FORMAT_VERSION, "max_length": max_length, "seed": seed}).encode())
    for path in sorted(sentence_files):
        st = path.stat()
        digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for path in sorted(p for p in Path(tokenizer_dir).iterdir() if p.is_file()):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_current(folder: Path, expected_fingerprint: str) -> ShardSet | None:
    """The existing shard set if it is complete and built from the same inputs, else None."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError:
        return None
    if manifest.get("fingerprint") != expected_fingerprint:
        return None
    shard_set = ShardSet(folder, manifest)
    if not all(p.is_file() for split in SPLITS for p in shard_set.files(split)):
        return None
    return shard_set


# --- building ----------------------------------------------------------------------------------
class PairEncoder:
    """Tokenize (A, B) batches into id lists and segment-0 lengths.

    A plain fast WordPiece tokenizer is driven through its Rust backend's ``encode_batch`` (no
    per-pair Python dicts); anything else, e.g. KR-BERT's bidirectional tokenizer, through the
    standard ``tokenizer(a, b, truncation=True, max_length=...)`` call.
    """

    PLAIN = {"BertTokenizer", "BertTokenizerFast", "PreTrainedTokenizerFast", "TokenizersBackend"}

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.sep_id = tokenizer.sep_token_id
        self.backend = None
        if type(tokenizer).__name__ in self.PLAIN and hasattr(tokenizer, "backend_tokenizer"):
            from tokenizers import Tokenizer

            backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
            backend.no_padding()
            backend.enable_truncation(max_length, strategy="longest_first")
            self.backend = backend
        self.word_start_flips = WordStartFlips(tokenizer)

    def __call__(self, texts_a: list[str], texts_b: list[str]) -> tuple[list[list[int]], np.ndarray]:
        return self.encode(texts_a, texts_b)[:2]

    def encode(self, texts_a: list[str], texts_b: list[str]) -> tuple[list[list[int]], np.ndarray, list[list[int]]]:
        """(ids, segment-0 lengths, word-start flips per pair: :mod:`kmb.training.word_starts`, mostly
        empty) of a batch; the flips come from the same encodings when the Rust backend made them."""
        encodings = None
        if self.backend is not None:
            encodings = self.backend.encode_batch(list(zip(texts_a, texts_b)))
            ids = [e.ids for e in encodings]
        else:
            ids = self.tokenizer(
                texts_a,
                texts_b,
                truncation=True,
                max_length=self.max_length,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
        sep = self.sep_id
        n_first = np.fromiter((row.index(sep) + 1 for row in ids), dtype=np.int16, count=len(ids))
        found = self.word_start_flips.for_pairs(texts_a, texts_b, ids, self.max_length, encodings)
        return ids, n_first, [found.get(row, []) for row in range(len(ids))]


def build_shards(
    folder: Path,
    sentence_files: list[Path],
    tokenizer,
    tokenizer_dir: Path,
    *,
    max_length: int = 128,
    seed: int = 42,
    shard_pairs: int = 1_000_000,
    chunk_pairs: int = 8192,
    progress=None,
) -> ShardSet:
    """Build (or reuse when current) the train and valid pair shards in ``folder``."""
    expected = fingerprint(sentence_files, tokenizer_dir, max_length, seed)
    current = load_current(folder, expected)
    if current is not None:
        return current

    vocab_size = len(tokenizer)
    id_type = pa.uint16() if vocab_size <= 65_536 else pa.uint32()
    schema = PAIR_SHARDS.set(0, pa.field("input_ids", pa.list_(id_type), nullable=False))
    encoder = PairEncoder(tokenizer, max_length)

    with atomic_dir(folder) as tmp:
        splits = {}
        for split_no, split in enumerate(SPLITS):
            ordered_path = tmp / f"{split}-sentences.arrow"
            n_sentences = write_ordered_sentences(sentence_files, split, ordered_path)
            if n_sentences == 0:
                raise KmbError(
                    f"the corpus has no {split!r} sentences: rebuild it with a {split} split",
                    path=sentence_files[0].parent,
                )
            sentences = OrderedSentences(ordered_path)
            # Different splits draw their NotNext partners from independent streams.
            files, pairs, tokens, not_next = _write_split(
                tmp, split, sentences, encoder, schema, seed + split_no, shard_pairs, chunk_pairs, progress
            )
            sentences.close()
            ordered_path.unlink()
            if pairs == 0:
                raise KmbError(
                    f"the {split!r} split has no two consecutive sentences, so no NSP pairs",
                    path=sentence_files[0].parent,
                )
            splits[split] = {
                "files": files,
                "pairs": pairs,
                "tokens": tokens,
                "not_next": not_next,
                "sentences": n_sentences,
            }
        manifest = {
            "fingerprint": expected,
            "format": FORMAT_VERSION,
            "max_length": max_length,
            "seed": seed,
            "tokenizer": str(tokenizer_dir),
            "vocab_size": vocab_size,
            "id_type": str(id_type),
            "sentence_files": [str(p) for p in sentence_files],
            "splits": splits,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return ShardSet(folder, manifest)


def _write_split(tmp, split, sentences, encoder, schema, seed, shard_pairs, chunk_pairs, progress):
    files, pairs, tokens, not_next = [], 0, 0, 0
    writer = sink = None
    in_file = 0
    for chunk in iter_pair_chunks(sentences, seed, chunk_pairs):
        ids, n_first, flips = encoder.encode(chunk.texts_a, chunk.texts_b)
        lengths = np.fromiter((len(r) for r in ids), dtype=np.int16, count=len(ids))
        batch = pa.record_batch(
            [
                pa.array(ids, type=schema.field("input_ids").type),
                pa.array(n_first),
                pa.array(lengths),
                pa.array(chunk.labels),
                chunk.doc_id_a,
                chunk.sent_idx_a,
                chunk.doc_id_b,
                chunk.sent_idx_b,
                pa.array(flips, pa.list_(pa.int16())),
            ],
            schema=schema,
        )
        if writer is None or in_file >= shard_pairs:
            if writer is not None:
                writer.close()
                sink.close()
            name = f"{split}-{len(files):05d}.arrow"
            files.append(name)
            sink = pa.OSFile(str(tmp / name), "wb")
            writer = pa.ipc.new_file(sink, schema)
            in_file = 0
        writer.write_batch(batch)
        in_file += batch.num_rows
        pairs += batch.num_rows
        tokens += int(lengths.sum())
        not_next += int(chunk.labels.sum())
        if progress is not None:
            progress(split, batch.num_rows)
    if writer is not None:
        writer.close()
        sink.close()
    return files, pairs, tokens, not_next


# --- reading -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairMasking:
    """What the collator needs to mask a batch (kmb.training.masking.mask_batch)."""

    seed: int
    mask_token_id: int
    vocab_size: int
    special_ids: tuple[int, ...]
    mlm_probability: float = 0.15  # the rate of validation, and of training without a schedule
    mlm_probability_start: float | None = None  # with a schedule: the rate at the first step

    def rate(self, progress: float | None) -> float:
        """The masking rate at ``progress`` of the run (0 at the first optimizer step, 1 at the last):
        linear from ``mlm_probability_start`` to ``mlm_probability``. Without a schedule, or without a
        progress (validation, a plain key), the constant ``mlm_probability``."""
        if self.mlm_probability_start is None or progress is None:
            return self.mlm_probability
        return self.mlm_probability_start * (1.0 - progress) + self.mlm_probability * progress


def split_progress(key) -> tuple[object, float | None]:
    """A dataset key without the run's progress, and the progress: a sampler with a masking-rate
    schedule yields ``(epoch, i, progress)`` (:class:`kmb.training.trainer.LengthGroupedSampler`)."""
    if isinstance(key, tuple) and len(key) == 3:
        return key[:2], float(key[2])
    return key, None


def batch_rates(features: list[dict], masking: PairMasking) -> np.ndarray:
    """The masking rate of each item of a batch (its ``mask_rate``, else the constant rate)."""
    return np.array([f.get("mask_rate", masking.mlm_probability) for f in features], dtype=np.float64)


class PairShardDataset(torch.utils.data.Dataset):
    """Map-style dataset over memory-mapped shards. An item is one unmasked pair and the key of
    its masks; :class:`PairCollator` masks whole batches (``collator = dataset.collator(pad_token_id)``).

    An index is ``(epoch, i)`` (from :class:`kmb.training.trainer.LengthGroupedSampler`), ``(epoch,
    i, progress)`` (the same with a masking-rate schedule) or a plain ``i``. The pair's masks come
    from (seed, epoch, i): dynamic masking draws afresh every epoch; with ``static_masking`` the
    epoch is ignored (the paper's fixed masks). Its rate comes from the progress
    (:meth:`PairMasking.rate`; with ``fixed_epoch``, validation, always the final rate).
    ``word_starts``, a vocab-sized boolean table (:func:`kmb.training.masking.word_start_table`),
    turns on whole-word masking.
    """

    def __init__(
        self,
        files: list[Path],
        *,
        seed: int,
        mask_token_id: int,
        vocab_size: int,
        special_ids: list[int],
        static_masking: bool = False,
        fixed_epoch: int | None = None,
        mlm_probability: float = 0.15,
        limit: int | None = None,
        word_starts: np.ndarray | None = None,
        mlm_probability_start: float | None = None,
    ):
        special = tuple(sorted(set(special_ids)))
        self.masking = PairMasking(seed, mask_token_id, vocab_size, special, mlm_probability, mlm_probability_start)
        self.word_starts = word_starts
        self.static_masking = static_masking
        self.fixed_epoch = fixed_epoch
        self._batches = []  # (offsets, values, n_first, nsp_labels, flip offsets, flips) numpy views into the mmap
        starts, lengths = [0], []
        for path in files:
            reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                ids, flips = batch.column("input_ids"), batch.column("word_start_flips")
                self._batches.append(
                    (
                        ids.offsets.to_numpy(),
                        ids.values.to_numpy(),
                        batch.column("n_first").to_numpy(),
                        batch.column("next_sentence_label").to_numpy(),
                        flips.offsets.to_numpy(),
                        flips.values.to_numpy(),
                    )
                )
                lengths.append(batch.column("length").to_numpy())
                starts.append(starts[-1] + batch.num_rows)
        self._starts = np.array(starts, dtype=np.int64)
        self.lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int16)
        self._len = int(self._starts[-1]) if limit is None else min(int(limit), int(self._starts[-1]))
        self.lengths = self.lengths[: self._len]

    def __len__(self) -> int:
        return self._len

    def pair(self, index: int) -> tuple[np.ndarray, int, int]:
        """(ids, n_first, nsp_label) of pair ``index``, unmasked."""
        b = int(np.searchsorted(self._starts, index, side="right") - 1)
        offsets, values, n_first, labels = self._batches[b][:4]
        row = index - int(self._starts[b])
        return values[offsets[row] : offsets[row + 1]], int(n_first[row]), int(labels[row])

    def word_start_flips(self, index: int) -> np.ndarray:
        """The positions of pair ``index`` where the vocab's word-start rule is flipped."""
        b = int(np.searchsorted(self._starts, index, side="right") - 1)
        offsets, values = self._batches[b][4:]
        row = index - int(self._starts[b])
        return values[offsets[row] : offsets[row + 1]]

    def __getitem__(self, key) -> dict:
        key, progress = split_progress(key)
        epoch, index = mask_epoch_and_index(key, self.fixed_epoch, self.static_masking)
        ids, n_first, nsp_label = self.pair(index)
        item = {
            "input_ids": ids,
            "n_first": n_first,
            "next_sentence_label": nsp_label,
            "mask_epoch": epoch,
            "mask_index": index,
            "mask_rate": self.masking.rate(None if self.fixed_epoch is not None else progress),
        }
        if self.word_starts is not None:
            item["word_start_flips"] = self.word_start_flips(int(index))
        return item

    def collator(
        self, pad_token_id: int, pad_to_multiple_of: int | None = None, pad_to: int | None = None
    ) -> PairCollator:
        return PairCollator(
            pad_token_id,
            self.masking,
            pad_to_multiple_of=pad_to_multiple_of,
            pad_to=pad_to,
            word_starts=self.word_starts,
        )


class PairCollator:
    """Pad a list of pairs (optionally to a multiple of 8 for tensor cores, or to a fixed length)
    and mask them, all in a few numpy passes over the batch (whole words with ``word_starts``)."""

    def __init__(
        self,
        pad_token_id: int,
        masking: PairMasking,
        pad_to_multiple_of: int | None = None,
        pad_to: int | None = None,
        word_starts: np.ndarray | None = None,
    ):
        self.word_starts = word_starts
        self.pad_token_id = pad_token_id
        self.masking = masking
        self.pad_to_multiple_of = pad_to_multiple_of
        self.pad_to = pad_to

    def __call__(self, features: list[dict]) -> dict:
        batch = masked_batch(
            features, self.pad_token_id, self.masking, self.word_starts, self.pad_to_multiple_of, self.pad_to
        )
        n_first = np.array([f["n_first"] for f in features], dtype=np.int64)
        columns = np.arange(batch["input_ids"].shape[1])[None, :]
        second = (columns >= n_first[:, None]) & batch["attention_mask"].numpy().astype(bool)
        return {
            "input_ids": batch["input_ids"],
            "token_type_ids": torch.from_numpy(second.astype(np.int64)),
            "attention_mask": batch["attention_mask"],
            "labels": batch["labels"],
            "masked_positions": batch["masked_positions"],
            "next_sentence_label": torch.tensor([f["next_sentence_label"] for f in features], dtype=torch.long),
        }


def masked_batch(
    features: list[dict], pad_token_id: int, masking: PairMasking, word_starts, pad_to_multiple_of, pad_to
):
    """Pad items (pairs or segments) to the longest, at least ``pad_to``, rounded up to a multiple of
    ``pad_to_multiple_of``, and mask them (each at its own rate; whole words with ``word_starts``,
    corrected by the items' ``word_start_flips``): input_ids, attention_mask, labels, masked_positions."""
    m = masking
    lengths = np.array([len(f["input_ids"]) for f in features], dtype=np.int64)
    length = max(int(lengths.max()), pad_to or 0)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    real = np.arange(length)[None, :] < lengths[:, None]
    ids = np.full((len(features), length), pad_token_id, dtype=np.int64)
    ids[real] = np.concatenate([np.asarray(f["input_ids"], dtype=np.int64) for f in features])
    keys = mask_keys(
        m.seed, np.array([f["mask_epoch"] for f in features]), np.array([f["mask_index"] for f in features])
    )
    whole_word = word_starts is not None
    rates = batch_rates(features, m)
    masked, labels = mask_batch(
        ids,
        ~real | np.isin(ids, np.array(m.special_ids, dtype=np.int64)),
        keys,
        mask_token_id=m.mask_token_id,
        vocab_size=m.vocab_size,
        mlm_probability=rates,
        word_starts=apply_flips(word_starts[ids], [f.get("word_start_flips", ()) for f in features])
        if whole_word
        else None,
    )
    positions = masked_positions(labels, float(rates.max()), whole_word=whole_word)  # the batch's largest rate
    return {
        "input_ids": torch.from_numpy(masked),
        "attention_mask": torch.from_numpy(real.astype(np.int64)),
        "labels": torch.from_numpy(labels),
        "masked_positions": torch.from_numpy(positions),
    }
