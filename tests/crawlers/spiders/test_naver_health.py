"""`scrapy crawl naver_health` from the repository root (scrapy.cfg -> kmb.crawlers.settings),
against the replay site on 127.0.0.1, in a subprocess (Scrapy's reactor runs once per process)."""

from __future__ import annotations

import json
import os

from kmb.demo.replay_server import ReplayServer, site_root

MANIFEST = json.loads((site_root() / "manifest.json").read_text(encoding="utf-8"))


def test_scrapy_crawl_naver_health_stores_the_days_articles(tmp_path, scrapy_crawl, raw_rows):
    ws = tmp_path / "ws"
    with ReplayServer() as server:
        result = scrapy_crawl(
            "naver_health", f"base_url={server.url}", "start=2020-12-31", "end=2020-12-31", "delay=0", f"workspace={ws}"
        )
        hits = list(server.hits)
    assert result.returncode == 0, result.stderr
    stored = raw_rows(ws, "naver_health")
    expected = [doc for doc in MANIFEST["articles"] if doc.startswith("naver:904:")]
    assert sorted(r["doc_id"] for r in stored) == expected and len(expected) == 10
    assert all(r["source"] == "naver_health" and r["text"] and r["html"] is None for r in stored)
    assert hits[0] == "/robots.txt"  # the project settings obey robots.txt
    assert (ws / "crawl" / "naver_health" / "done_days.txt").read_text() == "20201231\n"


def test_scrapy_crawl_naver_health_takes_the_workspace_from_kmb_workspace(tmp_path, scrapy_crawl, raw_rows):
    ws = tmp_path / "from-env"
    env = dict(os.environ, KMB_WORKSPACE=str(ws))
    with ReplayServer() as server:
        result = scrapy_crawl("naver_health", f"base_url={server.url}", "start=2020-12-29", "end=2020-12-29", "delay=0",
                              "max_articles=3", "keep_html=true", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    stored = raw_rows(ws, "naver_health")
    assert len(stored) == 3 and all('id="dic_area"' in r["html"] for r in stored)


def test_scrapy_crawl_naver_health_checks_its_arguments_first(tmp_path, scrapy_crawl, raw_rows):
    with ReplayServer() as server:
        result = scrapy_crawl("naver_health", f"base_url={server.url}", "delay=-1", f"workspace={tmp_path / 'ws'}")
        hits = list(server.hits)
    assert result.returncode != 0
    assert "KmbError: --delay must be >= 0 (seconds), not '-1'" in result.stderr
    assert hits == [] and not (tmp_path / "ws").exists()
