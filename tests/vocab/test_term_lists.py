"""`kmb terms import` / `terms list`: formats, normalisation, merging, idempotence, real KCD."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kmb.errors import KmbError
from kmb.vocab.term_lists import import_terms, list_terms, normalise_entry

REPO = Path(__file__).resolve().parents[2]


def table(ws):
    return {r["term"]: r for r in pq.read_table(ws.terms / "terms.parquet").to_pylist()}


def test_normalise_entry_rules():
    entries, dropped = normalise_entry("풍열범폐증(風熱犯肺證)", "")
    assert [(e.term, e.gloss) for e in entries] == [("풍열범폐증", "風熱犯肺證")]
    entries, _ = normalise_entry("치아의 박리(완전탈구)", "")  # a Korean parenthesis is part of the name
    assert entries[0].term == "치아의 박리(완전탈구)" and entries[0].gloss is None
    entries, dropped = normalise_entry(" 심근경색 ;  심근경색증 ; ; MRI ; 아세트아미노펜 (acetaminophen)", ";")
    assert [(e.term, e.gloss) for e in entries] == [
        ("심근경색", None),
        ("심근경색증", None),
        ("아세트아미노펜", "acetaminophen"),
    ]
    assert dropped == {"empty": 1, "no Korean": 1}
    decomposed = "고혈압".encode().decode("utf-8")
    import unicodedata

    entries, _ = normalise_entry(unicodedata.normalize("NFD", decomposed), "")
    assert entries[0].term == "고혈압" and unicodedata.is_normalized("NFC", entries[0].term)


def test_each_format_and_merge_with_overlap(workspace, tmp_path):
    csv_path = tmp_path / "kamje.csv"
    csv_path.write_bytes('용어,영문,분류\n고혈압,hypertension,순환기\n"당뇨병, 당뇨",diabetes,내분비\n'.encode("cp949"))
    tsv_path = tmp_path / "mfds.tsv"
    tsv_path.write_text("성분명\t영문성분명\n아세트아미노펜\tacetaminophen\n인슐린\tinsulin\n", encoding="utf-8-sig")
    txt_path = tmp_path / "mine.txt"
    txt_path.write_text("고혈압\n\n인슐린 저항성\nHbA1c\n", encoding="utf-16")
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["term", "english"])
    book.active.append(["심근경색(心筋梗塞)", "myocardial infarction"])
    book.active.append(["인슐린", None])
    book.save(tmp_path / "extra.xlsx")

    s = import_terms(workspace, csv_path, "kamje")
    assert (s.column, s.kept, s.new_terms) == ("용어", 3, 3)
    s = import_terms(workspace, tsv_path, "mfds")
    assert s.column == "성분명" and s.kept == 2
    s = import_terms(workspace, txt_path, "custom")
    assert (s.kept, s.also_in_other_sources, s.dropped["empty"], s.dropped["no Korean"]) == (2, 1, 1, 1)
    s = import_terms(workspace, tmp_path / "extra.xlsx", "custom")
    assert s.kept == 2 and s.also_in_other_sources == 1
    t = table(workspace)
    assert t["고혈압"]["sources"] == ["custom", "kamje"] and t["고혈압"]["first_file"] == "kamje.csv"
    assert t["고혈압"]["english"] == "hypertension" and t["고혈압"]["category"] == "순환기"
    assert t["당뇨"]["sources"] == ["kamje"]  # the synonym cell was split
    assert t["인슐린"]["sources"] == ["custom", "mfds"]
    assert t["심근경색"]["gloss"] == "心筋梗塞"
    assert s.per_source == {"custom": 4, "kamje": 3, "mfds": 2} and s.overlapping == 2
    before = (workspace.terms / "terms.parquet").read_bytes()
    again = import_terms(workspace, csv_path, "kamje")
    assert again.new_terms == 0 and table(workspace) == t  # idempotent
    rows, counts = list_terms(workspace, source="mfds")
    assert [r["term"] for r in rows] == ["아세트아미노펜", "인슐린"]
    assert counts["terms"] == 7 and counts["in several sources"] == 2
    assert before  # the earlier file existed and was replaced atomically


def test_missing_column_and_no_terms_leave_table_untouched(workspace, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("고혈압\n", encoding="utf-8")
    import_terms(workspace, good, "custom")
    before = (workspace.terms / "terms.parquet").read_bytes()
    bad = tmp_path / "bad.tsv"
    bad.write_text("code\tname\nA00\t콜레라\n", encoding="utf-8")
    with pytest.raises(KmbError, match=r"bad.tsv:1: no term column named '용어'; the header has: code, name"):
        import_terms(workspace, bad, "custom", column="용어")
    english = tmp_path / "english.txt"
    english.write_text("MRI\nCT\n", encoding="utf-8")
    with pytest.raises(KmbError, match="no Korean terms"):
        import_terms(workspace, english, "custom")
    assert (workspace.terms / "terms.parquet").read_bytes() == before


def test_real_kcd_list(workspace, shared_data):
    kcd = shared_data / "kcd" / "kcd_book.tsv"
    s = import_terms(workspace, kcd, "kcd")
    assert s.rows == 22551 and s.column == "ko"
    assert 20000 < s.kept <= 22551
    t = table(workspace)
    assert (
        t["풍열범폐증"]["gloss"] == "風熱犯肺證"
        and t["풍열범폐증"]["english"] == "Pattern of wind-heat invading the lung"
    )
    assert t["콜레라"]["category"] == "A00"
    # KCD names keep their commas: no synonym splitting for this source.
    assert "세균학적 및 조직학적으로 확인된 후두, 기관 및 기관지의 결핵" in t
    assert import_terms(workspace, kcd, "kcd").new_terms == 0
    sample = import_terms(workspace, REPO / "samples" / "terms" / "medical_terms.tsv", "custom")
    assert sample.also_in_other_sources > 10  # 고혈압, 천식, 폐렴 ... are in KCD too


def test_cli_import_list_and_error_line(tmp_path, run_kmb):
    ws = ["--workspace", tmp_path / "ws"]
    sample = REPO / "samples" / "terms" / "medical_terms.tsv"
    code, out, _ = run_kmb("terms", "import", sample, "--source", "custom", *ws)
    assert code == 0 and "terms kept" in out
    code, out, _ = run_kmb("terms", "list", "--contains", "인슐린", "--limit", "3", *ws)
    assert code == 0 and out.startswith("기저 인슐린\tcustom\tbasal insulin")
    code, _, err = run_kmb("terms", "import", sample, "--column", "한글", *ws)
    assert code == 1
    assert err.strip().splitlines() == [
        f"kmb: error: {sample}:1: no term column named '한글'; the header has: term, english, category"
    ]
