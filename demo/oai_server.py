"""A small OAI-PMH responder on 127.0.0.1 serving our own records, for tests and the quickstart.

It reads ``samples/kci/records.xml`` (an OAI-PMH ListRecords document of records we wrote, in
KCI's ``oai_kci`` format) and answers ``ListRecords`` in pages of ``page_size`` with
``resumptionToken``, in ``oai_kci`` or ``oai_dc`` (derived from the same records), plus
``Identify`` and ``ListMetadataFormats``. Endpoints on the same server behave differently, so one
server covers the protocol's cases:

    /oai            KCI-like: oai_kci and oai_dc
    /oai-dc-only    a generic repository: oai_kci gives cannotDisseminateFormat
    /oai-expiring   the first resumption token it issues is refused once (badResumptionToken)
    /rss            XML that is not OAI-PMH
    /fulltext/ART...pdf  a PDF of an open-access record (its abstract and a body, with a running
                    header, page numbers and references): records marked open point here

Run it by hand:  python -m kmb.demo.oai_server [--port 0] [--page-size 8]
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
from contextlib import contextmanager
from copy import deepcopy
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from lxml import etree

from kmb.crawlers.kci_oai import DC, KCI, OAI, OAI_DC
from kmb.crawlers.options import check_port, whole_number
from kmb.errors import KmbError

SAMPLE_RECORDS = Path(__file__).resolve().parents[1] / "samples" / "kci" / "records.xml"
ENDPOINTS = {"/oai": ("oai_kci", "oai_dc"), "/oai-dc-only": ("oai_dc",), "/oai-expiring": ("oai_kci", "oai_dc")}
_PDF_LOCK = threading.Lock()
ROBOTS = b"User-agent: *\nAllow: /\n"
RSS = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>not OAI-PMH</title></channel></rss>'


class OaiResponder:
    """Builds OAI-PMH responses; the HTTP handler only routes to it."""

    def __init__(self, records_xml: Path = SAMPLE_RECORDS, page_size: int = 8):
        root = etree.parse(str(records_xml)).getroot()
        self.records = list(root.iter(f"{{{OAI}}}record"))
        self.page_size = page_size
        self.requests: list[tuple[str, dict]] = []  # (path, params) in order, for tests
        self.robots_status = 200  # tests set 503 to check RFC 9309's "server error = disallow all"
        self.fulltext_urls: dict[str, str] = {}  # article id -> the full-text URL its record names
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    # --- protocol -------------------------------------------------------------------------------
    def fulltext_pdf(self, article_id: str) -> bytes | None:
        """A PDF for an open-access record (made on request with matplotlib), else None."""
        import tempfile

        from kmb.crawlers.pdf_text import write_text_pdf

        for record in self.records:
            article = record.find(f".//{{{KCI}}}articleInfo")
            if (
                article is None
                or article.get("article-id") != article_id
                or article.findtext(f"{{{KCI}}}orte-open-yn") != "Y"
            ):
                continue
            abstract = record.findtext(f".//{{{KCI}}}abstract[@lang='original']") or ""
            sentences = [s if s.endswith(".") else s + "." for s in abstract.split(". ") if s.strip()]
            pages = [
                sentences[:2],
                sentences[2:] + ["본 연구는 단일 기관 자료를 사용하였다.", "참고문헌", "1. 홍길동. 가상 연구. 2015."],
            ]
            # matplotlib is not thread-safe, and this server answers requests in threads: two PDFs
            # drawn at once interleave their fonts' glyph maps and the text layer comes out garbled.
            with _PDF_LOCK, tempfile.TemporaryDirectory() as tmp:
                path = write_text_pdf(Path(tmp) / "a.pdf", pages, header=record.findtext(f".//{{{KCI}}}journal-name"))
                return path.read_bytes()
        return None

    def respond(self, path: str, params: dict[str, str], base: str = "http://127.0.0.1") -> bytes:
        with self._lock:
            self.requests.append((path, dict(params)))
        formats = ENDPOINTS[path]
        verb = params.get("verb")
        if verb == "Identify":
            return self._envelope(params, self._identify())
        if verb == "ListMetadataFormats":
            return self._envelope(params, self._formats(formats))
        if verb != "ListRecords":
            return self._error(params, "badVerb", f"unsupported verb {verb!r}")
        if "resumptionToken" in params:
            if set(params) != {"verb", "resumptionToken"}:
                return self._error(params, "badArgument", "resumptionToken is exclusive")
            try:
                state = json.loads(base64.urlsafe_b64decode(params["resumptionToken"].encode()))
            except ValueError:
                return self._error(params, "badResumptionToken", "the token is not one of ours")
            if path == "/oai-expiring" and state["offset"] == self.page_size:
                with self._lock:
                    first_use = params["resumptionToken"] not in self._refused
                    self._refused.add(params["resumptionToken"])
                if first_use:
                    return self._error(params, "badResumptionToken", "the token has expired")
        else:
            if "metadataPrefix" not in params:
                return self._error(params, "badArgument", "metadataPrefix is required")
            for key in ("from", "until"):
                if key in params and not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", params[key]):
                    return self._error(params, "badArgument", f"{key}={params[key]!r} is not a UTCdatetime")
            state = {k: params.get(k) for k in ("metadataPrefix", "set", "from", "until")}
            state["offset"] = 0
        if state["metadataPrefix"] not in formats:
            return self._error(params, "cannotDisseminateFormat", f"{state['metadataPrefix']} is not available here")
        matching = [r for r in self.records if self._matches(r, state)]
        if not matching:
            return self._error(params, "noRecordsMatch", "no records match the arguments")
        offset = state["offset"]
        page = matching[offset : offset + self.page_size]
        body = etree.Element(f"{{{OAI}}}ListRecords")
        for record in page:
            body.append(self._in_format(self._local_urls(record, base), state["metadataPrefix"]))
        if offset + self.page_size < len(matching) or offset:
            token = etree.SubElement(
                body, f"{{{OAI}}}resumptionToken", completeListSize=str(len(matching)), cursor=str(offset)
            )
            if offset + self.page_size < len(matching):
                token.text = base64.urlsafe_b64encode(
                    json.dumps({**state, "offset": offset + self.page_size}).encode()
                ).decode()
        return self._envelope(params, body)

    def _matches(self, record, state) -> bool:
        header = record.find(f"{{{OAI}}}header")
        stamp = header.findtext(f"{{{OAI}}}datestamp")[:10]
        sets = [s.text for s in header.findall(f"{{{OAI}}}setSpec")]
        if state.get("set") and state["set"] not in sets:
            return False
        if state.get("from") and stamp < state["from"][:10]:
            return False
        if state.get("until") and stamp > state["until"][:10]:
            return False
        return True

    def _local_urls(self, record, base: str):
        # Open-access records point at this server's PDF, so --fulltext can be tested offline.
        article = record.find(f".//{{{KCI}}}articleInfo")
        if article is None or article.findtext(f"{{{KCI}}}orte-open-yn") != "Y":
            return record
        record = deepcopy(record)
        article = record.find(f".//{{{KCI}}}articleInfo")
        article_id = article.get("article-id")
        article.find(f"{{{KCI}}}url").text = self.fulltext_urls.get(article_id, f"{base}/fulltext/{article_id}.pdf")
        return record

    def _in_format(self, record, prefix: str):
        record = deepcopy(record)
        if prefix == "oai_kci":
            return record
        metadata = record.find(f"{{{OAI}}}metadata")
        if metadata is not None:
            kci = metadata[0]
            metadata.remove(kci)
            metadata.append(_kci_to_dc(kci))
        return record

    # --- envelopes ------------------------------------------------------------------------------
    def _envelope(self, params: dict, body) -> bytes:
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI})
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = datetime.now(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        request = etree.SubElement(
            root,
            f"{{{OAI}}}request",
            **{
                k: v
                for k, v in params.items()
                if k in ("verb", "metadataPrefix", "set", "from", "until", "resumptionToken")
            },
        )
        request.text = "http://127.0.0.1/oai"
        root.append(body)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _error(self, params: dict, code: str, message: str) -> bytes:
        error = etree.Element(f"{{{OAI}}}error", code=code)
        error.text = message
        return self._envelope(params, error)

    def _identify(self):
        el = etree.Element(f"{{{OAI}}}Identify")
        for name, value in [
            ("repositoryName", "kmb test repository"),
            ("baseURL", "http://127.0.0.1/oai"),
            ("protocolVersion", "2.0"),
            ("adminEmail", "kmb@example.org"),
            ("earliestDatestamp", "2013-01-01"),
            ("deletedRecord", "persistent"),
            ("granularity", "YYYY-MM-DD"),
        ]:
            etree.SubElement(el, f"{{{OAI}}}{name}").text = value
        return el

    def _formats(self, formats):
        el = etree.Element(f"{{{OAI}}}ListMetadataFormats")
        for prefix in formats:
            fmt = etree.SubElement(el, f"{{{OAI}}}metadataFormat")
            etree.SubElement(fmt, f"{{{OAI}}}metadataPrefix").text = prefix
            etree.SubElement(fmt, f"{{{OAI}}}metadataNamespace").text = KCI if prefix == "oai_kci" else OAI_DC
        return el


def _kci_to_dc(kci):
    """The same record in oai_dc, marking languages as KCI does (lang="original"/"english")."""

    def k(path):
        return "/".join(f"{{{KCI}}}{p}" for p in path.split("/"))

    dc = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC})

    def add(name, text, **attrs):
        if text:
            el = etree.SubElement(dc, f"{{{DC}}}{name}", **attrs)
            el.text = text

    journal, article = kci.find(k("journalInfo")), kci.find(k("articleInfo"))
    for title in article.iterfind(k("title-group/article-title")):
        add("title", title.text, lang=title.get("lang", ""))
    for abstract in article.iterfind(k("abstract-group/abstract")):
        add("description", abstract.text, lang=abstract.get("lang", ""))
    add("subject", article.findtext(k("article-categories")))
    add("source", journal.findtext(k("journal-name")))
    add("source", "ISSN: " + journal.findtext(k("pissn")) if journal.findtext(k("pissn")) else None)
    add("date", journal.findtext(k("pub-year")))
    add("language", article.findtext(k("language")))
    add("identifier", article.findtext(k("url")))
    add("identifier", "https://doi.org/" + article.findtext(k("doi")) if article.findtext(k("doi")) else None)
    add("rights", "open access" if article.findtext(k("orte-open-yn")) == "Y" else None)
    return dc


class _Handler(BaseHTTPRequestHandler):
    responder: OaiResponder

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        if url.path == "/robots.txt":
            return self._send(self.responder.robots_status, "text/plain", ROBOTS)
        if url.path == "/rss":
            return self._send(200, "application/xml", RSS)
        if url.path.startswith("/fulltext/") and url.path.endswith(".pdf"):
            pdf = self.responder.fulltext_pdf(url.path[len("/fulltext/") : -len(".pdf")])
            return self._send(200, "application/pdf", pdf) if pdf else self._send(404, "text/plain", b"not found")
        if url.path not in ENDPOINTS:
            return self._send(404, "text/plain", b"not found")
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        base = f"http://{self.headers.get('Host') or '127.0.0.1'}"
        self._send(200, "text/xml; charset=utf-8", self.responder.respond(url.path, params, base))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@contextmanager
def serve_oai(page_size: int = 8, records_xml: Path = SAMPLE_RECORDS, port: int = 0):
    """Serve in a background thread; yields ``(base_url, responder)``. Port 0: the OS picks."""
    responder = OaiResponder(records_xml, page_size)
    handler = type("Handler", (_Handler,), {"responder": responder})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", responder
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve kmb's sample OAI-PMH records on 127.0.0.1.")
    parser.add_argument("--port", default=0, help="port (0: the OS picks one)")
    parser.add_argument("--page-size", default=8, help="records per ListRecords page")
    args = parser.parse_args()
    try:
        port, page_size = check_port(args.port), whole_number(args.page_size, "--page-size", 1)
    except KmbError as exc:
        parser.error(str(exc))
    with serve_oai(page_size, port=port) as (url, _):
        print(f"OAI-PMH endpoint: {url}/oai  (also /oai-dc-only, /oai-expiring, /rss)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
