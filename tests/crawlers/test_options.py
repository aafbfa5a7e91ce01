"""Every option of every `kmb crawl` command is checked before anything runs: one line, exit 1,
no request to the site, nothing written (kmb.crawlers.options)."""

from __future__ import annotations

import sys

import pytest

from kmb.crawlers.options import (
    KciCrawlOptions,
    NaverCrawlOptions,
    check_port,
    checked_kci_options,
    checked_naver_options,
    kci_options_from_args,
    naver_options_from_args,
    parse_years,
)
from kmb.demo.oai_server import serve_oai
from kmb.demo.replay_server import ReplayServer
from kmb.errors import KmbError


def run_kmb(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`kmb ARGS` in this process: (exit code, stderr)."""
    from kmb.cli import main

    monkeypatch.setattr(sys, "argv", ["kmb", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


NAVER_BAD = [
    (["--start", "2020-13-01"], "not a date (YYYY-MM-DD): '2020-13-01'"),
    (["--end", "yesterday"], "not a date (YYYY-MM-DD): 'yesterday'"),
    (["--start", "2020-12-31", "--end", "2020-12-01"], "--end 2020-12-01 is before --start 2020-12-31"),
    (["--delay", "-1"], "--delay must be >= 0 (seconds), not -1.0"),
    (["--delay", "inf"], "--delay must be >= 0 (seconds), not inf"),
    (["--max-articles", "-5"], "--max-articles must be at least 0, not -5"),
    (["--flush-every", "0"], "--flush-every must be at least 1, not 0"),
    (["--list-pages", "newest"], "--list-pages must be auto, old or new, not 'newest'"),
]


@pytest.mark.parametrize("args, message", NAVER_BAD)
def test_naver_health_options_are_checked_before_any_request(tmp_path, monkeypatch, capsys, args, message):
    ws = tmp_path / "ws"
    with ReplayServer() as server:
        code, err = run_kmb(
            monkeypatch, capsys, "crawl", "naver-health", "--base-url", server.url, "--workspace", str(ws), *args
        )
        hits = list(server.hits)
    assert code == 1
    assert err == f"kmb: error: {message}\n"
    assert hits == [] and not ws.exists()


KCI_BAD = [
    (["--years", "2020-2010"], "--years 2020-2010: the first year is after the last (write 2010-2020)"),
    (["--years", "2010-"], "--years must look like 2010-2020 or 'all', not '2010-'"),
    (["--years", "10-20"], "--years must look like 2010-2020 or 'all', not '10-20'"),
    (["--years", "2010-2015-2020"], "--years must look like 2010-2020 or 'all', not '2010-2015-2020'"),
    (["--from", "last-week"], "--from must be a date YYYY-MM-DD (or YYYY-MM-DDThh:mm:ssZ), not 'last-week'"),
    (["--until", "2020-02-30"], "--until must be a date YYYY-MM-DD (or YYYY-MM-DDThh:mm:ssZ), not '2020-02-30'"),
    (["--from", "2021-01-01", "--until", "2020-06-30"], "--until 2020-06-30 is before --from 2021-01-01"),
    (["--max-records", "0"], "--max-records must be at least 1, not 0"),
    (["--delay", "-0.5"], "--delay must be >= 0 (seconds), not -0.5"),
    (["--checkpoint-every", "0"], "--checkpoint-every must be at least 1, not 0"),
]


@pytest.mark.parametrize("args, message", KCI_BAD)
def test_kci_options_are_checked_before_any_request(tmp_path, monkeypatch, capsys, args, message):
    ws = tmp_path / "ws"
    with serve_oai() as (url, responder):
        code, err = run_kmb(
            monkeypatch, capsys, "crawl", "kci", "--endpoint", f"{url}/oai", "--workspace", str(ws), *args
        )
    assert code == 1
    assert err == f"kmb: error: {message}\n"
    assert responder.requests == [] and not ws.exists()


def test_kci_journals_file_is_checked_before_any_request(tmp_path, monkeypatch, capsys):
    missing, empty = tmp_path / "missing.txt", tmp_path / "empty.txt"
    empty.write_text("# only a comment\n", encoding="utf-8")
    with serve_oai() as (url, responder):
        for path, why in ((missing, "no such file"), (empty, "no ISSN or journal name in the file")):
            code, err = run_kmb(monkeypatch, capsys, "crawl", "kci", "--endpoint", f"{url}/oai", "--journals", str(path),
                                "--workspace", str(tmp_path / "ws"))  # fmt: skip
            assert code == 1 and err.count("\n") == 1 and str(path) in err and why in err
    assert responder.requests == [] and not (tmp_path / "ws").exists()


@pytest.mark.parametrize(
    "port, message", [("70000", "--port must be at most 65535, not 70000"), ("-1", "--port must be at least 0, not -1")]
)
def test_replay_server_port_is_checked(monkeypatch, capsys, port, message):
    code, err = run_kmb(monkeypatch, capsys, "crawl", "replay-server", "--port", port)
    assert code == 1 and err == f"kmb: error: {message}\n"


def test_parse_years():
    assert parse_years("2010-2020") == (2010, 2020)
    assert parse_years(" 2015 ") == (2015, 2015)
    assert parse_years("ALL") is None
    for bad in ("", "2010-20", "twenty", "2010--2020"):
        with pytest.raises(KmbError):
            parse_years(bad)


def test_check_port():
    assert check_port(0) == 0 and check_port("8080") == 8080 and check_port(65535) == 65535
    for bad in (65536, -1, "http", "80.5"):
        with pytest.raises(KmbError):
            check_port(bad)


def test_spider_arguments_use_the_kmb_defaults_and_names():
    naver = naver_options_from_args({})
    assert naver == checked_naver_options(NaverCrawlOptions())  # the kmb command's defaults
    assert (naver.start, naver.end, naver.delay, naver.max_articles, naver.flush_every) == (
        "2010-01-01",
        "2020-12-31",
        1.0,
        0,
        100,
    )
    typed = naver_options_from_args(
        {"start": "20201228", "max_articles": "5", "keep_html": "true", "resume": "0", "delay": "0"}
    )
    assert (typed.start, typed.max_articles, typed.keep_html, typed.resume, typed.delay) == (
        "2020-12-28",
        5,
        True,
        False,
        0.0,
    )

    kci = kci_options_from_args({})
    assert kci == checked_kci_options(KciCrawlOptions())
    assert (kci.years, kci.metadata_prefix, kci.set_spec, kci.flush_rows, kci.max_records) == (
        (2010, 2020),
        "oai_kci",
        "ARTI",
        500,
        None,
    )
    named = kci_options_from_args(
        {"from": "2020-01-01", "format": "oai_dc", "set": "", "max_records": "7", "fulltext": "yes"}
    )
    assert (named.from_date, named.metadata_prefix, named.set_spec, named.max_records, named.fulltext) == (
        "2020-01-01",
        "oai_dc",
        None,
        7,
        True,
    )


def test_unknown_or_malformed_spider_arguments_are_one_line_errors():
    with pytest.raises(KmbError, match="unknown spider argument 'stat'"):
        naver_options_from_args({"stat": "2020-01-01"})
    with pytest.raises(
        KmbError, match="unknown spider argument 'from_year'; known: checkpoint_every, delay, endpoint, format, from, "
    ):
        kci_options_from_args({"from_year": "2020"})
    with pytest.raises(KmbError, match="--resume must be true or false, not 'maybe'"):
        kci_options_from_args({"resume": "maybe"})
    with pytest.raises(KmbError, match="--max-articles must be a whole number, not 'many'"):
        naver_options_from_args({"max_articles": "many"})
