"""What the build removed stays visible in corpus/removed/, and `kmb corpus removed` shows it."""

from __future__ import annotations

import duckdb
import pytest

from kmb.corpus.build import BuildConfig, build_corpus
from kmb.corpus.removed import RemovedLog, removed_sample
from kmb.errors import KmbError
from kmb.storage import DOCUMENTS, write_rows

PROSE = [
    "고혈압은 혈압이 지속적으로 높은 상태를 말하며 심혈관 질환의 위험을 높인다.",
    "당뇨병 환자는 정기적으로 혈당을 측정하고 식단을 조절해야 한다.",
    "규칙적인 운동은 체중을 줄이고 혈압을 낮추는 데 도움이 된다.",
    "흡연은 폐암과 만성 폐쇄성 폐질환의 가장 중요한 위험 요인이다.",
]
SPAM = "지금 바로 전화 주세요 최저가 보장 이벤트 진행 중"


def add(ws, source, docs):
    rows = [{"doc_id": f"{source}:{i}", "source": source, "text": t, "language": "ko"} for i, t in enumerate(docs)]
    write_rows(ws.raw(source) / "part.parquet", rows, DOCUMENTS)


def rows(ws):
    return duckdb.sql("select rule, sent_idx is null, doc_id from read_parquet($p) order by all",
                      params={"p": str(ws.corpus / "removed/*.parquet")}).fetchall()  # fmt: skip


def test_dropped_documents_and_sentences_are_kept_with_their_rule(workspace, tmp_path):
    spam = "\n".join([SPAM] * 8)
    add(workspace, "news", [" ".join(PROSE) + " 짧다.", spam])  # "짧다." is under --min-chars
    test = tmp_path / "test.txt"
    test.write_text(PROSE[1] + "\n", encoding="utf-8")
    report = build_corpus(workspace, BuildConfig(workers=1, decontaminate=(str(test),))).data
    found = rows(workspace)
    rules = {rule for rule, _, _ in found}
    assert any(whole and doc == "news:1" for _, whole, doc in found)  # the spam document, whole
    assert ("too_short", False, "news:0") in found
    assert "decontaminate:test.txt" in rules
    assert report["removed"]["kept"] and not report["removed"]["over budget (counted, not kept)"]
    result = removed_sample(workspace.corpus, "decontaminate:test.txt", 5)
    assert [(r["doc_id"], r["text"]) for r in result["sample"]] == [("news:0", PROSE[1])]


def test_an_incremental_build_keeps_the_earlier_removed_text(workspace):
    add(workspace, "news", [" ".join(PROSE), "\n".join([SPAM] * 8)])
    build_corpus(workspace, BuildConfig(workers=1))
    first = rows(workspace)
    rows_more = [{"doc_id": "more:0", "source": "news", "text": "\n".join([SPAM + " 두번째"] * 9), "language": "ko"}]
    write_rows(workspace.raw("news") / "part-2.parquet", rows_more, DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1))
    second = rows(workspace)
    assert set(first) < set(second) and any(doc == "more:0" for _, _, doc in second)


def test_the_budget_counts_what_it_does_not_keep(tmp_path):
    log = RemovedLog(tmp_path / "removed", budget=10)
    for i in range(5):
        log.add(f"d{i}", "news", "rule", None, "가" * 6)
    assert log.close() == {"kept": {"rule": 2}, "over budget (counted, not kept)": {"rule": 3}}


def test_the_command_prints_counts_and_a_sample(workspace, run_kmb):
    add(workspace, "news", [" ".join(PROSE), "\n".join([SPAM] * 8)])
    build_corpus(workspace, BuildConfig(workers=1))
    code, stdout, stderr = run_kmb("corpus", "removed", "--workspace", workspace.root)
    assert code == 0, stderr
    rule = next(r for r, whole, _ in rows(workspace) if whole)
    code, stdout, stderr = run_kmb("corpus", "removed", "--workspace", workspace.root, "--rule", rule, "--sample", "1")
    assert code == 0 and "news:1 (news, document)" in stdout and SPAM in stdout
    code, _, stderr = run_kmb("corpus", "removed", "--workspace", workspace.root, "--rule", "nonsense")
    assert code == 1 and "no removed text under the rule 'nonsense'" in stderr


def test_no_corpus_is_one_line(workspace):
    with pytest.raises(KmbError, match="run `kmb corpus build` first"):
        removed_sample(workspace.corpus)
