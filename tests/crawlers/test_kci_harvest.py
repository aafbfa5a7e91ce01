"""`kmb crawl kci` (kmb.crawlers.kci_harvest) end to end against our OAI-PMH responder on 127.0.0.1 (in subprocesses:
Scrapy's reactor runs once per process)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from kmb.demo.oai_server import serve_oai

REPO = Path(__file__).resolve().parents[2]
KOREAN_MEDICAL = 22  # records in samples/kci that should be kept


@pytest.fixture
def oai():
    with serve_oai(page_size=8) as (url, responder):
        yield url, responder


def crawl(ws, endpoint, *args):
    cmd = [
        sys.executable,
        "-m",
        "kmb",
        "crawl",
        "kci",
        "--endpoint",
        endpoint,
        "--delay",
        "0",
        "--workspace",
        str(ws),
        *map(str, args),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


HARVEST = """
import sys
from kmb.errors import KmbError
from kmb.workspace import Workspace
from kmb.crawlers.kci_harvest import harvest
from kmb.crawlers.options import HarvestOptions
try:
    harvest(Workspace.open(sys.argv[1]), HarvestOptions(endpoint=sys.argv[2], from_date=sys.argv[3], delay=0))
except KmbError as exc:
    sys.exit(f"kmb: error: {exc}")
"""


def harvest_directly(ws, endpoint, from_date):
    """kci_harvest.harvest() with options the CLI would refuse, in a subprocess (Scrapy's reactor)."""
    return subprocess.run(
        [sys.executable, "-c", HARVEST, str(ws), endpoint, from_date], capture_output=True, text=True, timeout=120
    )


def summary(stdout: str) -> dict:
    """The `key  value` lines of the end-of-command summary."""
    return dict(re.findall(r"^  (\S.*?)\s{2,}(\S.*)$", stdout, re.M))


def stored(ws):
    return [r for p in sorted((ws / "raw" / "kci").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_harvest_pages_filters_and_idempotent_rerun(tmp_path, oai):
    url, responder = oai
    ws = tmp_path / "ws"
    result = crawl(ws, f"{url}/oai")
    assert result.returncode == 0, result.stderr
    docs = stored(ws)
    assert len(docs) == KOREAN_MEDICAL == len({d["doc_id"] for d in docs})
    got = summary(result.stdout)
    for key in (
        "skipped/deleted",
        "skipped/not Korean",
        "skipped/no Korean abstract",
        "skipped/journal not selected",
        "skipped/outside years",
    ):
        assert got[key] == "1"
    assert got["pages"] == "4" and got["stored"] == "22" and got["complete"] == "yes"
    tokens = [p for _, p in responder.requests if "resumptionToken" in p]
    assert len(tokens) == 3  # 27 records, 8 per page
    doc = next(d for d in docs if d["doc_id"] == "kci:ART002100107")
    assert doc["title"].startswith("제2형 당뇨병") and doc["journal"] == "대한임상내과학회지" and doc["year"] == 2012
    assert doc["metadata_format"] == "oai_kci" and doc["open_access"] is True and doc["language"] == "ko"
    assert doc["abstract_en"] and doc["title_en"].startswith("Timing")
    con = duckdb.connect(str(ws / "kmb.duckdb"))
    assert con.execute("select count(*) from documents where source = 'kci'").fetchone()[0] == KOREAN_MEDICAL
    con.close()
    again = crawl(ws, f"{url}/oai")
    assert again.returncode == 0 and len(stored(ws)) == KOREAN_MEDICAL  # nothing stored twice

    # The demo: our textbook samples and term list join the harvest in the same DuckDB views.
    from kmb.corpus.local_files import AddOptions, add_paths
    from kmb.vocab.term_lists import import_terms
    from kmb.workspace import Workspace

    workspace = Workspace.open(ws)
    add_paths(workspace, [REPO / "samples" / "textbooks"], AddOptions(source="textbook"))
    import_terms(workspace, REPO / "samples" / "terms" / "medical_terms.tsv", "custom")
    con = duckdb.connect(str(ws / "kmb.duckdb"), read_only=True)
    by_source = dict(con.execute("select source, count(*) from documents group by source").fetchall())
    assert by_source == {"kci": KOREAN_MEDICAL, "textbook": 6}
    in_both = con.execute(
        "select count(distinct term) from terms, documents where documents.text like '%' || terms.term || '%' "
        "and documents.source = 'kci'"
    ).fetchone()[0]
    assert in_both > 30  # the sample terms occur in the sample abstracts


def test_oai_dc_fallback_journal_file_years_and_max_records(tmp_path, oai):
    url, _ = oai
    journals = tmp_path / "journals.txt"
    journals.write_text("# 간호 and 약학\n1975-0002\n한국약물치료학회지\n", encoding="utf-8")
    ws = tmp_path / "ws"
    result = crawl(ws, f"{url}/oai-dc-only", "--journals", journals, "--years", "2010-2015")
    assert result.returncode == 0, result.stderr
    docs = stored(ws)
    assert {d["metadata_format"] for d in docs} == {"oai_dc"}
    assert {d["journal"] for d in docs} == {"한국간호연구학회지", "한국약물치료학회지"}
    assert all(2010 <= d["year"] <= 2015 for d in docs) and len(docs) == 6
    limited = crawl(tmp_path / "ws2", f"{url}/oai", "--max-records", "5")
    assert limited.returncode == 0 and len(stored(tmp_path / "ws2")) == 5


def test_expired_token_restarts_cleanly(tmp_path, oai):
    url, responder = oai
    ws = tmp_path / "ws"
    result = crawl(ws, f"{url}/oai-expiring")
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)["token_restarts"] == "1"
    docs = stored(ws)
    assert len(docs) == KOREAN_MEDICAL == len({d["doc_id"] for d in docs})


def test_not_oai_and_protocol_errors_exit_1_with_one_line(tmp_path, oai):
    url, _ = oai
    result = crawl(tmp_path / "ws", f"{url}/rss")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"kmb: error: {url}/rss?verb=ListRecords")
    assert "not an OAI-PMH response: the root element is <rss>" in result.stderr
    [reject] = [
        r for p in (tmp_path / "ws" / "raw" / "kci" / "rejects").glob("*.parquet") for r in pq.read_table(p).to_pylist()
    ]
    assert reject["url"].startswith(f"{url}/rss?") and reject["status"] == 200 and "<rss>" in reject["reason"]
    # The server's badArgument, reached through the library: `kmb crawl kci --from last-week` is now
    # refused before any request (test_options.py), so the protocol error is asked for directly.
    result = harvest_directly(tmp_path / "ws", f"{url}/oai", from_date="last-week")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("OAI-PMH error badArgument: from='last-week' is not a UTCdatetime (0 documents stored before it)")
    )
    assert not stored(tmp_path / "ws")
    result = crawl(tmp_path / "ws", f"{url}/no-such-endpoint")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"kmb: error: {url}/no-such-endpoint: no OAI-PMH response could be fetched "
        "(HTTP error responses: 1, download errors: 0, forbidden by robots.txt: 0)"
    ]


def test_resume_after_sigkill(tmp_path):
    with serve_oai(page_size=2) as (url, responder):
        ws = tmp_path / "ws"
        cmd = [
            sys.executable,
            "-m",
            "kmb",
            "crawl",
            "kci",
            "--endpoint",
            f"{url}/oai",
            "--delay",
            "0.4",
            "--checkpoint-every",
            "1",
            "--workspace",
            str(ws),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = ws / "crawl" / "kci" / "state.json"
        deadline = time.time() + 60
        try:
            while time.time() < deadline:
                if state.exists() and len(stored(ws)) >= 4:
                    break
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        before = len(stored(ws))
        assert 4 <= before < KOREAN_MEDICAL
        saved = json.loads(state.read_text())
        assert saved["next_token"]
        requests_before = len(responder.requests)

        result = crawl(ws, f"{url}/oai", "--resume", "--checkpoint-every", "1")
        assert result.returncode == 0, result.stderr
        assert summary(result.stdout)["resumed"] == "yes"
        resumed = [p for _, p in responder.requests[requests_before:]]
        assert resumed[0] == {"verb": "ListRecords", "resumptionToken": saved["next_token"]}  # not from the start
        docs = stored(ws)
        assert len(docs) == KOREAN_MEDICAL == len({d["doc_id"] for d in docs})


def test_fulltext_pdf_of_open_records(tmp_path, oai):
    url, _ = oai
    ws = tmp_path / "ws"
    result = crawl(ws, f"{url}/oai", "--fulltext", "--max-records", "3")
    assert result.returncode == 0, result.stderr
    docs = {d["doc_id"]: d for d in stored(ws)}
    assert len(docs) == 3 and summary(result.stdout)["fulltext/pdf"] == "2"
    opened = docs["kci:ART002100107"]  # open access: abstract, then the PDF's body
    assert opened["open_access"] and opened["fulltext_chars"] > 100
    abstract, body = opened["text"].split("\n", 1)
    assert abstract.startswith("제2형 당뇨병 환자에서") and "본 연구는 단일 기관 자료를 사용하였다." in body
    assert "0.8% 더 낮게" in body
    assert "참고문헌" not in body and "홍길동" not in body and "대한임상내과학회지" not in body and "- 1 -" not in body
    closed = docs["kci:ART002100114"]
    assert closed["open_access"] is False and closed["fulltext_chars"] == 0 and "\n" not in closed["text"]
