"""A build killed with SIGKILL leaves the previous corpus intact and readable; the next one recovers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import duckdb

from kmb.corpus.build import BuildConfig, build_corpus
from kmb.corpus.sample_news import ADVICE, HOSPITALS, TOPICS
from kmb.storage import DOCUMENTS, write_rows

BUILD = (
    "import sys; from kmb.corpus.build import build_corpus, BuildConfig; "
    "from kmb.workspace import Workspace; build_corpus(Workspace.open(sys.argv[1]), BuildConfig(workers=1))"
)


def plain_docs(prefix: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "doc_id": f"{prefix}:{i}",
            "source": "news",
            "language": "ko",
            "text": " ".join(
                f"{rng.choice(HOSPITALS)}의 {rng.choice(TOPICS)} 환자 {rng.randint(1, 10**6)}명은 "
                f"{rng.choice(ADVICE)}에 {rng.randint(1, 999)}번 참여했다."
                for _ in range(6)
            ),
        }
        for i in range(n)
    ]


def snapshot(corpus):
    files = sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file())
    return files, (corpus / "report.json").read_bytes()


def test_sigkill_mid_build_keeps_the_previous_corpus(workspace):
    write_rows(workspace.raw("news") / "part-1.parquet", plain_docs("old", 20, 1), DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1))
    before = snapshot(workspace.corpus)
    rows_before = duckdb.sql(f"select count(*) from read_parquet('{workspace.corpus}/sentences/*.parquet')").fetchall()

    write_rows(workspace.raw("news") / "part-2.parquet", plain_docs("new", 3000, 2), DOCUMENTS)
    proc = subprocess.Popen(
        [sys.executable, "-c", BUILD, str(workspace.root)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        # Wait until the build is writing its staged sentences, then kill it without warning.
        while time.monotonic() < deadline and proc.poll() is None:
            if list(workspace.root.glob(".corpus-build-*/stage/.sentences.parquet.*.tmp")):
                break
            time.sleep(0.05)
        time.sleep(0.2)
        assert proc.poll() is None, "the build finished before it could be killed: " + proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(workspace.root.glob(".corpus-build-*"))  # it was killed mid-way

    # The previous corpus is exactly as it was and readable.
    assert snapshot(workspace.corpus) == before
    assert (
        duckdb.sql(f"select count(*) from read_parquet('{workspace.corpus}/sentences/*.parquet')").fetchall()
        == rows_before
    )

    # The next build cleans up and finishes the job.
    build_corpus(workspace, BuildConfig(workers=1))
    assert not list(workspace.root.glob(".corpus-build-*"))
    n_docs = duckdb.sql(f"select count(*) from read_parquet('{workspace.corpus}/documents/*.parquet')").fetchall()
    assert n_docs == [(3020,)]


def test_a_kill_between_the_two_renames_is_recovered(workspace):
    write_rows(workspace.raw("news") / "part-1.parquet", plain_docs("old", 10, 1), DOCUMENTS)
    build_corpus(workspace, BuildConfig(workers=1))
    before = snapshot(workspace.corpus)
    # The state a kill right after "corpus -> .corpus-old-<id>" leaves behind.
    os.replace(workspace.corpus, workspace.root / ".corpus-old-deadbeef")
    build_corpus(workspace, BuildConfig(workers=1))  # nothing new: restores, changes nothing
    assert snapshot(workspace.corpus) == before
    assert not list(workspace.root.glob(".corpus-old-*"))
