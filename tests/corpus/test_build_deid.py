"""De-identification in the corpus: clinical notes lose their identifiers before any other step."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq

from kmb.deid.synthetic_notes import make_notes

NOTES = list(make_notes(40, seed=21))


def write_notes(tmp_path, notes=NOTES):
    path = tmp_path / "notes.jsonl"
    path.write_text(
        "".join(
            json.dumps({"note_id": f"N{i:03d}", "text": n["text"]}, ensure_ascii=False) + "\n"
            for i, n in enumerate(notes)
        ),
        encoding="utf-8",
    )
    return path


def identifier_values(notes=NOTES) -> set[str]:
    return {n["text"][s["start"] : s["end"]] for n in notes for s in n["phi"] if s["end"] - s["start"] >= 3}


def all_text(folder) -> str:
    return "\n".join(
        json.dumps(pq.read_table(p).to_pylist(), ensure_ascii=False, default=str)
        for p in sorted(folder.rglob("*.parquet"))
    )


def test_clinical_notes_are_deidentified_by_every_build(tmp_path, run_kmb):
    ws = tmp_path / "ws"
    code, _, stderr = run_kmb(
        "corpus", "add", write_notes(tmp_path), "--source", "clinical", "--id-column", "note_id", "--workspace", ws
    )
    assert code == 0, stderr
    ids = duckdb.sql(f"select doc_id from read_parquet('{ws}/raw/clinical/*.parquet') order by doc_id").fetchall()
    assert ids[0] == ("clinical:N000",) and len(ids) == len(NOTES)
    code, stdout, stderr = run_kmb("corpus", "build", "--workspace", ws, "--workers", "1", "--min-hangul", "0.2")
    assert code == 0, stderr
    corpus_text = all_text(ws / "corpus")
    leaked = [v for v in identifier_values() if v in corpus_text]
    assert leaked == []
    assert "[NAME]" in corpus_text and "[PHONE]" in corpus_text
    report = json.loads((ws / "corpus" / "report.json").read_text(encoding="utf-8"))
    deid = report["deidentification"]
    assert deid["documents"] == len(NOTES) and deid["identifiers"]["NAME"] > 0 and deid["identifiers"]["RRN"] > 0
    assert "deidentify" in report["seconds_per_step"]
    assert "de-identified" in stdout and f"{len(NOTES)} documents" in stdout
    assert not any(v in stdout + stderr for v in identifier_values())
    code, _, stderr = run_kmb("terms", "count", "--workspace", ws)  # nothing to count is fine; no identifier either
    assert not any(v in stderr for v in identifier_values())


def test_turning_it_off_for_clinical_notes_needs_an_option_and_warns(tmp_path, run_kmb):
    ws = tmp_path / "ws"
    run_kmb("corpus", "add", write_notes(tmp_path), "--source", "clinical", "--workspace", ws)
    code, _, stderr = run_kmb(
        "corpus", "build", "--workspace", ws, "--workers", "1", "--min-hangul", "0.2", "--keep-clinical-identifiers"
    )
    assert code == 0 and "warning: clinical notes are NOT de-identified" in stderr
    assert any(v in all_text(ws / "corpus") for v in identifier_values())


def test_other_sources_only_with_deidentify(tmp_path, run_kmb):
    ws = tmp_path / "ws"
    run_kmb("corpus", "add", write_notes(tmp_path), "--source", "other", "--workspace", ws)
    code, _, stderr = run_kmb("corpus", "build", "--workspace", ws, "--workers", "1", "--min-hangul", "0.2")
    assert code == 0 and any(v in all_text(ws / "corpus") for v in identifier_values())
    code, _, stderr = run_kmb(
        "corpus", "build", "--workspace", ws, "--workers", "1", "--min-hangul", "0.2", "--rebuild", "--deidentify"
    )
    assert code == 0, stderr
    assert not any(v in all_text(ws / "corpus") for v in identifier_values())


def test_deidentify_at_import_keeps_identifiers_out_of_raw(tmp_path, run_kmb):
    ws = tmp_path / "ws"
    code, stdout, stderr = run_kmb(
        "corpus", "add", write_notes(tmp_path), "--source", "clinical", "--deidentify", "--workspace", ws
    )
    assert code == 0, stderr
    assert not any(v in all_text(ws / "raw") for v in identifier_values())
    assert "identifiers removed" in stdout and "NAME" in stdout


def test_an_id_column_missing_or_repeated_rejects_the_file(tmp_path, run_kmb):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"note_id": "A", "text": "가나다"}\n{"note_id": "A", "text": "라마바"}\n', encoding="utf-8")
    code, _, stderr = run_kmb(
        "corpus", "add", path, "--source", "clinical", "--id-column", "note_id", "--workspace", tmp_path / "ws"
    )
    assert code == 1 and "repeats an earlier record" in stderr and len(stderr.strip().splitlines()) == 1
    path.write_text('{"text": "가나다"}\n', encoding="utf-8")
    code, _, stderr = run_kmb(
        "corpus", "add", path, "--source", "clinical", "--id-column", "note_id", "--workspace", tmp_path / "ws"
    )
    assert code == 1 and "no id in column 'note_id'" in stderr


def test_the_workspace_terms_are_never_taken_for_names(tmp_path, run_kmb):
    # "황반" (macula) looks like a surname and a given name before 환자; as an imported term it stays.
    sentence = "황반 환자로 안저 검사를 시행하였고 특이 소견은 관찰되지 않았으며 다음 외래에서 재검하기로 함."
    notes = [*NOTES[:5], {"text": sentence, "phi": []}]
    ws = tmp_path / "ws"
    run_kmb("corpus", "add", write_notes(tmp_path, notes), "--source", "clinical", "--workspace", ws)
    build = ("corpus", "build", "--workspace", ws, "--workers", "1", "--min-hangul", "0.2", "--rebuild")
    code, _, stderr = run_kmb(*build)
    assert code == 0, stderr
    assert "[NAME] 환자로 안저" in all_text(ws / "corpus")
    terms = tmp_path / "terms.txt"
    terms.write_text("황반\n황반변성\n망막중심정맥폐쇄증\n", encoding="utf-8")
    code, _, stderr = run_kmb("terms", "import", terms, "--source", "custom", "--workspace", ws)
    assert code == 0, stderr
    code, _, stderr = run_kmb(*build)
    assert code == 0, stderr
    corpus_text = all_text(ws / "corpus")
    assert "황반 환자로 안저" in corpus_text and "[NAME]" in corpus_text
    assert not [v for v in identifier_values(NOTES[:5]) if v in corpus_text]
    report = json.loads((ws / "corpus" / "report.json").read_text(encoding="utf-8"))
    assert report["deidentification"]["terms_as_not_names"] == 2  # the terms a name could equal


def test_workspace_not_names_reads_the_terms_table_or_nothing(tmp_path):
    from kmb.corpus.build_steps import workspace_not_names
    from kmb.storage import TERMS, write_rows

    assert workspace_not_names(tmp_path / "terms") == frozenset()
    (tmp_path / "terms").mkdir()
    rows = [{"term": t, "sources": ["custom"]} for t in ("황반", "조영", "망막중심정맥폐쇄증")]
    write_rows(tmp_path / "terms" / "terms.parquet", rows, TERMS)
    assert workspace_not_names(tmp_path / "terms") == {"황반", "조영"}


def test_add_with_deidentify_also_keeps_the_workspace_terms(tmp_path, run_kmb):
    # kmb corpus add --deidentify uses the same not-names as the build: an imported term stays in raw/.
    sentence = "황반 환자로 안저 검사를 시행하였고 특이 소견은 관찰되지 않았으며 다음 외래에서 재검하기로 함."
    ws = tmp_path / "ws"
    terms = tmp_path / "terms.txt"
    terms.write_text("황반\n", encoding="utf-8")
    before = tmp_path / "before"
    before.mkdir()
    add = ("corpus", "add", write_notes(before, [{"text": sentence, "phi": []}]), "--source", "clinical")
    code, _, stderr = run_kmb(*add, "--deidentify", "--workspace", tmp_path / "plain")
    assert code == 0, stderr
    assert "[NAME] 환자로" in all_text(tmp_path / "plain" / "raw")
    code, _, stderr = run_kmb("terms", "import", terms, "--source", "custom", "--workspace", ws)
    assert code == 0, stderr
    code, _, stderr = run_kmb(*add, "--deidentify", "--workspace", ws)
    assert code == 0, stderr
    assert "황반 환자로" in all_text(ws / "raw") and "[NAME]" not in all_text(ws / "raw")
