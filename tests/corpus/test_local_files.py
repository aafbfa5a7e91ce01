"""`kmb corpus add`: every format and encoding, stable doc_ids, rejects, no partial tables."""

import codecs
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from kmb.corpus.local_files import AddOptions, add_paths
from kmb.crawlers.pdf_text import write_text_pdf
from kmb.errors import KmbError

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "textbooks"

BOOK = "제1장 빈혈\n빈혈은 혈액 속 혈색소가 정상보다 낮은 상태이다.\n철결핍빈혈이 가장 흔하다."


def rows(ws, source):
    parts = sorted(ws.raw(source).glob("*.parquet"))
    return [r for p in parts for r in pq.read_table(p).to_pylist()]


@pytest.mark.parametrize(
    "raw, encoding",
    [
        (BOOK.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + BOOK.encode("utf-8"), "utf-8-sig"),
        (BOOK.encode("cp949"), "euc-kr"),
        (BOOK.replace("\n", "\r\n").encode("utf-16"), "utf-16-le"),
    ],
    ids=["utf8", "utf8-bom", "cp949", "utf16-bom-crlf"],
)
def test_txt_in_each_encoding(workspace, tmp_path, raw, encoding):
    path = tmp_path / "book.txt"
    path.write_bytes(raw)
    summary = add_paths(workspace, [path], AddOptions(source="textbook"))
    assert (summary.added, summary.rejected) == (1, [])
    [row] = rows(workspace, "textbook")
    assert row["text"] == BOOK
    assert row["encoding"] == encoding
    assert row["doc_id"].startswith("textbook:") and row["format"] == "txt" and row["language"] == "ko"
    assert row["title"] == "book" and row["record"] == 0


def test_bundled_textbook_samples_and_idempotent_readd(workspace):
    first = add_paths(workspace, [SAMPLES], AddOptions(source="textbook"))
    assert first.added == 6 and first.rejected == [] and first.ignored == 1  # README.md is ignored
    encodings = {Path(r["path"]).name: r["encoding"] for r in rows(workspace, "textbook")}
    assert encodings["02_diabetes.txt"] == "euc-kr"
    assert encodings["04_respiratory.txt"] == "utf-16-le"
    assert encodings["06_vaccination.txt"] == "utf-8-sig"
    texts = {Path(r["path"]).name: r["text"] for r in rows(workspace, "textbook")}
    assert "인슐린은 췌장의 베타세포에서 분비되어" in texts["02_diabetes.txt"]
    assert texts["04_respiratory.txt"].startswith("제4장 호흡기 질환\n천식\n")
    ids = sorted(r["doc_id"] for r in rows(workspace, "textbook"))
    again = add_paths(workspace, [SAMPLES], AddOptions(source="textbook"))
    assert (again.added, again.unchanged) == (0, 6)
    assert sorted(r["doc_id"] for r in rows(workspace, "textbook")) == ids
    assert len(list(workspace.raw("textbook").glob("*.parquet"))) == 1  # nothing new written


def test_edited_file_comes_in_as_new_document(workspace, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(BOOK, encoding="utf-8")
    add_paths(workspace, [path], AddOptions(source="other"))
    path.write_text(BOOK + "\n철분제를 복용한다.", encoding="utf-8")
    assert add_paths(workspace, [path], AddOptions(source="other")).added == 1


def test_jats_keeps_korean_parts(workspace, tmp_path):
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink" xml:lang="ko">
 <front><article-meta>
  <title-group><article-title>천식 환자의 흡입기 사용</article-title>
   <trans-title-group xml:lang="en"><trans-title>Inhaler use in asthma</trans-title></trans-title-group></title-group>
  <abstract><p>흡입기 사용 기술을 평가하였다.</p></abstract>
  <trans-abstract xml:lang="en"><p>We assessed inhaler technique.</p></trans-abstract>
 </article-meta></front>
 <body><sec><title>서론</title><p>천식은 <italic>만성</italic> 기도 질환이다.</p>
  <p xml:lang="en">This paragraph is English.</p></sec></body>
 <back><ref-list><ref><mixed-citation>김. 천식. 2019.</mixed-citation></ref></ref-list></back>
</article>"""
    path = tmp_path / "article.xml"
    path.write_text(xml, encoding="utf-8")
    add_paths(workspace, [path], AddOptions(source="article"))
    [row] = rows(workspace, "article")
    assert row["title"] == "천식 환자의 흡입기 사용"
    assert row["text"] == "흡입기 사용 기술을 평가하였다.\n천식은 만성 기도 질환이다."
    assert row["format"] == "jats"


def test_jsonl_and_csv_records_with_named_column(workspace, tmp_path):
    jsonl = tmp_path / "news.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps({"제목": f"기사 {i}", "본문": f"독감 예방접종 {i}번째 기사이다."}, ensure_ascii=False)
            for i in range(3)
        )
        + "\n",
        encoding="utf-8",
    )
    csv_path = tmp_path / "news.csv"
    csv_path.write_bytes(
        '본문,제목\n"여러 줄의\n기사 본문이다.",첫 기사\n,빈 기사\n두 번째 기사이다.,둘째\n'.encode("cp949")
    )
    options = AddOptions(source="news", text_column="본문", title_column="제목")
    summary = add_paths(workspace, [jsonl, csv_path], options)
    assert summary.added == 5 and summary.rejected == []  # the empty CSV record is not a document
    got = {(Path(r["path"]).name, r["record"]): (r["title"], r["text"], r["encoding"]) for r in rows(workspace, "news")}
    assert got[("news.jsonl", 2)] == ("기사 1", "독감 예방접종 1번째 기사이다.", "utf-8")
    assert got[("news.csv", 1)] == ("첫 기사", "여러 줄의\n기사 본문이다.", "euc-kr")
    assert ("news.csv", 3) in got and ("news.csv", 2) not in got
    assert add_paths(workspace, [tmp_path], options).unchanged == 5


def test_pdf_is_added_without_header_footer_and_references(workspace, tmp_path):
    pages = [
        ["빈혈은 혈색소가 낮은 상태이다.", "철결핍빈혈은 가장 흔한 빈혈이며"],
        ["철분제로 치료한다.", "참고문헌", "1. 김. 빈혈 연구. 2019."],
    ]
    write_text_pdf(tmp_path / "anemia.pdf", pages, header="대한혈액학 교과서")
    add_paths(workspace, [tmp_path / "anemia.pdf"], AddOptions(source="textbook"))
    [row] = rows(workspace, "textbook")
    assert row["text"] == "빈혈은 혈색소가 낮은 상태이다.\n철결핍빈혈은 가장 흔한 빈혈이며 철분제로 치료한다."
    assert row["format"] == "pdf" and row["encoding"] is None


def test_bad_files_are_rejected_whole_and_recorded(workspace, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(BOOK, encoding="utf-8")
    (tmp_path / "sjis.txt").write_bytes("高血圧の治療。".encode("shift_jis") * 10)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\nthis is not really a pdf\n")
    (tmp_path / "feed.xml").write_text("<rss><channel/></rss>", encoding="utf-8")
    (tmp_path / "half.jsonl").write_text('{"text": "첫 줄은 좋다."}\n{"text": 깨진 줄\n', encoding="utf-8")
    (tmp_path / "nocol.csv").write_text("body\n내용이다.\n", encoding="utf-8")
    summary = add_paths(workspace, [tmp_path], AddOptions(source="other"))
    assert summary.added == 1
    reasons = {Path(f).name: r for f, r in summary.rejected}
    assert set(reasons) == {"sjis.txt", "broken.pdf", "feed.xml", "half.jsonl", "nocol.csv"}
    assert "CP949" in reasons["sjis.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "<rss>" in reasons["feed.xml"]
    assert "line 2" in reasons["half.jsonl"]
    assert "'text'" in reasons["nocol.csv"]
    assert [r["text"] for r in rows(workspace, "other")] == [BOOK]  # nothing from half.jsonl
    con = duckdb.connect(str(workspace.duckdb_path))
    assert con.execute("select count(*) from rejects").fetchone()[0] == 5


def test_cli_one_clear_line_and_exit_1_when_nothing_usable(tmp_path, run_kmb):
    run = run_kmb
    bad = tmp_path / "unknown.txt"
    bad.write_bytes("高血圧の治療。".encode("shift_jis") * 10)
    ws = tmp_path / "ws"
    code, _, err = run("corpus", "add", bad, "--source", "textbook", "--workspace", ws)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kmb: error: {bad}: not UTF-8")
    assert not list((ws / "raw" / "textbook").glob("*.parquet"))  # no partial table
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4 truncated")
    code, _, err = run("corpus", "add", corrupt, bad, "--workspace", ws)
    assert code == 1 and err.strip().splitlines()[-1].startswith(
        "kmb: error: nothing could be used: all 2 files were rejected"
    )
    code, out, _ = run("corpus", "add", SAMPLES, "--source", "textbook", "--workspace", ws)
    assert code == 0 and "added" in out


def test_doc_ids_do_not_depend_on_where_the_files_are(tmp_path):
    # Two checkouts (or two machines) of the same files must give the same ids, hence the same split.
    from kmb.workspace import Workspace

    ids = []
    for place in ("checkout-a/deep/folder", "checkout-b"):
        folder = tmp_path / place / "textbooks"
        folder.mkdir(parents=True)
        (folder / "01.txt").write_text("고혈압은 흔한 만성 질환이다.\n", encoding="utf-8")
        ws = Workspace.open(tmp_path / f"ws-{len(ids)}")
        add_paths(ws, [folder], AddOptions(source="textbook"))
        table = pq.read_table(next(ws.raw("textbook").glob("*.parquet")), columns=["doc_id"])
        ids.append(table.column("doc_id").to_pylist())
    assert ids[0] == ids[1] and len(ids[0]) == 1


def test_a_lone_rejected_file_is_the_error_itself():
    from kmb.corpus.local_files import AddSummary

    lone = AddSummary(source="textbook", files=1, rejected=[("a.txt", "not UTF-8")])
    assert lone.skipped_lines() == []
    with pytest.raises(KmbError) as caught:
        lone.raise_if_nothing_used()
    assert str(caught.value) == "a.txt: not UTF-8"


def test_several_rejected_files_are_listed_then_summed_up():
    from kmb.corpus.local_files import AddSummary

    many = AddSummary(source="other", files=2, rejected=[("a.txt", "bad"), ("b.pdf", "worse")])
    assert many.skipped_lines() == ["kmb: skipped: a.txt: bad", "kmb: skipped: b.pdf: worse"]
    with pytest.raises(KmbError, match=r"^nothing could be used: all 2 files were rejected .*raw/other/rejects/"):
        many.raise_if_nothing_used()


def test_a_rejected_file_beside_used_ones_is_only_skipped():
    from kmb.corpus.local_files import AddSummary

    some = AddSummary(source="other", files=2, added=1, rejected=[("a.txt", "bad")])
    assert some.skipped_lines() == ["kmb: skipped: a.txt: bad"]
    some.raise_if_nothing_used()
    AddSummary(source="other", files=1, added=1).raise_if_nothing_used()
