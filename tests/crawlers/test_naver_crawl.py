"""End to end: the real spider crawls the replay site on 127.0.0.1, in a subprocess each time
(Scrapy's reactor starts once per process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kmb.demo.replay_server import ReplayServer, site_root

MANIFEST = json.loads((site_root() / "manifest.json").read_text(encoding="utf-8"))
REPO = Path(__file__).resolve().parents[2]


def _command(server_url: str, workspace: Path, *extra: str, start=MANIFEST["start"], end=MANIFEST["end"]) -> list[str]:
    return [
        sys.executable, "-m", "kmb", "crawl", "naver-health",
        "--start", start, "--end", end, "--base-url", server_url, "--delay", "0",
        "--workspace", str(workspace), *extra,
    ]  # fmt: skip


def _crawl(server_url: str, workspace: Path, *extra: str, **days) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        _command(server_url, workspace, *extra, **days), capture_output=True, text=True, timeout=120, env=env
    )


def _stored(workspace: Path) -> list[str]:
    ids = []
    for part in sorted((workspace / "raw" / "naver_health").glob("*.parquet")):
        ids += pq.read_table(part, columns=["doc_id"]).column(0).to_pylist()
    return ids


def _table(workspace: Path):
    import pyarrow as pa

    parts = sorted((workspace / "raw" / "naver_health").glob("*.parquet"))
    return pa.concat_tables(pq.read_table(p) for p in parts)


def test_crawl_replay_site_end_to_end(tmp_path):
    ws = tmp_path / "ws"
    with ReplayServer() as server:
        result = _crawl(server.url, ws, "--flush-every", "7")
        hits = list(server.hits)
    assert result.returncode == 0, result.stderr
    ids = _stored(ws)
    assert sorted(ids) == MANIFEST["articles"]  # every article once: duplicate links skipped
    assert "parsed              46" in result.stdout and "rejected            2" in result.stdout
    assert "duplicates skipped" in result.stdout and "days done           5/5" in result.stdout
    assert "days 5/5 done" in result.stderr  # progress line

    # both list generations and the JSON cursor pages were walked; the page past the end stopped it
    assert any("list.naver" in h and "date=20201229" in h and "page=3" in h for h in hits)
    assert not any("date=20201229" in h and "page=4" in h for h in hits)
    assert sum("SECTION_ARTICLE_LIST_FOR_LATEST" in h and "date=20201231" in h for h in hits) == 2
    assert hits[0] == "/robots.txt"

    table = _table(ws)
    rows = {r["doc_id"]: r for r in table.to_pylist()}
    euc = rows["naver:901:0000000101"]  # EUC-KR day, legacy layout
    assert euc["title"] == "겨울철 혈압 관리, 아침 운동 전 체온 유지가 관건"
    assert euc["press"] == "케이엠비뉴스" and euc["sid1"] == "103" and euc["sid2"] == "241"
    assert euc["url"].startswith("https://news.naver.com/main/read.nhn?")
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert all(r["html"] is None and len(r["html_sha256"]) == 64 and r["parser_version"] for r in rows.values())

    rejects = [
        r
        for part in (ws / "raw" / "naver_health" / "rejects").glob("*.parquet")
        for r in pq.read_table(part).to_pylist()
    ]
    reasons = {r["url"].rsplit("/", 1)[-1].split("?")[0]: (r["status"], r["reason"]) for r in rejects}
    assert reasons["0000000404"][0] == 404
    assert reasons["0000000399"][0] == 200 and "no title" in reasons["0000000399"][1]

    import duckdb

    con = duckdb.connect(str(ws / "kmb.duckdb"), read_only=True)
    assert con.execute("select count(*) from documents where source = 'naver_health'").fetchall()[0][0] == 46
    assert con.execute("select count(*) from rejects").fetchall()[0][0] == 2


def test_rerun_without_resume_stores_nothing_twice(tmp_path):
    ws = tmp_path / "ws"
    with ReplayServer() as server:
        first = _crawl(server.url, ws, start="2020-12-31", end="2020-12-31")
        assert first.returncode == 0, first.stderr
        again = _crawl(server.url, ws, start="2020-12-31", end="2020-12-31")
        article_hits = [h for h in server.hits if "/mnews/article/" in h]
    assert again.returncode == 0, again.stderr  # nothing new is not an error when all is stored
    assert len(_stored(ws)) == 10 and len(set(_stored(ws))) == 10
    assert len(article_hits) == 10  # the second run fetched no article again


def test_zero_articles_fails_with_a_message(tmp_path):
    with ReplayServer() as server:
        result = _crawl(server.url, tmp_path / "ws", start=MANIFEST["empty_day"], end=MANIFEST["empty_day"])
    assert result.returncode == 1
    assert "kmb: error: no article was parsed" in result.stderr
    assert not list((tmp_path / "ws" / "raw" / "naver_health").glob("*.parquet"))


def test_robots_disallow_stops_with_one_clear_message(tmp_path):
    with ReplayServer(disallow_all=True) as server:
        result = _crawl(server.url, tmp_path / "ws")
        hits = list(server.hits)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("kmb: error:")]
    assert len(errors) == 1 and "robots.txt" in errors[0] and "--ignore-robots" in errors[0]
    assert hits == ["/robots.txt"]  # nothing else was fetched
    assert "Traceback" not in result.stderr


def test_ignore_robots_warns_and_keeps_html(tmp_path):
    ws = tmp_path / "ws"
    with ReplayServer(disallow_all=True) as server:
        result = _crawl(
            server.url,
            ws,
            "--ignore-robots",
            "--keep-html",
            "--max-articles",
            "3",
            start="2020-12-29",
            end="2020-12-29",
        )
    assert result.returncode == 0, result.stderr
    assert "kmb: warning: --ignore-robots" in result.stderr
    rows = _table(ws).to_pylist()
    assert len(rows) == 3
    assert all('id="dic_area"' in r["html"] for r in rows)


def test_sigkill_then_resume_stores_every_article_exactly_once(tmp_path):
    ws = tmp_path / "ws"
    parts = ws / "raw" / "naver_health"
    with ReplayServer(delay=0.08) as server:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        proc = subprocess.Popen(
            _command(server.url, ws, "--flush-every", "3", "--resume"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            # Kill mid-crawl: once two parts are written (some articles stored, most not).
            while len(list(parts.glob("*.parquet"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            assert proc.poll() is None, "the crawl ended before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = _stored(ws)
        assert 0 < len(before) < len(MANIFEST["articles"])
        assert len(before) == len(set(before))

        resumed = _crawl(server.url, ws, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    after = _stored(ws)
    assert sorted(after) == MANIFEST["articles"]  # no loss, no duplicate
    assert (ws / "crawl" / "naver_health" / "jobdir").is_dir()


def test_bad_dates_are_one_line_errors(tmp_path):
    result = _crawl(
        "http://127.0.0.1:9", tmp_path / "ws", start="2020-13-01", end="2020-12-31"
    )  # dates are checked first
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("kmb: error: not a date")


@pytest.mark.parametrize("layout", ["legacy", "current"])
def test_cli_parse_naver_prints_one_json_per_page(layout):
    from typer.testing import CliRunner

    from kmb.cli import app

    name = "901_0000000101.html" if layout == "legacy" else "902_0000000109.html"
    page = site_root() / "articles" / name
    result = CliRunner().invoke(app, ["crawl", "parse", "naver", str(page), str(page)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2 and lines[0]["doc_id"] == "naver:" + name[:-5].replace("_", ":")
    assert lines[0]["source"] == "naver_health" and lines[0]["text"]


def test_cli_parse_naver_rejects_a_page_that_is_not_an_article(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body>없음</body></html>", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "kmb", "crawl", "parse", "naver", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"kmb: error: {bad}: not a NAVER article page: no article id (oid, aid) in the URL or og:url"
    )


def test_graceful_stop_then_resume_uses_the_jobdir_queue(tmp_path):
    ws = tmp_path / "ws"
    parts = ws / "raw" / "naver_health"
    with ReplayServer(delay=0.08) as server:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        proc = subprocess.Popen(
            _command(server.url, ws, "--flush-every", "3", "--resume"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(list(parts.glob("*.parquet"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the crawl ended before it could be stopped"
        proc.send_signal(signal.SIGINT)  # Ctrl-C once: Scrapy finishes in-flight requests, saves its queue
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "shutdown" in out
        assert any((ws / "crawl" / "naver_health" / "jobdir" / "requests.queue").iterdir())
        list_hits_before = sum("date=20201228&page=1" in h for h in server.hits)

        resumed = _crawl(server.url, ws, "--resume")
        list_hits_after = sum("date=20201228&page=1" in h for h in server.hits)
    assert resumed.returncode == 0, resumed.stderr
    assert "did not stop cleanly" not in resumed.stderr
    assert sorted(_stored(ws)) == MANIFEST["articles"]
    assert "days done           5/5" in resumed.stdout
    assert list_hits_after == list_hits_before == 1  # the first day was not listed again


def test_unreachable_site_stops_early_with_one_line(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bind, note it, close
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _crawl(
        f"http://127.0.0.1:{port}", tmp_path / "ws", "--ignore-robots", start="2020-01-01", end="2020-12-31"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"kmb: error: cannot reach http://127.0.0.1:{port}")
