"""NSP pairs: 1:1 labels, adjacency, no pair across a gap, determinism."""

from __future__ import annotations

import numpy as np

from kmb.training.sentence_pairs import IS_NEXT, NOT_NEXT, choose_pairs


def test_choose_pairs_statistics_on_many_sentences():
    rng = np.random.default_rng(0)
    doc_no = np.repeat(np.arange(2000), rng.integers(1, 9, size=2000))
    has_next = np.zeros(len(doc_no), dtype=bool)
    has_next[:-1] = doc_no[:-1] == doc_no[1:]
    has_next &= rng.random(len(doc_no)) > 0.1  # gaps
    a, b, labels = choose_pairs(doc_no, has_next, seed=3)
    assert len(a) == has_next.sum()  # one pair per sentence with a next one
    assert abs(int((labels == NOT_NEXT).sum()) - len(a) // 2) == 0  # exactly half NotNext
    is_next = labels == IS_NEXT
    assert np.array_equal(b[is_next], a[is_next] + 1)
    assert (doc_no[b[~is_next]] != doc_no[a[~is_next]]).all()
    again = choose_pairs(doc_no, has_next, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip((a, b, labels), again))
    assert not np.array_equal(labels, choose_pairs(doc_no, has_next, seed=4)[2])
