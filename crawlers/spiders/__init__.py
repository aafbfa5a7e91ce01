"""kmb's Scrapy spiders, one a file: ``naver_health`` and ``kci`` (``scrapy list`` shows them)."""
