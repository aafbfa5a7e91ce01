"""Exact and near-duplicate documents, exact duplicate sentences in DuckDB."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kmb.corpus.cleaning import clean
from kmb.corpus.dedup import (
    SHINGLE_HASHES,
    NearDuplicateIndex,
    char_shingles,
    dedup_sentences_sql,
    minhash_signature,
    shingle_hashes_fmix64,
    text_md5,
)
from kmb.corpus.normalise import normalise
from kmb.corpus.sample_news import generate


def test_char_shingles_are_character_ngrams_with_spacing_collapsed():
    assert char_shingles("가나다라마바") == {"가나다라마".encode(), "나다라마바".encode()}
    assert char_shingles("가나  다") == char_shingles("가나 다")
    assert char_shingles("") == set()


def test_text_md5_is_stable():
    assert text_md5("고혈압") == text_md5("고혈압") != text_md5("고혈압.")


@pytest.mark.parametrize("shingle_hash", SHINGLE_HASHES)
def test_near_duplicate_index_finds_planted_copies_and_no_originals(shingle_hash):
    docs = list(generate(400, seed=3, duplicate_share=0.2))
    index = NearDuplicateIndex(threshold=0.8)
    found, shingles = {}, {}
    for doc in docs:
        text = clean(normalise(doc.text), "news")[0]
        shingles[doc.doc_id] = char_shingles(text)
        signature = minhash_signature(text, shingle_hash=shingle_hash)
        match = index.find(signature)
        if match:
            found[doc.doc_id] = match.doc_id
        else:
            index.add(doc.doc_id, signature)
    originals = [d for d in docs if d.planted is None]
    exact = [d for d in docs if d.planted == "exact"]
    near = [d for d in docs if d.planted == "near"]
    assert len(exact) > 10 and len(near) > 10
    assert not any(d.doc_id in found for d in originals)  # no false positives
    assert all(found.get(d.doc_id) == d.copy_of for d in exact)

    def jaccard(a, b):
        return len(shingles[a] & shingles[b]) / len(shingles[a] | shingles[b])

    # MinHash estimates Jaccard similarity: copies well above the threshold are caught, copies
    # well below it are not (some planted edits change a short story by more than 20 %). With 128
    # permutations an estimate is within about +-0.03, and one draw of hash functions moves the
    # estimates of similar pairs together (by up to 0.02 on 500 pairs, measured), so a few of the
    # copies at 0.87 can fall under 0.8.
    clear = [d for d in near if jaccard(d.doc_id, d.copy_of) >= 0.87]
    below = [d for d in near if jaccard(d.doc_id, d.copy_of) < 0.7]
    assert len(clear) > 10
    assert sum(found.get(d.doc_id) == d.copy_of for d in clear) >= 0.9 * len(clear)
    assert not any(d.doc_id in found for d in below)


def test_near_duplicate_index_decides_as_datasketch_minhash_lsh(monkeypatch):
    # The same bands as datasketch's MinHashLSH, in numpy arrays: the same candidates, so the
    # same decisions, also after the latest keys were merged into the sorted arrays.
    from datasketch import MinHash, MinHashLSH

    from kmb.corpus import dedup

    monkeypatch.setattr(dedup, "_MERGE_KEYS", 500)
    docs = list(generate(400, seed=5, duplicate_share=0.3))
    ours, reference = NearDuplicateIndex(threshold=0.8), MinHashLSH(threshold=0.8, num_perm=128, weights=(0.2, 0.8))
    kept: dict[str, np.ndarray] = {}
    decisions, expected = {}, {}
    for doc in docs:
        signature = minhash_signature(clean(normalise(doc.text), "news")[0])
        match = ours.find(signature)
        decisions[doc.doc_id] = match and (match.doc_id, match.jaccard)
        minhash = MinHash(num_perm=128, hashvalues=signature, scheme="affine32")
        scores = [(float(np.mean(kept[k] == signature)), k) for k in reference.query(minhash)]
        scores = [(j, k) for j, k in scores if j >= 0.8]
        best = max(scores, key=lambda s: (s[0], -list(kept).index(s[1])), default=None)
        expected[doc.doc_id] = best and (best[1], best[0])
        if match is None:
            ours.add(doc.doc_id, signature)
        if best is None:
            reference.insert(doc.doc_id, minhash)
            kept[doc.doc_id] = signature
    assert len(ours) == len(kept) > 250 and len(ours._keys) > 0  # the sorted arrays were used
    assert sum(d is not None for d in decisions.values()) > 60
    assert decisions == expected


def test_near_duplicate_threshold_is_respected():
    base = "겨울철 독감 환자가 크게 늘었다. " * 3 + "질병관리청은 예방접종을 당부했다."
    other = "고혈압 환자는 싱겁게 먹어야 한다. 하루 30분 걷기를 권한다. 금연도 중요하다."
    index = NearDuplicateIndex(threshold=0.9)
    index.add("a", minhash_signature(base))
    assert index.find(minhash_signature(base)).jaccard == 1.0
    assert index.find(minhash_signature(other)) is None


def test_sentence_dedup_keeps_first_occurrence_and_respects_existing(tmp_path):
    stage = pa.table(
        {
            "row_id": [1, 2, 3, 4, 5],
            "text": ["첫 문장이다.", "둘째 문장이다.", "첫 문장이다.", "이미 있는 문장이다.", "둘째 문장이다."],
        }
    )
    pq.write_table(stage, tmp_path / "stage.parquet")
    pq.write_table(pa.table({"text": ["이미 있는 문장이다."]}), tmp_path / "existing.parquet")
    con = duckdb.connect()
    query, params = dedup_sentences_sql((tmp_path / "stage.parquet").as_posix(), None)
    assert [r[0] for r in con.sql(query, params=params).fetchall()] == [1, 2, 4]
    query, params = dedup_sentences_sql(
        (tmp_path / "stage.parquet").as_posix(), (tmp_path / "existing.parquet").as_posix()
    )
    assert [r[0] for r in con.sql(query, params=params).fetchall()] == [1, 2]
    assert "stage.parquet" not in query  # paths are bound parameters, never SQL text


def test_minhash_signature_equals_datasketch_update_batch():
    # Under "sha1" the signature must equal datasketch's, so that signatures stored by builds that
    # used it stay comparable with their incremental builds' new ones.
    from datasketch import MinHash

    texts = [normalise(d.text) for d in generate(30, seed=2)] + ["", "abc", "가나다라마", "가나다라마바", "  가  나  "]
    for text in texts:
        reference = MinHash(num_perm=128, scheme="affine32")
        reference.update_batch(char_shingles(text))
        ours = minhash_signature(text, shingle_hash="sha1")
        assert ours.dtype == reference.hashvalues.dtype and np.array_equal(ours, reference.hashvalues), text[:40]
    assert len(minhash_signature("고혈압 환자는 싱겁게 먹어야 한다.", num_perm=64)) == 64


def _fmix64_one(shingle: str) -> int:
    """The documented fmix64 shingle hash of one shingle, in plain Python integers."""
    mask = (1 << 64) - 1
    value = 0
    for char in shingle:
        value = (value * 0x9E3779B97F4A7C15 + ord(char)) & mask
    value ^= value >> 33
    value = (value * 0xFF51AFD7ED558CCD) & mask
    value ^= value >> 33
    value = (value * 0xC4CEB9FE1A85EC53) & mask
    value ^= value >> 33
    return value & 0xFFFFFFFF


def test_fmix64_hashes_every_shingle_of_char_shingles():
    # The vectorised hash sees exactly the shingles char_shingles defines, one value per shingle.
    for text in ["고혈압 환자는  싱겁게\n먹어야 한다.", "", "abc", "가나다라마", "가나다라마바", "😀 이모지와 漢字"]:
        ours = shingle_hashes_fmix64(text)
        assert ours.dtype == np.uint32
        assert set(ours.tolist()) == {_fmix64_one(s.decode("utf-8")) for s in char_shingles(text)}, text
    hashes = shingle_hashes_fmix64(" ".join(normalise(d.text) for d in generate(20, seed=4)))
    shingles = char_shingles(" ".join(normalise(d.text) for d in generate(20, seed=4)))
    assert len(set(hashes.tolist())) == len(shingles)  # no two distinct shingles collide here


def test_minhash_signature_rejects_an_unknown_hash():
    with pytest.raises(ValueError, match="unknown shingle hash 'md5'"):
        minhash_signature("고혈압", shingle_hash="md5")


def test_signatures_are_kept_in_a_file_and_read_back(tmp_path):
    from kmb.corpus.dedup import _SignatureFile

    rows = _SignatureFile(3, tmp_path)
    values = np.arange(15, dtype=np.uint32).reshape(5, 3)
    for row in values:
        rows.append(row)
    values[0, 0] = 99  # the rows were copied out, not kept as views of the caller's arrays
    assert [rows[i].tolist() for i in range(5)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14]]
    assert rows[4].dtype == np.uint32
    with pytest.raises(ValueError, match="signature of 2 values, expected 3"):
        rows.append(np.zeros(2, dtype=np.uint32))
