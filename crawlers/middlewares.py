"""Downloader middlewares kmb's crawl settings install in place of Scrapy's own.

* :class:`BackoffRetryMiddleware`: Scrapy's retry (5xx, 408, 429, timeouts), waiting
  ``KMB_RETRY_BACKOFF_BASE * 2**(attempt-1)`` seconds (at most ``KMB_RETRY_BACKOFF_MAX``) first.
* :class:`StrictRobotsTxtMiddleware`: Scrapy's robots.txt check, with RFC 9309's reading of the
  answer (:func:`robots_rules`: 4xx allow all, 5xx or unreachable disallow all; Scrapy allows all
  on both). In Scrapy 2.19, requests that wait together for robots.txt share one Deferred, and a
  waiter can receive ``None`` ("no robots.txt, allow") instead of the parsed rules: with
  ``Disallow: /`` one list page got through in our tests. This subclass falls back to the parsed
  rules when they exist.

This module is the one place kmb reads robots.txt and decides what it means: the middleware for
every request (and the ``--ignore-robots`` warning when ``ROBOTSTXT_OBEY`` is off),
:func:`robots_allow` for the NAVER crawl's check before it starts, :func:`forbidden_by_robots` for a
spider that counts the requests the middleware refused.
"""

from __future__ import annotations

import asyncio
import inspect
import sys

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
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


# RFC 9309 section 2.3.1: what a robots.txt answer means, whoever fetched it.
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


def robots_rules(status: int | None, body: bytes) -> bytes:
    """The robots.txt body to obey for an answer: 2xx its own body; 4xx none at all (allow all);
    5xx or no answer (unreachable) complete disallow, until the site answers again."""
    if status is None or status >= 500:
        return DISALLOW_ALL
    if 400 <= status < 500:
        return b""
    return body


def fetch_robots(base_url: str, user_agent: str, timeout: float = 20.0) -> str:
    """robots.txt of the site before a crawl starts, read by :func:`robots_rules`. Fails in
    seconds, not hours, when the site cannot be reached at all (offline, wrong URL)."""
    import urllib.error
    import urllib.request

    from kmb.errors import KmbError

    request = urllib.request.Request(base_url.rstrip("/") + "/robots.txt", headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read(500_000)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise KmbError(f"cannot reach {base_url}: {reason}; is the site reachable from here?") from None
    return robots_rules(status, body).decode("utf-8", errors="replace")


def robots_allow(base_url: str, urls: list[str], user_agent: str) -> bool:
    """Does the site's robots.txt (:func:`fetch_robots`) let ``user_agent`` fetch any of ``urls``?"""
    from protego import Protego

    rules = Protego.parse(fetch_robots(base_url, user_agent))
    return any(rules.can_fetch(url, user_agent) for url in urls)


def forbidden_by_robots(failure) -> bool:
    """Is this a request the robots.txt middleware refused (Scrapy's ``IgnoreRequest``)?"""
    return bool(failure.check(IgnoreRequest)) and "robots" in str(failure.value).lower()


IGNORE_ROBOTS_WARNING = (
    "kmb: warning: --ignore-robots: robots.txt is NOT obeyed. NAVER forbids automated collection "
    "without permission; go on only if you hold it in writing."
)


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler):
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            print(IGNORE_ROBOTS_WARNING, file=sys.stderr)
            raise NotConfigured
        super().__init__(crawler)

    async def robot_parser(self, request):
        parser = await super().robot_parser(request)
        if parser is None:
            cached = self._parsers.get(urlparse_cached(request).netloc)
            if cached is not None and not isinstance(cached, Deferred):
                return cached
        return parser

    async def _parse_robots(self, response, netloc, request):
        # Scrapy parses whatever body came back, so a 500 page reads as "allow all".
        rules = robots_rules(response.status, response.body)
        if rules is not response.body:
            response = response.replace(body=rules)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc, netloc):
        # Unreachable robots.txt: complete disallow, where Scrapy's own allows all.
        if not isinstance(exc, IgnoreRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._stats.inc_value("robotstxt/unreachable_disallow_all")
        rules = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        waiting, self._parsers[netloc] = self._parsers[netloc], rules
        if isinstance(waiting, Deferred):
            waiting.callback(rules)


if not inspect.iscoroutinefunction(RobotsTxtMiddleware.robot_parser):
    # Another Scrapy version with a differently shaped robot_parser: use it unchanged.
    StrictRobotsTxtMiddleware = RobotsTxtMiddleware  # type: ignore[misc]  # noqa: F811
