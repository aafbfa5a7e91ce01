"""A disk that fills up (or turns read-only) during a crawl: the pipelines stop the crawl at the
first failed write, the command says so in one line and exits 1, nothing that was not written is
marked done, and a re-run after the fault stores what a crawl that never failed stores (issue 29).

The fault is injected as in tests/foundation/test_faults.py, a patched ``os.fsync`` (every kmb
write is committed by an fsync before its rename), in the crawl's own process (Scrapy's reactor
runs once per process)."""

from __future__ import annotations

import errno
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from kmb.demo.oai_server import serve_oai
from kmb.demo.replay_server import ReplayServer, site_root

MANIFEST = json.loads((site_root() / "manifest.json").read_text(encoding="utf-8"))
FAULTY_KMB = """
import errno, os, sys
FAULT = int(sys.argv[1])
def fsync(fd):
    raise OSError(FAULT, os.strerror(FAULT))
os.fsync = fsync
sys.argv = ["kmb", *sys.argv[2:]]
from kmb.cli import main
main()
"""


def kmb(*args: str, fault: int | None = None) -> subprocess.CompletedProcess:
    head = [sys.executable, "-c", FAULTY_KMB, str(fault)] if fault else [sys.executable, "-m", "kmb"]
    return subprocess.run([*head, *args], capture_output=True, text=True, timeout=120)


def stored_ids(ws: Path, source: str) -> list[str]:
    parts = sorted((ws / "raw" / source).glob("*.parquet"))
    return sorted(i for p in parts for i in pq.read_table(p, columns=["doc_id"]).column(0).to_pylist())


def digests(ws: Path, folder: str) -> dict[str, str]:
    return {
        str(p.relative_to(ws)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ws / folder).rglob("*"))
    }


def earlier_output(ws: Path) -> dict[str, str]:
    """A workspace that already holds something: a local file added before the crawl."""
    notes = ws.parent / "earlier.txt"
    notes.write_text("고혈압 환자는 혈압을 매일 재고 기록해야 한다.\n", encoding="utf-8")
    assert kmb("corpus", "add", str(notes), "--source", "other", "-w", str(ws)).returncode == 0
    return digests(ws, "raw/other")


def one_line(result: subprocess.CompletedProcess, says: str) -> None:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("kmb: error: ") and says in lines[-1], lines
    assert result.stderr.count("kmb: error") == 1


def test_a_full_disk_stops_a_naver_crawl_with_one_line_and_resume_stores_every_article(tmp_path):
    with ReplayServer() as server:
        crawl = ["crawl", "naver-health", "--start", MANIFEST["start"], "--end", MANIFEST["end"]]
        crawl += ["--base-url", server.url, "--delay", "0", "--flush-every", "5"]
        clean = tmp_path / "clean"
        assert kmb(*crawl, "-w", str(clean)).returncode == 0
        ws = tmp_path / "ws"
        before = earlier_output(ws)
        one_line(kmb(*crawl, "-w", str(ws), fault=errno.ENOSPC), "no space left")
        assert stored_ids(ws, "naver_health") == []  # the first write failed: nothing after it was kept
        assert digests(ws, "raw/other") == before
        assert not (ws / "crawl" / "naver_health" / "clean_exit").exists()  # treated as a kill by --resume
        again = kmb(*crawl, "--resume", "-w", str(ws))
        assert again.returncode == 0, again.stderr[-2000:]
    assert stored_ids(ws, "naver_health") == stored_ids(clean, "naver_health") != []


def test_a_read_only_disk_stops_a_kci_harvest_with_one_line_and_a_rerun_equals_a_clean_one(tmp_path):
    with serve_oai(page_size=8) as (url, _):
        harvest = ["crawl", "kci", "--endpoint", f"{url}/oai", "--delay", "0"]
        clean = tmp_path / "clean"
        assert kmb(*harvest, "-w", str(clean)).returncode == 0
        ws = tmp_path / "ws"
        before = earlier_output(ws)
        one_line(kmb(*harvest, "-w", str(ws), fault=errno.EROFS), "read-only")
        assert stored_ids(ws, "kci") == [] and digests(ws, "raw/other") == before
        assert not list((ws / "raw" / "kci").glob(".*"))  # no temporary left behind
        again = kmb(*harvest, "-w", str(ws))
        assert again.returncode == 0, again.stderr[-2000:]
    assert stored_ids(ws, "kci") == stored_ids(clean, "kci") != []
