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


NEWS = [
    "독감 예방접종은 매년 맞아야 한다. 접종 후 2주가 지나야 항체가 생긴다. 고령자는 특히 서둘러야 한다.",
    "고혈압 환자는 싱겁게 먹는 것이 좋다. 하루 30분 걷기도 혈압을 낮추는 데 도움이 된다.",
    "수면이 부족하면 면역력이 떨어진다. 잠들기 전에는 휴대전화를 멀리 두는 것이 좋다.",
]
REPEATED = "\n".join(
    ["당뇨병은 합병증 관리가 중요하다.", "금연은 폐암 위험을 크게 낮춘다."] + ["오늘의 건강 소식을 전한다."] * 3
)
NO_STOPWORDS = "COVID-19 mRNA 백신 접종 현황 2023 통계"


def test_stats_show_the_document_filters_and_what_decontamination_removed(workspace, tmp_path, run_kmb):
    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.storage import DOCUMENTS, write_rows

    texts = NEWS + [REPEATED, NO_STOPWORDS]
    rows = [{"doc_id": f"news:{i}", "source": "news", "text": t} for i, t in enumerate(texts)]
    write_rows(workspace.raw("news") / "part-1.parquet", rows, DOCUMENTS)
    items = tmp_path / "test.txt"
    items.write_text("고혈압 환자는 싱겁게 먹는 것이 좋다.\n어느 문장과도 같지 않은 평가 문장이다.\n", encoding="utf-8")
    report = build_corpus(workspace, BuildConfig(workers=1, decontaminate=(str(items),))).data

    stats = corpus_stats(workspace)
    assert stats["document_filters"]["dup_line_frac"] == 1 and stats["document_filters"]["few_stopwords"] == 1
    assert stats["document_filters"] == report["document_filters"]  # every rule, the zeros too
    assert stats["decontamination"]["sentences removed"] == 1
    assert stats["decontamination"]["files"][str(items)] == {"items": 2, "sentences removed": 1}
    code, out, err = run_kmb("corpus", "stats", "-w", workspace.root, "--plots", tmp_path / "plots")
    assert code == 0, err
    lines = {line.strip().split("  ")[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["document filters"].split()[-4:] == ["dup_line_frac", "1,", "few_stopwords", "1"]
    scanned = report["decontamination"]["sentences scanned"]
    assert lines["decontaminated"].endswith(f"1 of {scanned} sentences removed (test.txt: 2 items, 1 removed)")

    # An incremental build adds its document-filter counts; it ran without --decontaminate.
    rows = [{"doc_id": "news:late", "source": "news", "text": REPEATED.replace("오늘의", "내일의")}]
    write_rows(workspace.raw("news") / "part-2.parquet", rows, DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1))
    stats = corpus_stats(workspace, tmp_path / "plots")
    assert stats["document_filters"]["dup_line_frac"] == 2 and stats["decontamination"] is None
    code, out, _ = run_kmb("corpus", "stats", "-w", workspace.root, "--plots", tmp_path / "plots")
    assert "the last build had no --decontaminate" in out


def test_stats_say_when_the_document_filters_were_off(workspace, tmp_path, run_kmb):
    from kmb.corpus.build import BuildConfig, build_corpus
    from kmb.corpus.document_filters import DocumentFilterConfig
    from kmb.storage import DOCUMENTS, write_rows

    rows = [{"doc_id": f"news:{i}", "source": "news", "text": t} for i, t in enumerate(NEWS + [REPEATED])]
    write_rows(workspace.raw("news") / "part-1.parquet", rows, DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1, document_filters=DocumentFilterConfig(enabled=False)))
    assert corpus_stats(workspace, tmp_path / "plots")["document_filters"] is None
    code, out, err = run_kmb("corpus", "stats", "-w", workspace.root, "--plots", tmp_path / "plots")
    assert code == 0 and "off (--no-document-filters)" in out, err
