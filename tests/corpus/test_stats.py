"""`kmb corpus stats` through the library."""

from __future__ import annotations

import pytest

from kmb.corpus.stats import corpus_stats
from kmb.errors import KmbError


def test_stats_counts_and_histograms(built):
    stats = corpus_stats(built)
    by = {(r["source"], r["split"]): r for r in stats["by_source_split"]}
    assert sum(r["sentences"] for r in by.values()) == 7
    assert sum(r["documents"] for r in by.values()) == 4
    assert {s for s, _ in by} == {"naver_health", "kci"}
    assert all(r["words"] > 0 and r["characters"] > r["words"] for r in by.values())
    assert stats["documents"] == {"kept": 4}
    assert stats["filters"]["too_short"] == 1
    assert stats["duplicate_sentences"] == 1
    assert stats["cleaning"]["references"] == 1 and stats["cleaning"]["byline"] == 1
    assert len(stats["plots"]) == 3
    for plot in stats["plots"]:
        with open(plot, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_stats_bad_input(workspace):
    with pytest.raises(KmbError, match="no corpus sentences yet"):
        corpus_stats(workspace)
