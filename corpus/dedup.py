"""Step 5 of the corpus build: exact and near-duplicate documents, exact duplicate sentences.

- **Exact duplicate documents**: the MD5 of the cleaned, normalised text; the first document in
  build order is kept, later copies point to it (``duplicate_of``).
- **Near-duplicate documents** (syndicated copies of one press release with a changed lead or
  byline): MinHash over character 5-gram shingles (Korean words carry particles, so word shingles
  would miss most overlap), each shingle hashed in numpy (``fmix64``; ``sha1``, datasketch's own
  hash, for corpora built with it), indexed in LSH bands (datasketch's band choice, numpy tables);
  a document whose estimated Jaccard similarity to an already-kept one is >= the threshold is
  dropped as its near-copy. The signatures of kept documents are stored (``corpus/signatures``) so
  an incremental build compares new documents with the old ones too. The index lives in memory:
  about 0.4 KB per kept *document*, not per sentence, the signatures themselves in a temporary
  file (datasketch's ``MinHashLSH`` with a dict of signatures: about 5 KB).
- **Exact duplicate sentences** across the corpus: in DuckDB, grouping by ``md5_number(text)``
  (128 bits; DuckDB's 64-bit ``hash()`` collides at corpus scale) and keeping the smallest row id,
  i.e. the first occurrence in build order; sentences already in the corpus win over new ones.
  DuckDB spills to disk past its memory limit, so memory does not grow with the corpus.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kmb.storage import sql_string

DEFAULT_NEAR_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128
SHINGLE_CHARS = 5
_MAX_HASH32 = np.uint32(0xFFFFFFFF)
_SCHEME = "affine32"  # datasketch >= 2 needs the scheme stated to rebuild a MinHash from values
# How a shingle becomes 32 bits before MinHash. "sha1" is datasketch's own sha1_hash32, one Python
# call per shingle: corpora built before "fmix64" existed carry it, and their incremental builds
# keep it, because signatures are only comparable under one hash. "fmix64" is vectorised numpy.
SHINGLE_HASHES = ("fmix64", "sha1")
DEFAULT_SHINGLE_HASH = "fmix64"
_FOLD_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so the fold loses no information per step


def text_md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


_WHITE_SPACE = re.compile(r"\s+")


def compact_spaces(text: str) -> str:
    """Every run of white space one space, stripped: ``" ".join(text.split())`` without the list of
    every word (300 MB for a 50 MB one-line document)."""
    return _WHITE_SPACE.sub(" ", text).strip()


def char_shingles(text: str, size: int = SHINGLE_CHARS) -> set[bytes]:
    """Character n-grams of the text with whitespace collapsed (spacing varies between copies)."""
    compact = compact_spaces(text)
    if len(compact) <= size:
        return {compact.encode("utf-8")} if compact else set()
    return {compact[i : i + size].encode("utf-8") for i in range(len(compact) - size + 1)}


def minhash_signature(
    text: str, num_perm: int = DEFAULT_NUM_PERM, shingle_hash: str = DEFAULT_SHINGLE_HASH
) -> np.ndarray:
    """The MinHash signature (uint32 array) of a text's character shingles.

    The shingles are hashed to 32 bits (``shingle_hash``, see :data:`SHINGLE_HASHES`), then go
    through datasketch's affine32 scheme: MurmurHash3's 32-bit finalizer and ``num_perm``
    permutations ``a * h + b mod 2**32``, the minimum of each kept. With ``"sha1"`` this is exactly
    ``MinHash(scheme="affine32").update_batch(char_shingles(text))`` (tested). The permutations are
    drawn once per process, not once per document, and repeated shingles are not removed first (a
    minimum does not change when a value repeats).
    """
    if shingle_hash not in SHINGLE_HASHES:
        raise ValueError(f"unknown shingle hash {shingle_hash!r}; choose one of {', '.join(SHINGLE_HASHES)}")
    a, b = _permutations(num_perm)
    hash_compact = _sha1_of_compact if shingle_hash == "sha1" else _fmix64_of_compact
    signature = np.full(num_perm, _MAX_HASH32, dtype=np.uint32)
    for piece in _segments(compact_spaces(text), SHINGLE_CHARS):
        mixed = _fmix32(hash_compact(piece, SHINGLE_CHARS)).reshape(-1, 1)
        with np.errstate(over="ignore"):  # uint32 arithmetic wraps, as the affine32 scheme intends
            np.minimum(signature, (mixed * a + b).min(axis=0), out=signature)
    return signature


# Shingles per step of a signature: a shingles x permutations array of this many rows (8 MB at 128
# permutations) instead of one for the whole document, so memory does not grow with a document's
# length (a 12.8 MB one-line document took 6.4 GB before).
_SEGMENT_SHINGLES = 1 << 14


def _segments(compact: str, size: int):
    """Pieces of `compact` whose shingles, together, are exactly the text's (neighbours overlap by
    size - 1 characters); the whole text when it is one shingle or none."""
    count = len(compact) - size + 1
    if count <= 1:
        if compact:
            yield compact
        return
    for first in range(0, count, _SEGMENT_SHINGLES):
        yield compact[first : min(first + _SEGMENT_SHINGLES, count) + size - 1]


def _murmur_finalizer(values: np.ndarray, shifts: tuple[int, int, int], multipliers: tuple[int, int]) -> np.ndarray:
    """MurmurHash3's finalizer (xor-shift, multiply, xor-shift, multiply, xor-shift) in the
    values' own unsigned width: every input bit affects every output bit."""
    width = values.dtype.type
    with np.errstate(over="ignore"):  # the multiplications wrap, as MurmurHash3 intends
        values = values ^ (values >> width(shifts[0]))
        values = values * width(multipliers[0])
        values = values ^ (values >> width(shifts[1]))
        values = values * width(multipliers[1])
        return values ^ (values >> width(shifts[2]))


def _fmix32(values: np.ndarray) -> np.ndarray:
    """The 32-bit finalizer, the pre-mix datasketch's affine32 scheme applies."""
    return _murmur_finalizer(values, (16, 13, 16), (0x85EBCA6B, 0xC2B2AE35))


def _fmix64(values: np.ndarray) -> np.ndarray:
    """The 64-bit finalizer."""
    return _murmur_finalizer(values, (33, 33, 33), (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53))


def shingle_hashes_fmix64(text: str, size: int = SHINGLE_CHARS) -> np.ndarray:
    """A 32-bit hash of every character shingle of ``text`` (see char_shingles), all in numpy.

    Each shingle's code points are folded into 64 bits (``h = h * M + c``, wrapping), mixed by
    MurmurHash3's 64-bit finalizer, and the low 32 bits kept: about 20x faster than one SHA-1 per
    shingle in Python, and as good for MinHash, which only needs distinct shingles to get
    unrelated values.
    """
    return _fmix64_of_compact(compact_spaces(text), size)


def _fmix64_of_compact(compact: str, size: int) -> np.ndarray:
    if not compact:
        return np.zeros(0, dtype=np.uint32)
    points = np.frombuffer(compact.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    width = min(size, len(points))  # a text shorter than a shingle is one shingle, as above
    count = len(points) - width + 1
    folded = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(width):
            folded = folded * _FOLD_MULTIPLIER + points[offset : offset + count]
        return _fmix64(folded).astype(np.uint32)  # astype keeps the low 32 bits


def shingle_hashes(text: str, size: int = SHINGLE_CHARS) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of every character shingle of ``text`` (see char_shingles).

    Shingles recur across a corpus (about 70% of them on news text), so each worker remembers the
    hashes of up to ``_HASH_MEMO_MAX`` shingles (a few tens of MB) and hashes only new ones.
    """
    return _sha1_of_compact(compact_spaces(text), size)


def _sha1_of_compact(compact: str, size: int) -> np.ndarray:
    if len(compact) <= size:
        shingles = [compact] if compact else []
    else:
        shingles = [compact[i : i + size] for i in range(len(compact) - size + 1)]
    memo, sha1 = _HASH_MEMO, hashlib.sha1
    values = []
    for shingle in shingles:
        value = memo.get(shingle)
        if value is None:
            value = int.from_bytes(sha1(shingle.encode("utf-8")).digest()[:4], "little")
            if len(memo) < _HASH_MEMO_MAX:
                memo[shingle] = value
        values.append(value)
    return np.array(values, dtype=np.uint32)


_HASH_MEMO: dict[str, int] = {}
_HASH_MEMO_MAX = 300_000


@functools.lru_cache(maxsize=4)
def _permutations(num_perm: int) -> np.ndarray:
    """datasketch's affine32 permutations (a 2 x num_perm uint32 array), drawn once per process."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, scheme=_SCHEME).permutations


@dataclass
class NearMatch:
    doc_id: str
    jaccard: float


class NearDuplicateIndex:
    """MinHash LSH over kept documents: ``find`` a near-copy, then ``add`` if none was found.

    The bands are datasketch's (``MinHashLSH``'s choice of b bands of r rows for the threshold),
    but the tables are numpy arrays, not datasketch's dict of sets per band: each band of a
    signature is folded into one 64-bit key, and the keys live in one sorted array (plus a small
    dict of the latest ones, merged into it in bulk). The signatures, needed only to check a
    candidate, are kept in a temporary file (in ``directory``, else the system's). A kept
    document costs about 0.3 KB of memory (its b keys and its id) instead of about 5 KB in
    ``MinHashLSH`` and a dict of signatures (measured in benchmarks/bench_corpus.py), so a
    million documents need about 300 MB.
    """

    def __init__(
        self, threshold: float = DEFAULT_NEAR_THRESHOLD, num_perm: int = DEFAULT_NUM_PERM, directory: Path | None = None
    ):
        from datasketch import MinHashLSH

        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        # Bands tuned for recall: LSH only proposes candidates, and every candidate's estimated
        # Jaccard is checked against the threshold, so extra candidates cost little.
        bands = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
        self._bands, self._rows = bands.b, bands.r
        shape = (self._bands, self._rows)
        self._fold = np.random.default_rng(0).integers(1, 2**63, size=shape, dtype=np.uint64) | np.uint64(1)
        self._ids: list[str] = []
        self._signatures = _SignatureFile(num_perm, directory)
        self._keys = np.zeros(0, dtype=np.uint64)  # sorted band keys of all but the latest documents
        self._owners = np.zeros(0, dtype=np.uint32)  # the document (position in _ids) of each key
        self._latest: dict[int, list[int]] = {}  # band key -> documents, not yet merged

    def __len__(self) -> int:
        return len(self._ids)

    def find(self, signature: np.ndarray) -> NearMatch | None:
        """The most similar kept document at or above the threshold, or None."""
        return self._find(signature, self._band_keys(signature))

    def add(self, doc_id: str, signature: np.ndarray) -> None:
        self._add(doc_id, signature, self._band_keys(signature))

    def find_or_add(self, doc_id: str, signature: np.ndarray) -> NearMatch | None:
        """``find``, and ``add`` the document when it has no near-copy (the band keys made once)."""
        keys = self._band_keys(signature)
        match = self._find(signature, keys)
        if match is None:
            self._add(doc_id, signature, keys)
        return match

    def _find(self, signature: np.ndarray, keys: np.ndarray) -> NearMatch | None:
        best: NearMatch | None = None
        for doc in sorted(self._candidates(keys)):  # on a tie, the earliest kept document wins
            jaccard = float(np.mean(self._signatures[doc] == signature))
            if jaccard >= self.threshold and (best is None or jaccard > best.jaccard):
                best = NearMatch(self._ids[doc], jaccard)
        return best

    def _add(self, doc_id: str, signature: np.ndarray, keys: np.ndarray) -> None:
        doc = len(self._ids)
        self._ids.append(doc_id)
        self._signatures.append(signature)
        for key in keys.tolist():
            self._latest.setdefault(key, []).append(doc)
        if len(self._latest) >= _MERGE_KEYS:
            self._merge()

    def _band_keys(self, signature: np.ndarray) -> np.ndarray:
        """One 64-bit key per band: the band's r values folded with random odd multipliers and
        mixed, with the band number in it, so that equal bands (and, at 2**-64, only those) match."""
        rows = signature[: self._bands * self._rows].reshape(self._bands, self._rows).astype(np.uint64)
        with np.errstate(over="ignore"):
            folded = (rows * self._fold).sum(axis=1, dtype=np.uint64) + np.arange(self._bands, dtype=np.uint64)
        return _fmix64(folded)

    def _candidates(self, keys: np.ndarray) -> set[int]:
        found: set[int] = set()
        for key in keys.tolist():
            found.update(self._latest.get(key, ()))
        if len(self._keys):
            left = np.searchsorted(self._keys, keys, side="left")
            right = np.searchsorted(self._keys, keys, side="right")
            for lo, hi in zip(left[right > left].tolist(), right[right > left].tolist()):
                found.update(self._owners[lo:hi].tolist())
        return found

    def _merge(self) -> None:
        """Move the latest keys into the sorted arrays (one sort of the new keys, one merge)."""
        keys = np.fromiter((k for k, docs in self._latest.items() for _ in docs), dtype=np.uint64)
        owners = np.fromiter((d for docs in self._latest.values() for d in docs), dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        at = np.searchsorted(self._keys, keys[order], side="right")
        self._keys = np.insert(self._keys, at, keys[order])
        self._owners = np.insert(self._owners, at, owners[order])
        self._latest = {}


_MERGE_KEYS = 50_000  # band keys held in the dict before a merge: a few MB


class _SignatureFile:
    """The kept documents' signatures, in an unnamed temporary file, not in memory: only an LSH
    candidate's signature is read back (a few microseconds from the page cache), so the 512 bytes
    per document do not count in the build's memory."""

    def __init__(self, width: int, directory: Path | None = None):
        self._row_bytes = width * 4
        self._file = tempfile.TemporaryFile(dir=directory)  # removed when closed or collected
        self._count = 0

    def append(self, row: np.ndarray) -> None:
        data = np.ascontiguousarray(row, dtype="<u4").tobytes()
        if len(data) != self._row_bytes:
            raise ValueError(f"signature of {len(data) // 4} values, expected {self._row_bytes // 4}")
        os.pwrite(self._file.fileno(), data, self._count * self._row_bytes)
        self._count += 1

    def __getitem__(self, i: int) -> np.ndarray:
        data = os.pread(self._file.fileno(), self._row_bytes, i * self._row_bytes)
        return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def dedup_sentences_sql(stage_glob: str, existing_glob: str | None) -> tuple[str, dict]:
    """SQL selecting the staged sentences that are first occurrences, in build order, and its
    parameters (the paths are bound, never pasted into the text): ``con.sql(query, params=params)``.

    ``stage_glob`` holds rows with a ``row_id`` in build order; ``existing_glob`` (or None) is the
    corpus already built, whose sentences take precedence.
    """
    stage = "read_parquet($stage)"
    params = {"stage": str(stage_glob)}
    existing_filter = ""
    if existing_glob:
        existing_filter = "where md5_number(text) not in (select md5_number(text) from read_parquet($existing))"
        params["existing"] = str(existing_glob)
    query = f"""
        with firsts as (
            select min(row_id) as row_id from {stage} {existing_filter} group by md5_number(text)
        )
        select s.* from {stage} s semi join firsts f on s.row_id = f.row_id order by s.row_id
    """
    return query, params


def configure_duckdb(con, temp_dir: Path, memory_limit: str = "700MB", threads: int | None = None) -> None:
    """Bound DuckDB's memory and let it spill to ``temp_dir`` instead."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    # SET takes no bound parameter in every DuckDB kmb supports: literals, quoted by sql_string.
    con.execute(f"set memory_limit={sql_string(memory_limit)}")
    con.execute(f"set temp_directory={sql_string(temp_dir)}")
    con.execute("set preserve_insertion_order=false")
    if threads:
        con.execute(f"set threads={int(threads)}")
