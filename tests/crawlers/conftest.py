"""Fixtures for the crawler tests: `scrapy crawl` from the repository root, and the rows stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def scrapy_crawl():
    """``scrapy crawl SPIDER -a ARG ...`` in a subprocess with cwd = the repository root (scrapy.cfg)."""

    def run(spider: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "scrapy", "crawl", spider]
        for arg in args:
            command += ["-a", arg]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180, env=env)

    return run


@pytest.fixture
def raw_rows():
    """Every row stored in <workspace>/raw/<source>/*.parquet."""

    def rows(workspace: Path, source: str) -> list[dict]:
        return [r for p in sorted((workspace / "raw" / source).glob("*.parquet")) for r in pq.read_table(p).to_pylist()]

    return rows
