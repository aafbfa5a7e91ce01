"""`kmb crawl`: collect documents (NAVER health news, KCI journal articles); parse saved pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmb.cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, echo_summary, group
from kmb.crawlers.options import KciCrawlOptions, NaverCrawlOptions

app = group("Collect documents: NAVER health news, KCI journal articles; parse saved pages.")
parse_app = group("Parse saved pages offline, printing one JSON object per page.")
app.add_typer(parse_app, name="parse")
NAVER = NaverCrawlOptions  # the defaults, written once in the options dataclasses
KCI = KciCrawlOptions


@app.command("naver-health")
def naver_health(
    start: Annotated[
        str, typer.Option(help="First day to crawl (YYYY-MM-DD, Korea time); the paper's range starts here.")
    ] = NAVER.start,
    end: Annotated[str, typer.Option(help="Last day to crawl (YYYY-MM-DD), inclusive.")] = NAVER.end,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    base_url: Annotated[
        str, typer.Option(help="Site to crawl: NAVER News, or a mirror such as `kmb crawl replay-server`.")
    ] = NAVER.base_url,
    list_pages: Annotated[
        str,
        typer.Option(
            help="List-page generation: old (list.naver, until 2024), new (breakingnews + JSON), auto (old, then new when a day lists nothing)."
        ),
    ] = NAVER.list_pages,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on from an interrupted crawl: skip finished days, keep Scrapy's JOBDIR in the workspace.",
        ),
    ] = NAVER.resume,
    keep_html: Annotated[
        bool,
        typer.Option(
            "--keep-html", help="Store each article's raw HTML too (column html), to re-parse without re-crawling."
        ),
    ] = NAVER.keep_html,
    max_articles: Annotated[
        int, typer.Option(help="Stop after requesting this many articles (0: no limit).")
    ] = NAVER.max_articles,
    ignore_robots: Annotated[
        bool,
        typer.Option(
            "--ignore-robots", help="Do not obey robots.txt. Only with the site's written permission; prints a warning."
        ),
    ] = NAVER.ignore_robots,
    delay: Annotated[
        float,
        typer.Option(
            help="Seconds between requests to one site (AutoThrottle may wait longer). Below 1 only for local mirrors and tests."
        ),
    ] = NAVER.delay,
    flush_every: Annotated[
        int,
        typer.Option(
            help="Write a Parquet part every N items; a kill loses at most these, --resume fetches them again."
        ),
    ] = NAVER.flush_every,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Scrapy's INFO log.")] = False,
) -> None:
    """Crawl NAVER News > 생활/문화 > 건강정보 into <workspace>/raw/naver_health (Parquet)."""
    from kmb.crawlers.naver_crawl import crawl_naver_health

    options = NaverCrawlOptions(
        start=start,
        end=end,
        workspace=workspace,
        base_url=base_url,
        list_pages=list_pages,
        resume=resume,
        keep_html=keep_html,
        max_articles=max_articles,
        ignore_robots=ignore_robots,
        delay=delay,
        flush_every=flush_every,
        log_level="INFO" if verbose else "WARNING",
    )
    echo_summary("naver-health crawl", crawl_naver_health(options).rows())


@app.command("kci")
def kci(
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="OAI-PMH base URL (KCI's, a mirror's, or a local test server's).")
    ] = KCI.endpoint,
    journals: Annotated[
        Path | None,
        typer.Option(
            "--journals",
            help="File of ISSNs or journal names, one per line; default: articles whose KCI subject is medical.",
        ),
    ] = KCI.journals,
    years: Annotated[
        str,
        typer.Option(
            "--years", help="Publication years to keep, FROM-TO (the paper: 2010-2020); 'all' keeps every year."
        ),
    ] = KCI.years,
    from_date: Annotated[
        str | None, typer.Option("--from", help="OAI 'from': repository update date YYYY-MM-DD (not publication date).")
    ] = KCI.from_date,
    until: Annotated[
        str | None, typer.Option("--until", help="OAI 'until': repository update date YYYY-MM-DD.")
    ] = KCI.until,
    metadata_prefix: Annotated[
        str,
        typer.Option(
            "--format", help="Metadata format to ask for: oai_kci (KCI's, with Korean and English abstracts) or oai_dc."
        ),
    ] = KCI.metadata_prefix,
    set_spec: Annotated[str, typer.Option("--set", help="OAI set: ARTI (KCI articles); '' for none.")] = KCI.set_spec,
    max_records: Annotated[
        int | None, typer.Option("--max-records", help="Stop after keeping this many articles.")
    ] = KCI.max_records,
    delay: Annotated[float, typer.Option("--delay", help="Seconds between requests (be polite to KCI).")] = KCI.delay,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue the last harvest in this workspace from its saved resumption token."),
    ] = KCI.resume,
    fulltext: Annotated[
        bool,
        typer.Option(
            "--fulltext",
            help="For open-access records, fetch the record's URL and, when it is a PDF, add its text (references, headers, page numbers removed).",
        ),
    ] = KCI.fulltext,
    fulltext_host: Annotated[
        list[str] | None,
        typer.Option(
            "--fulltext-host",
            metavar="HOST",
            help="A host (and its subdomains) full texts may come from besides the endpoint's own domain; repeatable. Other URLs, and any not http(s), are refused and counted.",
        ),
    ] = None,
    checkpoint_every: Annotated[
        int,
        typer.Option("--checkpoint-every", help="Documents per Parquet part; a resume point is saved after each part."),
    ] = KCI.checkpoint_every,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Harvest Korean journal-article abstracts from KCI over OAI-PMH into raw/kci/."""
    from kmb.crawlers.kci_harvest import crawl_kci

    options = KciCrawlOptions(
        endpoint=endpoint,
        journals=journals,
        years=years,
        from_date=from_date,
        until=until,
        metadata_prefix=metadata_prefix,
        set_spec=set_spec,
        max_records=max_records,
        delay=delay,
        resume=resume,
        fulltext=fulltext,
        fulltext_hosts=tuple(fulltext_host or ()),
        checkpoint_every=checkpoint_every,
        workspace=workspace,
    )
    echo_summary(f"crawl kci ({endpoint})", crawl_kci(options).rows())


@app.command("replay-server")
def replay_server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: chosen by the OS).")] = 0,
    disallow_all: Annotated[
        bool, typer.Option("--disallow-all", help="Serve robots.txt 'Disallow: /' like NAVER does.")
    ] = False,
) -> None:
    """Serve the bundled NAVER replay site on 127.0.0.1 until Ctrl-C (prints its URL for --base-url)."""
    from kmb.demo.replay_server import serve_replay_site

    serve_replay_site(port, disallow_all)


@parse_app.command("naver")
def parse_naver(
    files: Annotated[list[Path], typer.Argument(help="Saved NAVER article pages (either layout, UTF-8 or EUC-KR).")],
    url: Annotated[str | None, typer.Option(help="The page's URL (default: its og:url); only with one FILE.")] = None,
    keep_html: Annotated[bool, typer.Option("--keep-html", help="Include the page's HTML in the JSON.")] = False,
) -> None:
    """Parse saved article pages offline; print one JSON object per page (the Parquet row's fields)."""
    from kmb.crawlers.naver_pages import saved_pages_json

    for line in saved_pages_json(files, url=url, keep_html=keep_html):
        typer.echo(line)
