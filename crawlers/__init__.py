"""Collect: Scrapy spiders that yield documents; item pipelines hand them to the storage writer.

A Scrapy project in the template's shape (``scrapy.cfg`` at the repository root):

- ``spiders/naver_health.py``, ``spiders/kci.py``: the spiders (parse and yield items only);
- ``items.py``: the dataclass items; ``pipelines.py``: both sources' storage pipelines;
- ``settings.py``: the project settings; ``middlewares.py``: retry backoff, strict robots.txt;
- ``naver_lists.py``, ``naver_pages.py``, ``kci_oai.py``, ``pdf_text.py``: page parsing, no Scrapy;
- ``options.py``: the commands' options and their checks; ``state.py``: resume state;
  ``stats.py``: the ``<source>/<name>`` stats convention; ``run.py``: :func:`run_spider`;
- ``naver_crawl.py``, ``kci_harvest.py``: what ``kmb crawl naver-health`` / ``kci`` call;
- the local test sites on 127.0.0.1 are in ``kmb.demo`` (not part of the crawl).
"""
