"""kmb.crawlers.session: the item pipeline alone owns the workspace, the stored ids and the crawl
state; a spider asks it. Checked on the source (what the spiders import and read) and by running
crawls that count how often the workspace is opened."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from kmb.crawlers.pipelines import KciParquetPipeline, NaverParquetPipeline
from kmb.crawlers.session import crawl_store, workspace_of
from kmb.crawlers.spiders.kci import KciOaiSpider
from kmb.crawlers.spiders.naver_health import NaverHealthSpider
from kmb.crawlers.state import DAYS_STARTED_FILE, write_json
from kmb.demo.oai_server import serve_oai
from kmb.demo.replay_server import ReplayServer
from kmb.workspace import Workspace

CRAWLERS = Path(__file__).resolve().parents[2] / "crawlers"
SPIDERS = sorted(p for p in (CRAWLERS / "spiders").glob("[!_]*.py") if p.name != "base.py")
# What stores or keeps state: a spider imports none of it, it asks its pipeline.
OWNED_BY_PIPELINES = {"kmb.workspace", "kmb.storage", "kmb.crawlers.state", "kmb.crawlers.pipelines"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_spiders_base_class_keeps_no_state_either():
    # base.py holds only what both spiders share (settings from options, per-source stats).
    tree = _tree(CRAWLERS / "spiders" / "base.py")
    assert _imported(tree) & OWNED_BY_PIPELINES == set()
    assert SPIDERS and all("KmbSpider" in p.read_text(encoding="utf-8") for p in SPIDERS)


@pytest.mark.parametrize("spider", SPIDERS, ids=lambda p: p.name)
def test_a_spider_never_opens_the_workspace_or_reads_the_stored_ids(spider):
    tree = _tree(spider)
    assert _imported(tree) & OWNED_BY_PIPELINES == set()
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
    }
    assert used & {"Workspace", "doc_ids", "read_done_days", "read_json", "write_json", "kci_resume_point"} == set()
    assert "crawl_store" in used  # what it needs to know, it asks the pipeline


def _settings_reads(tree: ast.Module, name: str) -> int:
    """`settings.get("NAME")`, `settings["NAME"]` read (not written) in a module."""
    reads = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("get"):
            reads += any(isinstance(a, ast.Constant) and a.value == name for a in node.args)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            reads += isinstance(node.slice, ast.Constant) and node.slice.value == name
    return reads


def test_the_workspace_setting_is_read_in_one_place():
    reads = {
        p.relative_to(CRAWLERS).as_posix(): _settings_reads(_tree(p), "KMB_WORKSPACE") for p in CRAWLERS.rglob("*.py")
    }
    assert {name: count for name, count in reads.items() if count} == {"session.py": 1}


def test_robots_txt_is_read_and_judged_in_one_module():
    robots_code = {"protego", "scrapy.downloadermiddlewares.robotstxt", "urllib.request"}
    users = sorted(
        p.relative_to(CRAWLERS).as_posix() for p in CRAWLERS.rglob("*.py") if _imported(_tree(p)) & robots_code
    )
    assert users == ["middlewares.py"]


def _crawler(spidercls, settings: dict, **args):
    """A crawler (settings as the spider's options would set them) with its spider made from ``args``."""
    crawler = get_crawler(spidercls, settings)
    crawler.spider = spidercls(**args)
    crawler.spider._set_crawler(crawler)
    return crawler


def _naver_crawl(ws: Path, resume: bool, **args):
    settings = {"KMB_WORKSPACE": str(ws), "KMB_RESUME": resume, "KMB_PROGRESS_INTERVAL": 0}
    crawler = _crawler(NaverHealthSpider, settings, base_url="http://replay.example", delay="0", resume=resume, **args)
    pipeline = NaverParquetPipeline.from_crawler(crawler)
    pipeline.open_spider()
    return crawler, pipeline


def _start_requests(spider) -> list:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def test_the_naver_spider_asks_its_pipeline_which_days_are_left_and_what_is_stored(tmp_path):
    ws = tmp_path / "ws"
    state = ws / "crawl" / "naver_health"
    state.mkdir(parents=True)
    (state / "done_days.txt").write_text("20201228\n")
    write_json(state / DAYS_STARTED_FILE, ["20201229"])  # still in the queue of a cleanly stopped run
    crawler, pipeline = _naver_crawl(ws, resume=True, start="2020-12-28", end="2020-12-30")
    assert crawl_store(crawler) is pipeline
    requests = _start_requests(crawler.spider)
    assert [r.cb_kwargs["day"] for r in requests] == ["20201230"]
    assert crawler.stats.get_value("naver_health/days_done") == 1
    assert not pipeline.is_stored("naver:901:0000000001")
    pipeline.close_spider()
    assert json.loads((state / DAYS_STARTED_FILE).read_text()) == ["20201229", "20201230"]  # kept by the pipeline


def test_a_fresh_naver_crawl_forgets_the_days_through_its_pipeline(tmp_path):
    ws = tmp_path / "ws"
    state = ws / "crawl" / "naver_health"
    state.mkdir(parents=True)
    (state / "done_days.txt").write_text("20201228\n")
    crawler, pipeline = _naver_crawl(ws, resume=False, start="2020-12-28", end="2020-12-28")
    assert [r.cb_kwargs["day"] for r in _start_requests(crawler.spider)] == ["20201228"]
    assert not (state / "done_days.txt").exists()


def test_the_kci_spider_asks_its_pipeline_for_the_resume_point(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws")
    write_json(ws.crawl_state("kci") / "state.json", {"endpoint": "http://oai.example/oai", "next_token": "t-9"})
    settings = {"KMB_WORKSPACE": ws, "KMB_KCI_ENDPOINT": "http://oai.example/oai"}  # as kmb crawl kci sets them
    crawler = _crawler(KciOaiSpider, settings, endpoint="http://oai.example/oai", resume="true", workspace=ws)
    monkeypatch.setattr(Workspace, "open", None)  # the Workspace passed in is used, never opened again
    pipeline = KciParquetPipeline.from_crawler(crawler)
    assert pipeline.ws == ws and crawl_store(crawler) is pipeline
    [request] = _start_requests(crawler.spider)
    assert "resumptionToken=t-9" in request.url


def test_workspace_of_takes_an_open_workspace_or_a_path(tmp_path):
    ws = Workspace.open(tmp_path / "a")
    assert workspace_of({"KMB_WORKSPACE": ws}) is ws
    assert workspace_of({"KMB_WORKSPACE": str(tmp_path / "b")}).root == (tmp_path / "b").resolve()


# One whole crawl in a subprocess (Scrapy's reactor runs once per process), Workspace.open counted.
COUNTING_CRAWL = """
import sys
from kmb.workspace import Workspace
opened, real_open = [], Workspace.open.__func__
Workspace.open = classmethod(lambda cls, root=None: opened.append(root) or real_open(cls, root))
source, url, ws = sys.argv[1:]
if source == "naver":
    from kmb.crawlers.naver_crawl import crawl_naver_health
    from kmb.crawlers.options import NaverCrawlOptions
    crawl_naver_health(NaverCrawlOptions(start="2020-12-31", end="2020-12-31", base_url=url, workspace=ws, delay=0))
else:
    from kmb.crawlers.kci_harvest import crawl_kci
    from kmb.crawlers.options import KciCrawlOptions
    crawl_kci(KciCrawlOptions(endpoint=url, workspace=ws, delay=0, resume=True))
print("workspace opened", len(opened))
"""


def _count_opens(source: str, url: str, ws: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", COUNTING_CRAWL, source, url, str(ws)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_one_naver_crawl_opens_the_workspace_once(tmp_path):
    with ReplayServer() as server:
        assert _count_opens("naver", server.url, tmp_path / "ws") == "workspace opened 1"


def test_one_kci_harvest_opens_the_workspace_once(tmp_path):
    with serve_oai(page_size=8) as (url, _responder):
        assert _count_opens("kci", f"{url}/oai", tmp_path / "ws") == "workspace opened 1"
