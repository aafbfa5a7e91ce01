"""The crawl commands' options: their defaults (the kmb commands' and the spiders' ``-a`` arguments
share them) and the checks that run before anything is fetched or written.

Each check raises :class:`KmbError` with one line naming the option. Values may come typed (from
the CLI) or as strings (``scrapy crawl naver_health -a max_articles=5``); both pass the same checks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kmb.crawlers.kci_oai import JournalSelection, read_journal_file
from kmb.crawlers.naver_lists import NAVER_NEWS
from kmb.errors import KmbError

if TYPE_CHECKING:
    from kmb.workspace import Workspace

KCI_ENDPOINT = "https://open.kci.go.kr/oai/request"
LIST_PAGES = ("auto", "old", "new")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


# --- values ----------------------------------------------------------------------------------------
def parse_day(value: str | date) -> date:
    """'2020-12-31' or '20201231' -> date."""
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("-", "").replace(".", "")
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise KmbError(f"not a date (YYYY-MM-DD): {value!r}") from None


def whole_number(value, option: str, minimum: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise KmbError(f"{option} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise KmbError(f"{option} must be at least {minimum}, not {number}")
    return number


def seconds(value, option: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise KmbError(f"{option} must be a number of seconds, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise KmbError(f"{option} must be >= 0 (seconds), not {value!r}")
    return number


def flag(value, option: str) -> bool:
    if not isinstance(value, str):
        return bool(value)
    text = value.strip().lower()
    if text not in _TRUE + _FALSE:
        raise KmbError(f"{option} must be true or false, not {value!r}")
    return text in _TRUE


def check_port(value) -> int:
    """A TCP port to listen on: 0 (the OS picks one) to 65535."""
    port = whole_number(value, "--port", 0)
    if port > 65535:
        raise KmbError(f"--port must be at most 65535, not {port}")
    return port


# --- NAVER ---------------------------------------------------------------------------------------
@dataclass
class NaverCrawlOptions:
    """``kmb crawl naver-health``'s options; the spider's ``-a`` arguments have the same names."""

    start: str = "2010-01-01"  # the paper's range
    end: str = "2020-12-31"
    workspace: str | Path | Workspace | None = None  # kmb crawl passes the workspace it opened and locked
    base_url: str = NAVER_NEWS
    list_pages: str = "auto"  # auto, old, new
    resume: bool = False
    keep_html: bool = False
    max_articles: int = 0  # 0: no limit
    ignore_robots: bool = False
    delay: float = 1.0  # seconds between requests to one site; below 1 only for mirrors and tests
    flush_every: int = 100
    progress_interval: float = 10.0
    log_level: str = "WARNING"


def checked_naver_options(options: NaverCrawlOptions) -> NaverCrawlOptions:
    """The options with typed values (ISO days, ints, floats, bools), or a KmbError naming the bad one."""
    start, end = parse_day(options.start), parse_day(options.end)
    if end < start:
        raise KmbError(f"--end {end} is before --start {start}")
    if options.list_pages not in LIST_PAGES:
        raise KmbError(f"--list-pages must be auto, old or new, not {options.list_pages!r}")
    return replace(
        options,
        start=start.isoformat(),
        end=end.isoformat(),
        base_url=str(options.base_url).rstrip("/") or NAVER_NEWS,
        resume=flag(options.resume, "--resume"),
        keep_html=flag(options.keep_html, "--keep-html"),
        max_articles=whole_number(options.max_articles or 0, "--max-articles", 0),
        ignore_robots=flag(options.ignore_robots, "--ignore-robots"),
        delay=seconds(options.delay, "--delay"),
        flush_every=whole_number(options.flush_every, "--flush-every", 1),
        progress_interval=seconds(options.progress_interval, "progress interval"),
    )


def naver_options_from_args(args: dict) -> NaverCrawlOptions:
    """``scrapy crawl naver_health -a name=value ...``: the same names and checks as the kmb command."""
    return checked_naver_options(NaverCrawlOptions(**_known(NaverCrawlOptions, args)))


# --- KCI -------------------------------------------------------------------------------------------
@dataclass
class KciCrawlOptions:
    """``kmb crawl kci``'s options as given (defaults are the command's)."""

    endpoint: str = KCI_ENDPOINT
    journals: str | Path | None = None  # file of ISSNs or journal names
    years: str = "2010-2020"  # the paper's publication years; "all" keeps every year
    from_date: str | None = None  # YYYY-MM-DD, repository update date
    until: str | None = None
    metadata_prefix: str = "oai_kci"
    set_spec: str | None = "ARTI"
    max_records: int | None = None
    delay: float = 1.0
    resume: bool = False
    fulltext: bool = False
    fulltext_hosts: tuple[str, ...] = ()  # hosts full texts may come from besides the endpoint's domain
    checkpoint_every: int = 500
    workspace: str | Path | None = None


@dataclass
class HarvestOptions:
    """Checked KCI options, as the spider uses them."""

    endpoint: str = KCI_ENDPOINT
    metadata_prefix: str = "oai_kci"
    set_spec: str | None = "ARTI"
    from_date: str | None = None
    until: str | None = None
    years: tuple[int, int] | None = (2010, 2020)
    selection: JournalSelection = field(default_factory=JournalSelection)
    max_records: int | None = None
    delay: float = 1.0  # seconds between requests
    resume: bool = False
    flush_rows: int = 500  # documents per Parquet part (a resume point after each part)
    fulltext: bool = False  # fetch the record's URL when it is open access; keep its PDF text
    fulltext_hosts: tuple[str, ...] = ()  # checked host names (lower case), see fulltext_url_allowed
    workspace: str | Path | Workspace | None = None  # kmb crawl passes the workspace it opened and locked


# `scrapy crawl kci -a from=... -a format=... -a set=...`: the kmb option names.
KCI_ARG_NAMES = {"from": "from_date", "format": "metadata_prefix", "set": "set_spec"}


def checked_kci_options(options: KciCrawlOptions) -> HarvestOptions:
    """Check every option (years, dates, numbers, the journals file) before anything runs."""
    from_date = _oai_date(options.from_date, "--from")
    until = _oai_date(options.until, "--until")
    if from_date and until and until[:10] < from_date[:10]:
        raise KmbError(f"--until {until} is before --from {from_date}")
    max_records = None if options.max_records in (None, "") else whole_number(options.max_records, "--max-records", 1)
    return HarvestOptions(
        endpoint=options.endpoint,
        metadata_prefix=options.metadata_prefix,
        set_spec=options.set_spec or None,
        from_date=from_date,
        until=until,
        years=parse_years(options.years),
        selection=read_journal_file(options.journals) if options.journals else JournalSelection(),
        max_records=max_records,
        delay=seconds(options.delay, "--delay"),
        resume=flag(options.resume, "--resume"),
        flush_rows=whole_number(options.checkpoint_every, "--checkpoint-every", 1),
        fulltext=flag(options.fulltext, "--fulltext"),
        fulltext_hosts=tuple(_host_name(h) for h in _as_list(options.fulltext_hosts)),
        workspace=options.workspace,
    )


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _as_list(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):  # `scrapy crawl kci -a fulltext_hosts=a.org,b.org`
        return [v for v in value.split(",") if v.strip()]
    return list(value)


def _host_name(text: str) -> str:
    host = str(text).strip().lower().rstrip(".")
    if not _HOST.fullmatch(host):
        raise KmbError(f"--fulltext-host must be a host name such as journal.example.org, not {text!r}")
    return host


def fulltext_url_allowed(url: str, endpoint: str, extra_hosts: tuple[str, ...] = ()) -> bool:
    """May the harvest fetch this full-text URL? Only http(s), and only on the endpoint's own domain
    (its host, the domain above it, and their subdomains) or a listed host and its subdomains. A
    record's URL is data from the endpoint: file://, ftp:// or an address elsewhere (a local file, an
    internal service) is never fetched because a record names it."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    own = (urlsplit(endpoint).hostname or "").lower().rstrip(".")
    allowed = {own, *extra_hosts}
    if own.count(".") >= 2 and not own.replace(".", "").isdigit():
        allowed.add(own.split(".", 1)[1])  # www.kci.go.kr -> kci.go.kr and its subdomains
    return any(host == h or host.endswith("." + h) for h in allowed if h)


def kci_options_from_args(args: dict) -> HarvestOptions:
    """``scrapy crawl kci -a name=value ...``: the kmb option names (``from``, ``format``, ``set``...)."""
    renamed = {KCI_ARG_NAMES.get(name, name): value for name, value in args.items()}
    return checked_kci_options(KciCrawlOptions(**_known(KciCrawlOptions, renamed, KCI_ARG_NAMES)))


_YEARS = re.compile(r"(\d{4})(?:-(\d{4}))?")


def parse_years(text: str) -> tuple[int, int] | None:
    """--years: "2010-2020", "2015", or "all" (None: keep every year)."""
    text = str(text).strip()
    if text.lower() == "all":
        return None
    match = _YEARS.fullmatch(text)
    if not match:
        raise KmbError(f"--years must look like 2010-2020 or 'all', not {text!r}")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if last < first:
        raise KmbError(f"--years {text}: the first year is after the last (write {last}-{first})")
    return first, last


_OAI_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?")


def _oai_date(value: str | None, option: str) -> str | None:
    """OAI-PMH's UTCdatetime: YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, a real date."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if not _OAI_DATE.fullmatch(text):
            raise ValueError
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ" if "T" in text else "%Y-%m-%d")
    except ValueError:
        raise KmbError(f"{option} must be a date YYYY-MM-DD (or YYYY-MM-DDThh:mm:ssZ), not {value!r}") from None
    return text


def _known(options_class, args: dict, aliases: dict | None = None) -> dict:
    """``args`` when every name is an option's; ``aliases`` (argument name -> field) name the rest."""
    names = {f.name for f in fields(options_class)}
    unknown = sorted(set(args) - names)
    if unknown:
        shown = {field: name for name, field in (aliases or {}).items()}
        known = ", ".join(sorted(shown.get(name, name) for name in names))
        raise KmbError(f"unknown spider argument {unknown[0]!r}; known: {known}")
    return args
