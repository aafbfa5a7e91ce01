"""MinHash of a long document: the same signature, in memory that does not grow with its length."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from kmb.corpus import dedup
from kmb.corpus.sample_news import generate

TEXT = " ".join(doc.text for doc in generate(40, seed=3))


@pytest.mark.parametrize("shingle_hash", ["fmix64", "sha1"])
def test_signature_is_the_same_in_small_segments(monkeypatch, shingle_hash):
    whole = dedup.minhash_signature(TEXT, 64, shingle_hash)
    monkeypatch.setattr(dedup, "_SEGMENT_SHINGLES", 7)  # many segments, each overlapping the next
    assert np.array_equal(dedup.minhash_signature(TEXT, 64, shingle_hash), whole)
    for short in ("", "가", "가나다라", "가나다라마", "가나다라마바"):  # shorter than, equal to, one past a shingle
        monkeypatch.setattr(dedup, "_SEGMENT_SHINGLES", 1)
        one = dedup.minhash_signature(short, 16, shingle_hash)
        monkeypatch.setattr(dedup, "_SEGMENT_SHINGLES", 1 << 14)
        assert np.array_equal(one, dedup.minhash_signature(short, 16, shingle_hash))


def test_memory_does_not_grow_with_the_document():
    def peak(text: str) -> int:
        tracemalloc.start()
        dedup.minhash_signature(text, 128, "fmix64")
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    small, large = peak(TEXT[:200_000]), peak((TEXT * 40)[:4_000_000])
    # The whole-document way needed len x 128 x 4 bytes: 2 GB for these 4 M characters.
    assert large < 200 * 2**20, large
    assert large < small * 30  # 20x the text; the segments' part of the peak stays the same
