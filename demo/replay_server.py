"""Serve the bundled replay site on 127.0.0.1 with NAVER's URL routing, for tests and the demo.

    with ReplayServer() as server:            # an OS-chosen port, served from a thread
        crawl(..., base_url=server.url)

Or from a shell (prints the URL, serves until Ctrl-C):

    python -m kmb.demo.replay_server [--port 0] [--disallow-all]

Routes, as on news.naver.com / n.news.naver.com:
  /robots.txt                                            robots.txt (or "Disallow: /" with disallow_all)
  /main/list.naver, /main/list.nhn ?date=&page=          old list pages; a page past the end gives the
                                                         last page; an unknown day gives div.no_content
  /breakingnews/section/{sid1}/{sid2}?date=              new list page (empty list for an unknown day)
  /section/template/SECTION_ARTICLE_LIST_FOR_LATEST      JSON "more" fragment for ?date=&next=CURSOR
  /mnews/article/{oid}/{aid}, /article/{oid}/{aid},      article pages (404 when absent)
  /main/read.naver, /main/read.nhn ?oid=&aid=
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from kmb.crawlers.naver_lists import article_id
from kmb.crawlers.options import check_port, seconds
from kmb.errors import KmbError


def site_root() -> Path:
    """The replay site folder (package data of kmb.crawlers)."""
    return Path(str(resources.files("kmb.demo") / "replay_site"))


_ARTICLE_PATH = re.compile(r"^/(?:mnews/)?article/(\d{3})/(\d{10})$")
_NEW_LIST_PATH = re.compile(r"^/breakingnews/section/(\d+)/(\d+)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.server.delay:
            time.sleep(self.server.delay)
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        root = self.server.root
        self.server.hits.append(path + ("?" + parts.query if parts.query else ""))

        if path == "/robots.txt":
            name = "robots-disallow.txt" if self.server.disallow_all else "robots.txt"
            body = self.server.robots_txt if self.server.robots_txt is not None else (root / name).read_bytes()
            return self._send(self.server.robots_status, body, "text/plain; charset=utf-8")
        if path in ("/main/list.naver", "/main/list.nhn"):
            return self._old_list(query.get("date", ""), query.get("page", "1"))
        if _NEW_LIST_PATH.match(path):
            day = root / "new" / _digits(query.get("date", "")) / "list.html"
            return self._send(200, (day if day.is_file() else root / "new" / "empty.html").read_bytes())
        if path == "/section/template/SECTION_ARTICLE_LIST_FOR_LATEST":
            return self._more(query.get("date", ""), query.get("next", ""))
        match = _ARTICLE_PATH.match(path)
        ids = (match.group(1), match.group(2)) if match else None
        if ids is None and path in ("/main/read.naver", "/main/read.nhn"):
            ids = article_id(self.path)
        if ids:
            page = root / "articles" / f"{ids[0]}_{ids[1]}.html"
            if page.is_file():
                return self._send(200, page.read_bytes())
        return self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>")

    def _old_list(self, date: str, page: str) -> None:
        folder = self.server.root / "old" / _digits(date)
        pages = sorted(folder.glob("page*.html"), key=lambda p: int(_digits(p.stem) or 0))
        if not pages:
            return self._send(200, (self.server.root / "old" / "empty.html").read_bytes())
        wanted = int(page) if page.isdigit() else 1
        # NAVER answers a page past the end with the last page.
        chosen = pages[min(max(wanted, 1), len(pages)) - 1]
        self._send(200, chosen.read_bytes())

    def _more(self, date: str, cursor: str) -> None:
        folder = self.server.root / "new" / _digits(date)
        more = folder / f"more-{_digits(cursor)}.json"
        if not more.is_file():
            # Raising pageNo with a stale cursor repeats a page; an unknown day has nothing more.
            candidates = sorted(folder.glob("more-*.json"))
            if not candidates:
                body = b'{"renderedComponent": {"SECTION_ARTICLE_LIST_FOR_LATEST": "<div class=\\"section_latest_article\\" data-has-next=\\"false\\" data-cursor=\\"\\"></div>"}}'
                return self._send(200, body, "application/json; charset=utf-8")
            more = candidates[-1]
        self._send(200, more.read_bytes(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        # No charset in the header for HTML: the page's own <meta charset> decides (EUC-KR days too).
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # quiet: tests read server.hits instead
        pass


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    disallow_all: bool
    delay: float
    hits: list[str]

    def handle_error(self, request, client_address) -> None:
        # A crawler killed mid-download (the resume test does that) resets its connections: not news.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ReplayServer:
    """The replay site on ``http://127.0.0.1:{port}``, served from a daemon thread.

    ``disallow_all`` serves a robots.txt like NAVER's (``Disallow: /``), ``robots_txt`` and
    ``robots_status`` one of the test's own; ``delay`` (seconds) slows every response, for tests
    that need a crawl to still be running when they act.
    """

    def __init__(
        self,
        port: int = 0,
        disallow_all: bool = False,
        delay: float = 0.0,
        root: Path | None = None,
        robots_status: int = 200,
        robots_txt: bytes | None = None,
    ):
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.root = Path(root) if root else site_root()
        self._httpd.disallow_all = disallow_all
        self._httpd.robots_status = robots_status  # e.g. 503, to test RFC 9309's reading of errors
        self._httpd.robots_txt = robots_txt  # a robots.txt of the test's own
        self._httpd.delay = delay
        self._httpd.hits = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def hits(self) -> list[str]:
        """Every path requested so far, in order."""
        return self._httpd.hits

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kmb-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_replay_site(port: int | str = 0, disallow_all: bool = False, delay: float | str = 0.0) -> None:
    """`kmb crawl replay-server`: check the options, then serve until Ctrl-C (the URL is printed first)."""
    port, delay = check_port(port), seconds(delay, "--delay")
    try:
        server = ReplayServer(port, disallow_all, delay)
    except OSError as exc:
        raise KmbError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    print(server.url, flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve kmb's NAVER replay site on 127.0.0.1.")
    parser.add_argument("--port", default=0, help="port (default 0: chosen by the OS)")
    parser.add_argument("--disallow-all", action="store_true", help="serve robots.txt 'Disallow: /' like NAVER")
    parser.add_argument("--delay", default=0.0, help="seconds to wait before each response")
    args = parser.parse_args(argv)
    try:
        serve_replay_site(args.port, args.disallow_all, args.delay)
    except KmbError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
