"""A second writer of a workspace area gets one line at once and changes nothing (issue 28, point 6)."""

from __future__ import annotations

import pytest

from kmb.quickstart import BASE_VOCAB, SAMPLES

CASES = [
    ("terms", ["terms", "import", str(SAMPLES / "terms" / "medical_terms.tsv"), "--source", "custom"]),
    ("terms", ["terms", "count"]),
    ("raw/textbook", ["corpus", "add", str(SAMPLES / "textbooks"), "--source", "textbook"]),
    ("raw/kci", ["crawl", "kci", "--endpoint", "http://127.0.0.1:9/oai", "--years", "all", "--delay", "0"]),
    ("vocab/medical", ["vocab", "build", "--base-vocab", str(BASE_VOCAB)]),
]


@pytest.mark.parametrize(("area", "args"), CASES, ids=[" ".join(a[:2]) for _, a in CASES])
def test_a_second_writer_is_refused_at_once(workspace, run_kmb, area, args):
    before = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*") if ".locks" not in p.parts)
    with workspace.lock(area):
        code, out, err = run_kmb(*args, "-w", workspace.root)
    assert code == 1
    assert err.count("\n") == 1 and f"another kmb command is writing {area}" in err
    after = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*") if ".locks" not in p.parts)
    assert after == before


def test_the_lock_is_free_again_after_the_holder_ends(workspace, run_kmb):
    with workspace.lock("terms"):
        pass
    code, _out, err = run_kmb(
        "terms", "import", SAMPLES / "terms" / "medical_terms.tsv", "--source", "custom", "-w", workspace.root
    )
    assert code == 0, err
