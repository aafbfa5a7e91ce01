"""Both item pipelines in this process (no network, no reactor): what they store, exactly once."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow.parquet as pq
from scrapy.utils.test import get_crawler

from kmb.crawlers.items import DayListedItem, KciDocumentItem, NaverArticleItem, PageDoneItem, RejectItem
from kmb.crawlers.pipelines import KciParquetPipeline, NaverParquetPipeline
from kmb.crawlers.spiders.kci import KciOaiSpider
from kmb.crawlers.spiders.naver_health import NaverHealthSpider
from kmb.crawlers.state import read_done_days


def naver_row(aid: str) -> dict:
    return {"doc_id": f"naver:901:{aid}", "source": "naver_health", "url": f"https://n.news.naver.com/mnews/article/901/{aid}",
            "title": "제목", "text": "본문입니다.", "language": "ko", "published_at": datetime(2020, 12, 28, tzinfo=timezone.utc),
            "crawled_at": datetime.now(timezone.utc), "oid": "901", "aid": aid, "html_sha256": "0" * 64,
            "parser_version": "naver-pages/1"}  # fmt: skip


def naver_pipeline(ws, flush_every=2, resume=False):
    crawler = get_crawler(NaverHealthSpider, {"KMB_WORKSPACE": str(ws), "KMB_FLUSH_EVERY": flush_every,
                                              "KMB_PROGRESS_INTERVAL": 0, "KMB_RESUME": resume})  # fmt: skip
    pipeline = NaverParquetPipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline, crawler.stats


def stored_ids(folder) -> list[str]:
    return sorted(
        i for p in folder.glob("*.parquet") for i in pq.read_table(p, columns=["doc_id"]).column(0).to_pylist()
    )


def test_naver_pipeline_stores_once_and_closes_a_day_only_when_written(tmp_path):
    ws = tmp_path / "ws"
    pipeline, stats = naver_pipeline(ws, flush_every=2)
    pipeline.process_item(
        DayListedItem("20201228", ["naver:901:0000000001", "naver:901:0000000002", "naver:901:0000000003"])
    )
    pipeline.process_item(NaverArticleItem(naver_row("0000000001")))
    pipeline.process_item(NaverArticleItem(naver_row("0000000001")))  # a duplicate link
    assert read_done_days(ws / "crawl" / "naver_health") == set()
    pipeline.process_item(NaverArticleItem(naver_row("0000000002")))  # the buffer is full: a part is written
    assert stored_ids(ws / "raw" / "naver_health") == ["naver:901:0000000001", "naver:901:0000000002"]
    assert read_done_days(ws / "crawl" / "naver_health") == set()  # 0000000003 is still outstanding
    pipeline.process_item(
        RejectItem("http://x/0000000003", 404, "article page failed: HTTP 404", "naver:901:0000000003")
    )
    pipeline.close_spider()
    assert read_done_days(ws / "crawl" / "naver_health") == {"20201228"}  # every listed article written or rejected
    values = stats.get_stats()
    assert (
        values["naver_health/parsed"],
        values["naver_health/duplicates_skipped"],
        values["naver_health/rejected"],
    ) == (2, 1, 1)
    [reject] = [
        r for p in (ws / "raw" / "naver_health" / "rejects").glob("*.parquet") for r in pq.read_table(p).to_pylist()
    ]
    assert (reject["source"], reject["status"], reject["reason"]) == (
        "naver_health",
        404,
        "article page failed: HTTP 404",
    )

    again, stats = naver_pipeline(ws)  # a later run: what is stored is never written again
    again.process_item(NaverArticleItem(naver_row("0000000002")))
    again.close_spider()
    assert stored_ids(ws / "raw" / "naver_health") == ["naver:901:0000000001", "naver:901:0000000002"]
    assert (
        stats.get_value("naver_health/duplicates_skipped") == 1 and stats.get_value("naver_health/already_stored") == 2
    )


def kci_row(n: int) -> dict:
    return {"doc_id": f"kci:ART{n:09d}", "source": "kci", "url": None, "title": "제목", "text": "초록입니다.", "language": "ko",
            "published_at": None, "crawled_at": datetime.now(timezone.utc), "oai_identifier": f"oai:kci.go.kr:ARTI/{n}",
            "metadata_format": "oai_kci", "journal": "학회지", "issn": None, "year": 2015, "doi": None, "open_access": None,
            "title_en": None, "abstract_en": None, "fulltext_chars": 0}  # fmt: skip


def test_kci_pipeline_saves_the_resume_point_only_after_its_documents(tmp_path):
    ws = tmp_path / "ws"
    crawler = get_crawler(
        KciOaiSpider, {"KMB_WORKSPACE": str(ws), "KMB_KCI_ENDPOINT": "http://oai.example/oai", "KMB_FLUSH_ROWS": 3}
    )
    pipeline = KciParquetPipeline.from_crawler(crawler)
    pipeline.open_spider()
    state = ws / "crawl" / "kci" / "state.json"
    for n in (1, 2):
        pipeline.process_item(KciDocumentItem(kci_row(n)))
    pipeline.process_item(PageDoneItem("token-2", "oai_kci", 8))
    assert not state.exists()  # two documents are not on disk yet: no resume point after them
    for n in (2, 3):  # 2 again: skipped
        pipeline.process_item(KciDocumentItem(kci_row(n)))
    pipeline.process_item(PageDoneItem("token-3", "oai_kci", 8))
    saved = json.loads(state.read_text())
    assert (saved["endpoint"], saved["next_token"], saved["stored_total"]) == ("http://oai.example/oai", "token-3", 3)
    pipeline.process_item(RejectItem("http://oai.example/oai?verb=ListRecords", 200, "not OAI-PMH"))
    pipeline.process_item(PageDoneItem(None, "oai_kci", 0))
    pipeline.close_spider()
    values = crawler.stats.get_stats()
    assert (values["kci/stored"], values["kci/already_stored"], values["kci/complete"]) == (3, 1, True)
    assert json.loads(state.read_text())["next_token"] is None
    [reject] = [r for p in (ws / "raw" / "kci" / "rejects").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert (reject["source"], reject["status"], reject["reason"]) == ("kci", 200, "not OAI-PMH")
