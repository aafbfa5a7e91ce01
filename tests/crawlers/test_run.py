"""kmb.crawlers.run: one settings module for both spiders, each with its own pipeline."""

from __future__ import annotations

from scrapy.crawler import Crawler

from kmb.crawlers.run import project_settings
from kmb.crawlers.settings import USER_AGENT
from kmb.crawlers.spiders.kci import KciOaiSpider
from kmb.crawlers.spiders.naver_health import NaverHealthSpider


def test_project_settings_identify_obey_robots_throttle_and_retry():
    settings = project_settings({"LOG_LEVEL": "INFO"})
    assert settings.get("USER_AGENT") == USER_AGENT and USER_AGENT.startswith("kmb/")
    assert settings.getbool("ROBOTSTXT_OBEY") and settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getfloat("DOWNLOAD_DELAY") == 1.0 and settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    assert settings.getint("RETRY_TIMES") == 3 and 503 in settings.getlist("RETRY_HTTP_CODES")
    assert settings.getlist("SPIDER_MODULES") == ["kmb.crawlers.spiders"]
    assert not settings.getdict("ITEM_PIPELINES")  # no source's pipeline is forced on the other
    assert settings.get("LOG_LEVEL") == "INFO"  # overrides win over the project's WARNING


def test_each_spider_selects_its_own_pipeline():
    naver = Crawler(NaverHealthSpider, project_settings())
    kci = Crawler(KciOaiSpider, project_settings())
    assert list(naver.settings.getdict("ITEM_PIPELINES")) == ["kmb.crawlers.pipelines.NaverParquetPipeline"]
    assert list(kci.settings.getdict("ITEM_PIPELINES")) == ["kmb.crawlers.pipelines.KciParquetPipeline"]
    assert kci.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1  # OAI-PMH pages one after another


def test_spider_options_decide_delay_robots_and_workspace(tmp_path):
    crawler = Crawler(NaverHealthSpider, project_settings())
    spider = NaverHealthSpider.from_crawler(crawler, delay="0", ignore_robots="true", workspace=str(tmp_path))
    assert spider.options.delay == 0.0
    assert crawler.settings.getfloat("DOWNLOAD_DELAY") == 0.0 and not crawler.settings.getbool("AUTOTHROTTLE_ENABLED")
    assert not crawler.settings.getbool("ROBOTSTXT_OBEY") and crawler.settings.get("KMB_WORKSPACE") == str(tmp_path)
    polite = Crawler(KciOaiSpider, project_settings())
    KciOaiSpider.from_crawler(polite, delay="2.5")
    assert (
        polite.settings.getfloat("DOWNLOAD_DELAY") == 2.5
        and polite.settings.getfloat("AUTOTHROTTLE_START_DELAY") == 2.5
    )
