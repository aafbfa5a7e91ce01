"""Shared by the corpus tests: `kmb ARGS` run in this process, and a small built corpus (four
documents, two sources) for the stats and export tests."""

from __future__ import annotations

import pytest

from kmb.corpus.build import BuildConfig, build_corpus
from kmb.storage import DOCUMENTS, write_rows

DOCS = [
    (
        "n:1",
        "naver_health",
        "[헬스조선 김민준 기자] 독감 예방접종은 매년 맞아야 한다. 접종 후 2주가 지나야 항체가 생긴다.\n"
        "김민준 기자 minjun@example.com\nⓒ 헬스조선, 무단전재 및 재배포 금지",
    ),
    ("n:2", "naver_health", "고혈압 환자는 싱겁게 먹어야 한다. 하루 30분 걷기도 도움이 된다. 짧다."),
    (
        "k:1",
        "kci",
        "본 연구는 당뇨병 환자의 운동 효과를 분석하였다. 운동군의 혈당이 유의하게 감소하였다.\n참고문헌\n1. 김민준. 운동. 2020.",
    ),
    ("k:2", "kci", "고혈압 환자는 싱겁게 먹어야 한다. 수면의 질이 혈압 조절과 관련이 있음을 확인하였다."),
]


@pytest.fixture
def built(workspace):
    for source in ("naver_health", "kci"):
        rows = [{"doc_id": d, "source": s, "text": t} for d, s, t in DOCS if s == source]
        write_rows(workspace.raw(source) / "part-1.parquet", rows, DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1, valid_ratio=0.5, seed=3))
    return workspace
