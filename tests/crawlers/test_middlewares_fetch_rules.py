"""What a crawl may fetch (issue 28, points 3 and 9): http(s) on the hosts the crawl targets only,
robots.txt read as RFC 9309 says, a disallowed link skipped rather than fatal, and a plain re-run
that does not record the same reject twice. Local servers on 127.0.0.1 only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from kmb.crawlers.middlewares import DISALLOW_ALL, robots_rules
from kmb.crawlers.options import fulltext_url_allowed
from kmb.crawlers.pdf_text import write_text_pdf
from kmb.demo.oai_server import serve_oai
from kmb.demo.replay_server import ReplayServer, site_root

MANIFEST = json.loads((site_root() / "manifest.json").read_text(encoding="utf-8"))
OPEN_RECORD = "ART002100107"  # open access in samples/kci/records.xml


def _kmb(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kmb", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def _summary(stdout: str) -> dict:
    return dict(re.findall(r"^  (\S.*?)\s{2,}(\S.*)$", stdout, re.M))


def _rows(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_robots_answers_read_as_rfc_9309():
    assert robots_rules(200, b"User-agent: *\nDisallow: /x\n") == b"User-agent: *\nDisallow: /x\n"
    assert robots_rules(404, b"<html>not found</html>") == b""  # no rules: allow all
    assert robots_rules(503, b"<html>busy</html>") == DISALLOW_ALL
    assert robots_rules(None, b"") == DISALLOW_ALL  # unreachable


def test_fulltext_urls_stay_on_the_web_and_the_endpoints_domain():
    endpoint = "https://open.kci.go.kr/oai/request"
    assert fulltext_url_allowed("https://www.kci.go.kr/kciportal/x.pdf", endpoint)
    assert fulltext_url_allowed("http://open.kci.go.kr/a.pdf", endpoint)
    assert not fulltext_url_allowed("file:///etc/passwd", endpoint)
    assert not fulltext_url_allowed("ftp://open.kci.go.kr/a.pdf", endpoint)
    assert not fulltext_url_allowed("http://169.254.169.254/latest/meta-data", endpoint)
    assert not fulltext_url_allowed("https://kci.go.kr.evil.example/a.pdf", endpoint)
    assert fulltext_url_allowed("https://journal.example.org/a.pdf", endpoint, ("example.org",))
    assert not fulltext_url_allowed("http://127.0.0.2:8000/a.pdf", "http://127.0.0.1:8000/oai")


def test_a_record_naming_a_local_file_is_refused_counted_and_not_recorded_twice(tmp_path):
    secret = write_text_pdf(tmp_path / "secret.pdf", [["SECRETMARKER 비밀 문서의 본문입니다."]])
    ws = tmp_path / "ws"
    with serve_oai(page_size=8) as (url, responder):
        responder.fulltext_urls[OPEN_RECORD] = secret.as_uri()
        runs = [
            _kmb(
                "crawl",
                "kci",
                "--endpoint",
                f"{url}/oai",
                "--delay",
                "0",
                "--fulltext",
                "--max-records",
                "3",
                "--workspace",
                ws,
            )
            for _ in range(2)
        ]  # the second a plain re-run, no --resume
    for result in runs:
        assert result.returncode == 0, result.stderr
    assert _summary(runs[0].stdout)["fulltext/refused url"] == "1"
    docs = {d["doc_id"]: d for d in _rows(ws / "raw" / "kci")}
    assert docs[f"kci:{OPEN_RECORD}"]["fulltext_chars"] == 0
    assert not any("SECRETMARKER" in (d["text"] or "") for d in docs.values())
    rejects = [r for r in _rows(ws / "raw" / "kci" / "rejects") if r["url"] == secret.as_uri()]
    assert len(rejects) == 1 and "refused" in rejects[0]["reason"]


def test_kci_robots_server_error_means_disallow_all(tmp_path):
    ws = tmp_path / "ws"
    with serve_oai(page_size=8) as (url, responder):
        responder.robots_status = 503
        result = _kmb("crawl", "kci", "--endpoint", f"{url}/oai", "--delay", "0", "--workspace", ws, timeout=180)
        fetched = [path for path, _params in responder.requests]
    assert result.returncode == 1
    assert "forbidden by robots.txt: 1" in result.stderr or "robots" in result.stderr
    assert fetched == [] and not _rows(ws / "raw" / "kci")


def test_naver_robots_server_error_stops_before_any_page(tmp_path):
    with ReplayServer(robots_status=503) as server:
        result = _kmb(
            "crawl",
            "naver-health",
            "--start",
            MANIFEST["start"],
            "--end",
            MANIFEST["start"],
            "--base-url",
            server.url,
            "--delay",
            "0",
            "--workspace",
            tmp_path / "ws",
        )
        hits = list(server.hits)
    assert result.returncode == 1 and "robots.txt" in result.stderr
    assert hits == ["/robots.txt"]


def test_a_disallowed_article_is_skipped_and_counted_not_fatal(tmp_path):
    blocked = MANIFEST["articles"][0]
    oid, aid = blocked.split(":")[1:]
    robots = f"User-agent: *\nDisallow: /*aid={aid}\nDisallow: /*/{oid}/{aid}\n".encode()  # old and new link forms
    ws = tmp_path / "ws"
    with ReplayServer(robots_txt=robots) as server:
        result = _kmb(
            "crawl",
            "naver-health",
            "--start",
            MANIFEST["start"],
            "--end",
            MANIFEST["end"],
            "--base-url",
            server.url,
            "--delay",
            "0",
            "--workspace",
            ws,
        )
    assert result.returncode == 0, result.stderr
    stored = {r["doc_id"] for r in _rows(ws / "raw" / "naver_health")}
    assert blocked not in stored and stored == set(MANIFEST["articles"]) - {blocked}
    assert int(_summary(result.stdout)["robots-blocked"]) >= 1
