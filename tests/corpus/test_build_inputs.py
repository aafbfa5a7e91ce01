"""`kmb corpus build` checks every raw table before it starts work: a damaged one is one line that
names it, exit 1, and corpus/ is left exactly as it was."""

from __future__ import annotations

import pytest

from kmb.corpus import build
from kmb.corpus.build import BuildConfig, build_corpus
from kmb.storage import DOCUMENTS, write_rows

TEXT = "고혈압 환자는 싱겁게 먹어야 한다. 하루 30분 걷기도 도움이 된다."


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _damage(path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(
        {
            "truncated": data[: len(data) // 2],
            "footer-cut": data[:-20],
            "empty": b"",
            "not-parquet": "고혈압 환자\n".encode() * 20,
            "garbled-footer": data[:-12] + b"\x00" * 8 + data[-4:],
        }[how]
    )


@pytest.mark.parametrize("how", ["truncated", "footer-cut", "empty", "not-parquet", "garbled-footer"])
def test_a_damaged_raw_table_is_named_before_the_build_starts(workspace, run_kmb, monkeypatch, how):
    write_rows(workspace.raw("kci") / "part-1.parquet", [{"doc_id": "k:1", "source": "kci", "text": TEXT}], DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1))
    before = _snapshot(workspace.corpus)
    # A good table sorted before the damaged one: a check made file by file would start on it first.
    first = {"doc_id": "a:1", "source": "a_first", "text": "당뇨병은 혈당이 높은 병이다. 운동이 도움이 된다."}
    write_rows(workspace.raw("a_first") / "part-1.parquet", [first], DOCUMENTS)
    damaged = workspace.raw("naver_health") / "part-1.parquet"
    write_rows(damaged, [{"doc_id": f"n:{i}", "source": "naver_health", "text": TEXT} for i in range(50)], DOCUMENTS)
    _damage(damaged, how)

    def started(*args, **kwargs):
        raise AssertionError("the build started work before every raw table was checked")

    monkeypatch.setattr(build, "_build_into", started)
    code, out, err = run_kmb("corpus", "build", "-w", workspace.root, "--workers", "1")
    assert code == 1
    assert err.splitlines() == [err.strip()]  # one line
    assert err.startswith(f"kmb: error: {damaged}: a Parquet file is damaged"), err
    assert _snapshot(workspace.corpus) == before
    assert not list(workspace.root.glob(".corpus-build-*")) and not list(workspace.root.glob(".corpus-old-*"))
