"""`kmb corpus build` end to end: dedup on planted copies, split, incremental, bad input, real data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import replace

import duckdb
import pyarrow.parquet as pq
import pytest

from kmb.corpus.build import BuildConfig, assign_split, build_corpus, process_documents
from kmb.corpus.document_filters import DocumentFilterConfig
from kmb.corpus.sample_news import generate
from kmb.errors import KmbError
from kmb.storage import CORPUS_DOCUMENTS, DOCUMENTS, SENTENCES, write_rows

ONE_CORE = BuildConfig(workers=1)


def add_raw(ws, source, name, docs):
    """docs: (doc_id, text) pairs -> raw/<source>/<name>.parquet"""
    rows = [{"doc_id": d, "source": source, "text": t, "language": "ko"} for d, t in docs]
    write_rows(ws.raw(source) / f"{name}.parquet", rows, DOCUMENTS)


def sentences(ws):
    return duckdb.sql(f"select * from read_parquet('{ws.corpus}/sentences/*.parquet')").fetchall()


def documents(ws):
    rows = duckdb.sql(f"select * from read_parquet('{ws.corpus}/documents/*.parquet')").fetchall()
    return {r[0]: dict(zip(CORPUS_DOCUMENTS.names, r)) for r in rows}


def report(ws):
    return json.loads((ws.corpus / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample_docs():
    return list(generate(150, seed=7, duplicate_share=0.15))


def test_build_from_generated_news(workspace, sample_docs):
    add_raw(workspace, "naver_health", "part-1", [(d.doc_id, d.text) for d in sample_docs])
    result = build_corpus(workspace, ONE_CORE)
    rep, docs, rows = report(workspace), documents(workspace), sentences(workspace)

    # Schemas are the contract's.
    for part in (workspace.corpus / "sentences").glob("*.parquet"):
        assert pq.read_schema(part).equals(SENTENCES, check_metadata=False)
    # Every document is accounted for, kept or dropped with a reason.
    assert rep["documents"]["read"] == len(sample_docs) == len(docs)
    assert rep["documents"]["kept"] + sum(rep["documents"]["dropped"].values()) == len(sample_docs)
    # Planted exact copies point at their original; near copies are dropped as near or exact copies.
    for doc in sample_docs:
        if doc.planted == "exact":
            assert (docs[doc.doc_id]["dropped"], docs[doc.doc_id]["duplicate_of"]) == ("exact_duplicate", doc.copy_of)
        if doc.planted is None:
            assert docs[doc.doc_id]["dropped"] is None and docs[doc.doc_id]["split"] in ("train", "valid")
    near = [d for d in sample_docs if d.planted == "near"]
    assert sum(docs[d.doc_id]["dropped"] == "near_duplicate" for d in near) >= 0.7 * len(near)
    assert rep["near_duplicates_total"] == rep["documents"]["dropped"]["near_duplicate"]
    # Boilerplate is gone, counted per rule.
    texts = [r[3] for r in rows]
    assert not any("기자" in t and "@" in t for t in texts)
    assert not any("무단전재" in t or "사진=" in t for t in texts)
    for rule in ("byline", "copyright", "photo_caption", "dateline"):
        assert rep["cleaning"][rule] > 0
    # No duplicate sentence survives; sentences are NFC, counted, split per document.
    assert len(texts) == len(set(texts)) == rep["sentences"]["kept"] == rep["totals"]["sentences"]
    assert rep["sentence_dedup"]["duplicates_dropped"] > 0
    by_doc = {}
    for doc_id, _source, sent_idx, text, n_chars, n_words, split in rows:
        assert n_chars == len(text) and n_words == len(text.split())
        assert split == docs[doc_id]["split"]
        by_doc.setdefault(doc_id, []).append(sent_idx)
    assert all(idx == sorted(set(idx)) for idx in by_doc.values())
    assert result.summary()["documents kept"] == rep["documents"]["kept"]
    # The DuckDB views are refreshed.
    con = workspace.connect(read_only=True)
    assert con.execute("select count(*) from sentences").fetchone()[0] == len(rows)
    con.close()


def test_removed_sentences_leave_gaps_in_sent_idx(workspace):
    add_raw(
        workspace,
        "news",
        "part-1",
        [
            ("a", "첫 문장은 충분히 길다. 짧다. 셋째 문장도 충분히 길다. 넷째 문장도 역시 길다."),
            ("b", "다른 기사의 첫 문장이다. 셋째 문장도 충분히 길다. 다른 기사의 마지막 문장이다."),
        ],
    )
    build_corpus(workspace, ONE_CORE)
    idx = {}
    for doc_id, _, sent_idx, _text, *_ in sentences(workspace):
        idx.setdefault(doc_id, []).append(sent_idx)
    assert sorted(idx["a"]) == [0, 2, 3]  # "짧다." was filtered: no pair may span 0 -> 2
    assert sorted(idx["b"]) == [0, 2]  # the sentence already in "a" was dropped as a duplicate
    assert report(workspace)["filters"]["too_short"] == 1


def test_split_is_deterministic_from_the_seed_and_near_the_ratio():
    ids = [f"doc:{i}" for i in range(5000)]
    first = [assign_split(d, 42, 0.1) for d in ids]
    assert first == [assign_split(d, 42, 0.1) for d in ids]
    assert 0.085 <= first.count("valid") / len(ids) <= 0.115
    assert first != [assign_split(d, 7, 0.1) for d in ids]
    assert [assign_split(d, 42, 0.0) for d in ids[:50]] == ["train"] * 50
    assert 0.27 <= [assign_split(d, 42, 0.3) for d in ids].count("valid") / len(ids) <= 0.33


def test_rebuild_with_the_same_seed_gives_the_same_corpus(workspace, sample_docs):
    add_raw(workspace, "naver_health", "part-1", [(d.doc_id, d.text) for d in sample_docs[:40]])
    build_corpus(workspace, ONE_CORE)
    before = sorted(sentences(workspace))
    build_corpus(workspace, BuildConfig(workers=1, rebuild=True))
    assert sorted(sentences(workspace)) == before
    assert report(workspace)["mode"] == "rebuild"


def test_incremental_build_processes_only_new_documents(workspace, sample_docs):
    originals = [d for d in sample_docs if d.planted is None]
    add_raw(workspace, "naver_health", "part-1", [(d.doc_id, d.text) for d in originals[:30]])
    build_corpus(workspace, ONE_CORE)
    first = report(workspace)
    old_parts = set((workspace.corpus / "sentences").glob("*.parquet"))

    copy_of_old = originals[3]
    add_raw(
        workspace,
        "naver_health",
        "part-2",
        [(d.doc_id, d.text) for d in originals[30:40]] + [("copy:1", copy_of_old.text)],
    )
    build_corpus(workspace, ONE_CORE)
    second = report(workspace)
    assert second["mode"] == "incremental"
    assert second["documents"]["read"] == 11  # only the new ones
    assert documents(workspace)["copy:1"]["duplicate_of"] == copy_of_old.doc_id
    assert old_parts < set((workspace.corpus / "sentences").glob("*.parquet"))  # old parts kept
    texts = [r[3] for r in sentences(workspace)]
    assert len(texts) == len(set(texts))
    assert second["totals"]["documents"] == first["totals"]["documents"] + 10
    assert len(second["previous_runs"]) == 1

    # Nothing new: nothing changes.
    build_corpus(workspace, ONE_CORE)
    assert report(workspace) == second

    # A different seed would make a mixed split: refused without --rebuild.
    with pytest.raises(KmbError, match="--seed 1 differs"):
        build_corpus(workspace, BuildConfig(workers=1, seed=1))
    build_corpus(workspace, BuildConfig(workers=1, seed=1, rebuild=True))
    assert report(workspace)["documents"]["read"] == 41
    # Without --seed, an incremental build keeps the corpus's seed.
    add_raw(workspace, "naver_health", "part-3", [(d.doc_id, d.text) for d in originals[40:42]])
    build_corpus(workspace, ONE_CORE)
    assert report(workspace)["settings"]["seed"] == 1 and report(workspace)["documents"]["read"] == 2


def test_incremental_build_keeps_the_corpus_minhash_scheme(workspace, sample_docs):
    # Signatures are only comparable under one shingle hash: a corpus built before "fmix64" (its
    # report has no shingle_hash) keeps datasketch's sha1, so a copy of an old document is caught.
    originals = [d for d in sample_docs if d.planted is None]
    add_raw(workspace, "naver_health", "part-1", [(d.doc_id, d.text) for d in originals[:20]])
    build_corpus(workspace, BuildConfig(workers=1, shingle_hash="sha1"))
    assert report(workspace)["settings"]["shingle_hash"] == "sha1"
    legacy = report(workspace)
    del legacy["settings"]["shingle_hash"]
    (workspace.corpus / "report.json").write_text(json.dumps(legacy), encoding="utf-8")

    near_copy = originals[2].text.replace("환자", "환자들", 1)
    add_raw(workspace, "naver_health", "part-2", [("copy:near", near_copy)])
    build_corpus(workspace, ONE_CORE)
    assert report(workspace)["settings"]["shingle_hash"] == "sha1"
    assert documents(workspace)["copy:near"]["duplicate_of"] == originals[2].doc_id
    for change, message in (
        ({"shingle_hash": "fmix64"}, "--shingle-hash fmix64 differs"),
        ({"num_perm": 64}, "--num-perm 64 differs"),
    ):
        with pytest.raises(KmbError, match=message):
            build_corpus(workspace, BuildConfig(workers=1, **change))
    build_corpus(workspace, BuildConfig(workers=1, rebuild=True))  # a rebuild takes the default
    assert report(workspace)["settings"]["shingle_hash"] == "fmix64"


def test_worker_processes_give_the_same_corpus(workspace):
    # Plain sentences only: the workers need no kss, so the test pays process start-up only.
    import random

    from kmb.corpus.sample_news import ADVICE, HOSPITALS, TOPICS

    rng = random.Random(0)
    docs = [
        (
            f"p:{i}",
            " ".join(
                f"{rng.choice(HOSPITALS)}의 {rng.choice(TOPICS)} 환자 {rng.randint(1, 10**6)}명은 "
                f"{rng.choice(ADVICE)}에 {rng.randint(1, 999)}번 참여했다."
                for j in range(8)
            ),
        )
        for i in range(120)
    ]
    add_raw(workspace, "news", "part-1", docs)
    build_corpus(workspace, BuildConfig(workers=2, batch_docs=8))
    parallel = sentences(workspace)
    build_corpus(workspace, BuildConfig(workers=1, rebuild=True))
    assert sorted(parallel) == sorted(sentences(workspace))
    assert len(parallel) == 120 * 8


def test_in_process_builds_use_their_own_splitter_settings():
    doc = [("a", "news", "A군 vs. B군을 비교했다. 결과는 다음과 같다.")]
    fast = process_documents(doc, BuildConfig(workers=1)).documents[0]["split"]
    kss_only = process_documents(doc, BuildConfig(workers=1, fast_path=False)).documents[0]["split"]
    assert (fast["fast_pieces"], fast["kss_pieces"]) == (1, 1)
    assert (kss_only["fast_pieces"], kss_only["kss_pieces"]) == (0, 1)


def test_report_times_every_step_and_progress_shows_rate_and_eta(workspace, sample_docs):
    from kmb.corpus.build import START_UP, STEPS

    add_raw(workspace, "naver_health", "part-1", [(d.doc_id, d.text) for d in sample_docs[:40]])
    lines = []
    result = build_corpus(workspace, ONE_CORE, progress=lines.append)
    seconds = report(workspace)["seconds_per_step"]
    assert list(seconds) == list(STEPS + START_UP) and all(v >= 0 for v in seconds.values())
    assert seconds["split"] > 0 and seconds["read"] > 0
    assert "time per step" in result.summary() and "split" in result.summary()["time per step"]
    assert lines and lines[-1].startswith("  ... 40 / 40 documents (100%)")
    assert "documents/s" in lines[-1] and "ETA 00:00:00" in lines[-1]


def test_progress_line():
    from kmb.corpus.build import progress_line

    line = progress_line(1_000, 20_000, 14_000, 10.0)
    assert line == "  ... 1,000 / 20,000 documents (5%), 14,000 sentences, 100 documents/s, ETA 00:03:10"
    assert progress_line(0, 0, 0, 0.0).endswith(" 0.0 documents/s, ETA 00:00:00")  # nothing new: nothing left
    assert progress_line(0, 5, 0, 0.0).endswith(" 0.0 documents/s, ETA ?")  # no rate yet
    assert "0.5 documents/s" in progress_line(1, 6, 38, 2.0)  # a slow start still shows a rate


# --- bad input -----------------------------------------------------------------------------------
def test_no_raw_tables(workspace):
    with pytest.raises(KmbError, match="no raw document tables"):
        build_corpus(workspace, ONE_CORE)


def test_an_empty_table_alone_is_an_error_and_beside_others_is_fine(workspace):
    add_raw(workspace, "news", "empty", [])
    with pytest.raises(KmbError, match="hold no documents"):
        build_corpus(workspace, ONE_CORE)
    assert not list(workspace.root.glob(".corpus-build-*"))
    add_raw(workspace, "news", "part-1", [("a", "독감 예방접종은 매년 맞아야 한다.")])
    build_corpus(workspace, ONE_CORE)
    assert report(workspace)["documents"]["kept"] == 1


def test_null_empty_and_enormous_texts_are_counted_not_fatal(workspace):
    enormous = " ".join(f"환자 {i}번은 무사히 회복했다." for i in range(30_000))  # one line, ~500k chars
    add_raw(
        workspace,
        "news",
        "part-1",
        [
            ("null", None),
            ("empty", ""),
            ("blank", " \n\u200b\n "),
            ("boilerplate", "ⓒ 헬스조선, 무단전재 및 재배포 금지"),
            ("huge", enormous),
            ("garbage", "가나다라마바사 " * 1_000),
            ("ok", "독감 예방접종은 매년 맞아야 한다."),
        ],
    )
    # "huge" and "garbage" repeat themselves by construction: the document filters would drop them
    # before the splitter and the sentence filters this test is about.
    build_corpus(workspace, replace(ONE_CORE, document_filters=DocumentFilterConfig(enabled=False)))
    rep, docs = report(workspace), documents(workspace)
    assert rep["documents"]["dropped"]["empty_text"] == 4
    assert {docs[d]["dropped"] for d in ("null", "empty", "blank", "boilerplate")} == {"empty_text"}
    assert docs["huge"]["n_sentences"] == 30_000
    assert docs["garbage"]["dropped"] == "no_sentences"
    assert rep["splitting"]["too_long_pieces"] == 1
    assert docs["ok"]["dropped"] is None


def test_bad_options(workspace):
    add_raw(workspace, "news", "part-1", [("a", "독감 예방접종은 매년 맞아야 한다.")])
    with pytest.raises(KmbError, match="unknown --backend 'fast'"):
        build_corpus(workspace, BuildConfig(workers=1, backend="fast"))
    with pytest.raises(KmbError, match="--valid-ratio must be"):
        build_corpus(workspace, BuildConfig(workers=1, valid_ratio=1.5))
    with pytest.raises(KmbError, match="--near-threshold must be"):
        build_corpus(workspace, BuildConfig(workers=1, near_threshold=0))


def test_raw_table_without_text_column(workspace):
    import pyarrow as pa

    workspace.raw("news").mkdir(parents=True)
    pq.write_table(pa.table({"doc_id": ["a"], "body": ["본문"]}), workspace.raw("news") / "bad.parquet")
    with pytest.raises(KmbError, match="lacks column"):
        build_corpus(workspace, ONE_CORE)
    (workspace.raw("news") / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(KmbError, match="a Parquet file is damaged"):
        build_corpus(workspace, ONE_CORE)


def test_raw_documents_are_read_in_order_first_doc_id_wins(workspace):
    import pyarrow as pa

    folder = workspace.raw("news")
    folder.mkdir(parents=True)
    loose = pa.schema([f.with_nullable(True) for f in DOCUMENTS])  # tables not written by kmb may hold nulls

    def write(name, doc_ids, sources, texts, **options):
        table = pa.Table.from_pylist(
            [{"doc_id": d, "source": s, "text": t} for d, s, t in zip(doc_ids, sources, texts)], schema=loose
        )
        pq.write_table(table, folder / name, **options)

    write(
        "part-1.parquet",
        ["a", "a", None, "b"],
        ["naver_health", "naver_health", "news", None],
        ["첫 판의 문장이다. 둘째 문장이다.", "나중 판의 문장이다.", "아이디가 없는 문장이다.", "출처가 없는 문장이다."],
        row_group_size=1,
    )  # one row per Parquet row group: the stream crosses them
    write("part-2.parquet", ["a", "c"], ["news", "news"], ["셋째 판의 문장이다.", "새 문서의 문장이다."])
    build_corpus(workspace, ONE_CORE)
    docs = documents(workspace)
    assert set(docs) == {"a", "b", "c"} and report(workspace)["documents"]["read"] == 3
    by_doc = {}
    for row in sentences(workspace):
        by_doc.setdefault(row[0], []).append(row[3])
    assert sorted(by_doc["a"]) == ["둘째 문장이다.", "첫 판의 문장이다."]  # the first row with id "a"
    assert docs["a"]["source"] == "naver_health" and docs["b"]["source"] == "news"  # null source: the folder's


def test_raw_column_of_the_wrong_type_is_one_error(workspace):
    import pyarrow as pa

    workspace.raw("news").mkdir(parents=True)
    pq.write_table(pa.table({"doc_id": [[1, 2]], "text": ["본문이다."]}), workspace.raw("news") / "bad.parquet")
    with pytest.raises(KmbError, match="could not read the raw table") as error:
        build_corpus(workspace, ONE_CORE)
    assert "bad.parquet" in str(error.value)
    assert not list(workspace.root.glob(".corpus-build-*"))  # nothing half-built is left


def test_cli_error_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kmb.cli", "corpus", "build", "-w", str(tmp_path / "ws")], capture_output=True, text=True
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and "no raw document tables" in lines[0]


# --- real data -----------------------------------------------------------------------------------
def test_corpus_from_real_wikinews(workspace, shared_data):
    rows = []
    with open(shared_data / "wikinews" / "wikinews.csv", newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= 200:
                break
            rows.append((f"wikinews:{i}", row["내용"]))
    add_raw(workspace, "news", "wikinews", rows)
    build_corpus(workspace, ONE_CORE)
    rep = report(workspace)
    assert rep["documents"]["read"] == 200
    assert rep["totals"]["sentences"] > 1000
    assert rep["totals"]["valid"] > 0 and rep["totals"]["train"] > rep["totals"]["valid"]
    assert rep["splitting"]["fast_pieces"] > rep["splitting"]["kss_pieces"]
    texts = [r[3] for r in sentences(workspace)]
    assert all(t == t.strip() and "\n" not in t for t in texts)


# --- every numeric option, checked before anything is written -----------------------------------
@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--workers", "-1", "--workers must be >= 0"),
        ("--seed", "-3", "--seed must be >= 0"),
        ("--valid-ratio", "1.0", "--valid-ratio must be in [0, 1)"),
        ("--valid-ratio", "-0.1", "--valid-ratio must be in [0, 1)"),
        ("--near-threshold", "0", "--near-threshold must be in (0, 1]"),
        ("--near-threshold", "1.5", "--near-threshold must be in (0, 1]"),
        ("--min-chars", "-1", "--min-chars must be >= 0"),
        ("--max-chars", "0", "--max-chars must be >= 1"),
        ("--max-chars", "5", "--max-chars must be >= 1 and >= --min-chars (8)"),
        ("--min-hangul", "1.2", "--min-hangul must be in [0, 1]"),
        ("--min-hangul", "-0.5", "--min-hangul must be in [0, 1]"),
    ],
)
def test_cli_numeric_options_are_checked_before_anything_runs(tmp_path, run_kmb, option, value, message):
    ws = tmp_path / "ws"
    code, _, err = run_kmb("corpus", "build", "-w", ws, option, value)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmb: error: ") and message in lines[0], lines
    assert not ws.exists()  # nothing written, not even the workspace folders


@pytest.mark.parametrize(
    "options, message",
    [
        ({"num_perm": 0}, "num_perm must be >= 1"),
        ({"shingle_hash": "md5"}, "unknown shingle_hash 'md5'"),
        ({"max_piece_chars": 0}, "max_piece_chars must be >= 1"),
        ({"batch_docs": 0}, "batch_docs must be >= 1"),
        ({"duckdb_memory": "lots"}, "duckdb_memory must look like"),
    ],
)
def test_library_only_options_are_checked_too(options, message):
    with pytest.raises(KmbError, match=message):
        BuildConfig(**options)
