"""Downloader middlewares kmb's crawl settings install in place of Scrapy's own.

* :class:`BackoffRetryMiddleware`: Scrapy's retry (5xx, 408, 429, timeouts), waiting
  ``KMB_RETRY_BACKOFF_BASE * 2**(attempt-1)`` seconds (at most ``KMB_RETRY_BACKOFF_MAX``) first.
* :class:`StrictRobotsTxtMiddleware`: Scrapy's robots.txt check. In Scrapy 2.19, requests that
  wait together for robots.txt share one Deferred, and a waiter can receive ``None`` ("no
  robots.txt, allow") instead of the parsed rules: with ``Disallow: /`` one list page got through
  in our tests. This subclass falls back to the parsed rules when they exist.
"""

from __future__ import annotations

import asyncio
import inspect

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("KMB_RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("KMB_RETRY_BACKOFF_MAX", 60.0)

    async def process_response(self, request, response):
        result = super().process_response(request, response)
        await self._wait(result)
        return result

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        await self._wait(result)
        return result

    async def _wait(self, result) -> None:
        if isinstance(result, Request) and self.backoff_base > 0:
            attempt = result.meta.get("retry_times", 1)
            await asyncio.sleep(min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request):
        parser = await super().robot_parser(request)
        if parser is None:
            cached = self._parsers.get(urlparse_cached(request).netloc)
            if cached is not None and not isinstance(cached, Deferred):
                return cached
        return parser


if not inspect.iscoroutinefunction(RobotsTxtMiddleware.robot_parser):
    # Another Scrapy version with a differently shaped robot_parser: use it unchanged.
    StrictRobotsTxtMiddleware = RobotsTxtMiddleware  # type: ignore[misc]  # noqa: F811
