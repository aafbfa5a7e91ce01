"""Scrapy project settings for kmb's crawlers (`scrapy crawl naver_health` and `scrapy crawl kci`
read these via scrapy.cfg; `kmb crawl ...` starts from them too, through kmb.crawlers.run).

Polite by default: obey robots.txt, identify the crawler, one request a second at most per domain
(AutoThrottle may slow down further, never speed up past DOWNLOAD_DELAY), two at a time at most,
retry server errors and timeouts with exponential backoff. Each spider sets what its options say
(--delay, --ignore-robots, the workspace) and selects its own item pipeline (custom_settings).
"""

from kmb import __version__

BOT_NAME = "kmb"
SPIDER_MODULES = ["kmb.crawlers.spiders"]
NEWSPIDER_MODULE = "kmb.crawlers.spiders"

USER_AGENT = f"kmb/{__version__} (+https://github.com/kmb-project/kmb; Korean medical BERT corpus research crawler)"
ROBOTSTXT_OBEY = True

DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each wait is DOWNLOAD_DELAY x (0.5 .. 1.5)
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Backoff between retries: base * 2**(attempt-1) seconds, capped (kmb.crawlers.middlewares).
KMB_RETRY_BACKOFF_BASE = 2.0
KMB_RETRY_BACKOFF_MAX = 60.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "kmb.crawlers.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "kmb.crawlers.middlewares.StrictRobotsTxtMiddleware": 100,
}

# kmb fetches web pages only: a URL a page or an OAI-PMH record names (file://, ftp://, s3://,
# data:) is never read, whatever the spider asks for.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}

# No ITEM_PIPELINES here: each spider names its own (NAVER's and KCI's store different tables).
# NAVER articles are written as a new Parquet part every this many items (a kill loses at most these,
# and a resumed run fetches them again).
KMB_FLUSH_EVERY = 100
# Workspace: the spiders set it from their workspace option (`-a workspace=DIR`; `kmb crawl` passes
# the Workspace it opened); the pipeline reads it once (kmb.crawlers.session.workspace_of).
# None means $KMB_WORKSPACE or ./kmb-workspace.
KMB_WORKSPACE = None
KMB_PROGRESS_INTERVAL = 10.0

# Keep Scrapy's own log quiet; kmb prints progress and a summary.
LOG_LEVEL = "WARNING"
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts an HTTP server that runs code sent to it (write_job_file, jobs dir): not wanted here.
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
