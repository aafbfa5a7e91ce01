"""`scrapy crawl kci` from the repository root (scrapy.cfg -> kmb.crawlers.settings), against our
OAI-PMH responder on 127.0.0.1, in a subprocess (Scrapy's reactor runs once per process)."""

from __future__ import annotations

import json
import os

from kmb.demo.oai_server import serve_oai

KOREAN_MEDICAL = 22  # records in samples/kci that should be kept (as in test_kci_harvest.py)


def test_scrapy_crawl_kci_harvests_with_the_kmb_defaults(tmp_path, scrapy_crawl, raw_rows):
    ws = tmp_path / "ws"
    with serve_oai(page_size=8) as (url, responder):
        result = scrapy_crawl("kci", f"endpoint={url}/oai", "delay=0", f"workspace={ws}")
    assert result.returncode == 0, result.stderr
    docs = raw_rows(ws, "kci")
    assert len(docs) == KOREAN_MEDICAL == len({d["doc_id"] for d in docs})
    assert {d["metadata_format"] for d in docs} == {"oai_kci"}  # --format's default
    assert all(2010 <= d["year"] <= 2020 for d in docs)  # --years' default, the paper's
    first = responder.requests[0][1]
    assert first == {"verb": "ListRecords", "metadataPrefix": "oai_kci", "set": "ARTI"}  # --set's default
    state = json.loads((ws / "crawl" / "kci" / "state.json").read_text())
    assert state["endpoint"] == f"{url}/oai" and state["next_token"] is None  # the pipeline's resume point
    assert not (ws / "raw" / "naver_health").exists()  # NAVER's pipeline did not run for KCI


def test_scrapy_crawl_kci_takes_kmb_option_names_and_kmb_workspace(tmp_path, scrapy_crawl, raw_rows):
    ws = tmp_path / "from-env"
    env = dict(os.environ, KMB_WORKSPACE=str(ws))
    with serve_oai(page_size=2) as (url, responder):
        result = scrapy_crawl("kci", f"endpoint={url}/oai-dc-only", "format=oai_dc", "years=2010-2015", "max_records=4",
                              "checkpoint_every=1", "from=2013-01-01", "delay=0", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    docs = raw_rows(ws, "kci")
    assert len(docs) == 4 and {d["metadata_format"] for d in docs} == {"oai_dc"}
    assert all(2010 <= d["year"] <= 2015 for d in docs)
    # A part after each page that kept a document (the default, 500, would write one part).
    assert len(list((ws / "raw" / "kci").glob("*.parquet"))) >= 2
    assert responder.requests[0][1]["from"] == "2013-01-01"


def test_scrapy_crawl_kci_checks_its_arguments_first(tmp_path, scrapy_crawl, raw_rows):
    with serve_oai(page_size=8) as (url, responder):
        result = scrapy_crawl("kci", f"endpoint={url}/oai", "years=2020-2010", f"workspace={tmp_path / 'ws'}")
    assert result.returncode != 0
    assert "KmbError: --years 2020-2010: the first year is after the last" in result.stderr
    assert responder.requests == [] and not (tmp_path / "ws").exists()
